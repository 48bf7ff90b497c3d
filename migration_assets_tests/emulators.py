"""Emulator fixtures' building blocks: a seeded state file made once per module, a fresh copy per
test, and an HTTP client speaking to the emulator's ASGI app in process."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest


def seeded_template(
    factory: pytest.TempPathFactory,
    generate: Callable[..., Any],
    file_name: str,
    *,
    scale: int,
    seed: int,
) -> Path:
    """A state file generated once, to copy for each test."""
    path = factory.mktemp(Path(file_name).stem) / file_name
    generate(path, scale=scale, seed=seed)
    return path


def working_copy(
    template: Path, tmp_path: Path, open_state: Callable[[Path], Any] | None = None, options: Mapping[str, Any] = {}
) -> Path:
    """The test's own copy of `template`, with sandbox `options` set."""
    path = Path(shutil.copy(template, tmp_path / template.name))
    if options and open_state is not None:
        open_state(path).set_options(dict(options))
    return path


@asynccontextmanager
async def asgi_client(
    app: Any, base_url: str, headers: Mapping[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client wired to `app` in process (no socket)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, headers=headers) as client:
        yield client
