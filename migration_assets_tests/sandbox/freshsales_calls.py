"""The Freshsales emulator client the record, bulk and rejection tests start from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import sandbox_client


@asynccontextmanager
async def planned_sandbox(path: Path, plan: list[dict]) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in client on a fresh sandbox at `path` with the custom fields and pipelines of
    `plan`; the client's `path` attribute names the state file."""
    seed.reset(path)
    seed.apply_field_plan(path, plan)
    async with sandbox_client(path) as client:
        client.path = path  # type: ignore[attr-defined]
        yield client
