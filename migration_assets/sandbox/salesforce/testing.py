"""Helpers for tests that talk to the emulator in process (no patching: a real ASGI transport).

Example:
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        response = await client.post(data_url("sobjects/Account"), json={"Name": "Acme"})
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from migration_assets.sandbox import sandbox
from migration_assets.sandbox.salesforce.app import create_app

HOST = sandbox("salesforce").host
VERSION = "v62.0"


def data_url(path: str) -> str:
    """`/services/data/v62.0/<path>`."""
    return f"/services/data/{VERSION}/{path.lstrip('/')}"


async def fetch_token(client: httpx.AsyncClient) -> str:
    """An access token for the sandbox client (client-credentials flow)."""
    creds = sandbox("salesforce").credentials
    response = await client.post("/services/oauth2/token", data={"grant_type": "client_credentials", **creds})
    response.raise_for_status()
    return response.json()["access_token"]


@asynccontextmanager
async def sandbox_client(state_path: Path, *, authenticated: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to a fresh app over `state_path`, with a Bearer token unless told otherwise."""
    transport = httpx.ASGITransport(app=create_app(state_path))
    async with httpx.AsyncClient(transport=transport, base_url=HOST, timeout=60) as client:
        if authenticated:
            client.headers["Authorization"] = f"Bearer {await fetch_token(client)}"
        yield client
