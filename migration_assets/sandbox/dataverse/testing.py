"""Helpers for tests that talk to the emulator in process (no HTTP mocking: the real app).

Example:
    async with sandbox_client(tmp_path / "dv.sqlite", tier="professional") as client:
        response = await client.post("accounts", json={"name": "Acme"})
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.core import API_PREFIX

HOST = "http://dataverse.sandbox"
TOKEN_PATH = "/sandbox-tenant/oauth2/v2.0/token"
CRLF = "\r\n"


def token_form(secret: str = store.CLIENT_SECRET) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": store.CLIENT_ID,
        "client_secret": secret,
        "scope": f"{HOST}/.default",
    }


@asynccontextmanager
async def sandbox_client(state_path: Path, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client whose base URL is the data API (`…/api/data/v9.2/`).

    Args:
        state_path: SQLite file of the emulator.
        **options: sandbox options set before the app starts.

    Yields:
        An httpx client over `httpx.ASGITransport`; `client.app_host` holds the bare host client.
    """
    if options:
        store.open_state(state_path).set_options(options)
    app = create_app(state_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=HOST) as bare:
        token = (await bare.post(TOKEN_PATH, data=token_form())).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "OData-Version": "4.0", "Accept": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url=f"{HOST}{API_PREFIX}/", headers=headers) as client:
            yield client


def record_id(response: httpx.Response) -> str:
    """The GUID at the end of an `OData-EntityId` header."""
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def batch_body(boundary: str, items: list[Any]) -> str:
    """A CRLF multipart `$batch` body.

    Args:
        boundary: the batch boundary.
        items: each either an operation tuple `(method, url, body_or_None, headers_dict)` or a
            change set `("changeset", boundary, [operations], None)`; operations in a change set get
            Content-ID 1, 2, ...
    """
    lines: list[str] = []
    for item in items:
        lines.append(f"--{boundary}")
        if item[0] == "changeset":
            lines += [f"Content-Type: multipart/mixed; boundary={item[1]}", ""]
            for index, operation in enumerate(item[2], start=1):
                lines.append(f"--{item[1]}")
                lines += _operation(operation, str(index))
            lines.append(f"--{item[1]}--")
        else:
            lines += _operation(item, None)
    lines += [f"--{boundary}--", ""]
    return CRLF.join(lines)


def _operation(operation: Any, content_id: str | None) -> list[str]:
    method, url, body, headers = operation
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("")
    lines.append(json.dumps(body) if body is not None else "")
    return lines


__all__ = ["HOST", "TOKEN_PATH", "batch_body", "record_id", "sandbox_client", "token_form"]
