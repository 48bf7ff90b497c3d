"""Emulator fixtures' building blocks: a seeded state file made once per module, a fresh copy per
test, and an HTTP client speaking to the emulator's ASGI app in process.

A test module declares its emulator's data in one line and gets the fixtures of that data:

    template, state_path = state_fixtures(generate, "interactive.sqlite", scale=60, seed=7)
    dataset = dataset_fixture(build, scale=60, seed=7)
    api = api_fixture(create_app, HOST, AUTH)
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


def state_fixtures(
    generate: Callable[..., Any],
    file_name: str,
    *,
    scale: int,
    seed: int,
    open_state: Callable[[Path], Any] | None = None,
    options: Mapping[str, Any] = {},
) -> tuple[Any, Any]:
    """A module's `template` fixture (generated once from `scale` and `seed`) and its `state_path`
    fixture (each test's own copy, with sandbox `options` set through `open_state`)."""

    @pytest.fixture(scope="module", name="template")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return seeded_template(tmp_path_factory, generate, file_name, scale=scale, seed=seed)

    @pytest.fixture(name="state_path")
    def state_path(template: Path, tmp_path: Path) -> Path:
        return working_copy(template, tmp_path, open_state, options)

    return template, state_path


def dataset_fixture(build: Callable[..., Any], *, scale: int, seed: int) -> Any:
    """A module's `dataset` fixture: what `build(scale=..., seed=...)` returns, built once."""

    @pytest.fixture(scope="module", name="dataset")
    def dataset() -> Any:
        return build(scale=scale, seed=seed)

    return dataset


def api_fixture(create_app: Callable[[Path], Any], base_url: str, headers: Mapping[str, str] | None = None) -> Any:
    """An `api` fixture: a client on a new app over the test's `state_path`, sending `headers`."""

    @pytest.fixture(name="api")
    async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
        async with asgi_client(create_app(state_path), base_url, headers) as client:
            yield client

    return api


@dataclass(frozen=True)
class Generated:
    """What one `generate(path, scale=..., seed=...)` reported (counts) and wrote (rows)."""

    counts: Any
    rows: list[tuple]


def generate_with_seeds(
    generate: Callable[..., Any],
    read_rows: Callable[[Path], list[tuple]],
    tmp_path: Path,
    *,
    scale: int,
    seeds: tuple[int, ...],
) -> list[Generated]:
    """One state file generated at `scale` for each of `seeds`, read back with `read_rows`."""
    generated = []
    for index, seed in enumerate(seeds):
        path = tmp_path / f"seed-{index}.sqlite"
        counts = generate(path, scale=scale, seed=seed)
        generated.append(Generated(counts, read_rows(path)))
    return generated

