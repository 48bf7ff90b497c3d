"""Fixtures the connector tests of this folder share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The state file of the test's own Dataverse emulator."""
    return tmp_path / "dv.sqlite"
