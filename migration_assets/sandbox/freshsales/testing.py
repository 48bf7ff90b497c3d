"""Helpers for tests that talk to the emulator in process (no patching: a real ASGI transport).

Example:
    async with sandbox_client(tmp_path / "fs.sqlite") as client:
        response = await client.post(api("contacts"), json={"contact": {"last_name": "Ng"}})
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from migration_assets.connectors.connection import Connection
from migration_assets.sandbox.freshsales.api import PREFIX
from migration_assets.sandbox.freshsales.app import create_app
from migration_assets.sandbox.freshsales.store import SANDBOX_API_KEY

HOST = "http://freshsales.sandbox"


def api(path: str) -> str:
    """`/crm/sales/api/<path>`."""
    return f"{PREFIX}/{path.lstrip('/')}"


def auth(key: str = SANDBOX_API_KEY) -> dict[str, str]:
    """The real header: `Authorization: Token token=<key>`."""
    return {"Authorization": f"Token token={key}"}


@asynccontextmanager
async def sandbox_client(state_path: Path, *, authenticated: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to a fresh app over `state_path`, with the API key unless told otherwise."""
    transport = httpx.ASGITransport(app=create_app(state_path))
    async with httpx.AsyncClient(transport=transport, base_url=HOST, timeout=60) as client:
        if authenticated:
            client.headers.update(auth())
        yield client


def connection(state_path: Path, **options: object) -> Connection:
    """A Connection to the emulator over `state_path` in process (fast test defaults: no client-side
    rate limit, no pause between job polls), with connection `options` on top."""
    return Connection(
        system="freshsales",
        base_url=HOST,
        api_key=SecretStr(SANDBOX_API_KEY),
        transport=httpx.ASGITransport(app=create_app(state_path)),
        sandbox=True,
        options={"rate_per_second": 10_000, "bulk_poll_interval": 0, **options},
    )
