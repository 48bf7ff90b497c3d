"""Dataverse emulator: token endpoint and bearer checks."""

from __future__ import annotations

import httpx

from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.testing import HOST, TOKEN_PATH, sandbox_client, token_form


def bare_client(tmp_path) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(tmp_path / "dv.sqlite")), base_url=HOST)


async def test_client_credentials_token_has_entra_shape(tmp_path):
    async with bare_client(tmp_path) as client:
        response = await client.post(TOKEN_PATH, data=token_form())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"]


async def test_wrong_client_secret_is_invalid_client_401(tmp_path):
    async with bare_client(tmp_path) as client:
        response = await client.post(TOKEN_PATH, data=token_form("nope"))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.",
    }


async def test_scope_without_default_suffix_is_rejected(tmp_path):
    async with bare_client(tmp_path) as client:
        response = await client.post(TOKEN_PATH, data={**token_form(), "scope": HOST})
    assert response.status_code == 400


async def test_data_call_without_token_is_401_with_odata_error(tmp_path):
    async with bare_client(tmp_path) as client:
        response = await client.get("/api/data/v9.2/accounts")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "0x80072560"


async def test_unknown_token_is_401(tmp_path):
    async with bare_client(tmp_path) as client:
        response = await client.get("/api/data/v9.2/accounts", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


async def test_expired_token_is_401(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", token_expires_in=0) as client:
        response = await client.get("accounts")
    assert response.status_code == 401
    assert "Expired" in response.json()["error"]["message"]
