"""Clients on a fresh emulator, one per test, for the emulator tests of this folder.

A test module that needs more set up (a custom field, an alternate key) overrides the fixture with
one of the same name that asks for this one and adds to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.dataverse import testing as dataverse
from migration_assets.sandbox.salesforce import testing as salesforce


@pytest.fixture
async def sf(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in client on a fresh Salesforce emulator (`tmp_path / "sf.sqlite"`)."""
    async with salesforce.sandbox_client(tmp_path / "sf.sqlite") as client:
        yield client


@pytest.fixture
async def dv(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in client on a fresh Dataverse emulator (`tmp_path / "dv.sqlite"`)."""
    async with dataverse.sandbox_client(tmp_path / "dv.sqlite") as client:
        yield client
