"""The BackDocket emulator's OAuth token endpoint and bearer checks refuse what an OAuth server
refuses, with RFC 6749 bodies at the token endpoint and the API's error shape elsewhere."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.backdocket import create_app, expire_tokens, generate, seed
from migration_assets.sandbox.backdocket.store import CLIENT_ID, CLIENT_SECRET
from migration_assets_tests.emulators import asgi_client, seeded_template, working_copy

HOST = "http://backdocket.sandbox"
GOOD = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory, generate, "backdocket.sqlite", scale=12, seed=5)


@pytest.fixture
def state_path(template: Path, tmp_path: Path) -> Path:
    return working_copy(template, tmp_path)


@pytest.fixture
async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(state_path), HOST) as client:
        yield client


async def _token(api: httpx.AsyncClient) -> str:
    response = await api.post("/oauth/token", data=GOOD)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and isinstance(body["error"]["details"], list)


async def test_client_credentials_grant_returns_a_bearer_token_for_an_hour(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data=GOOD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert response.headers["cache-control"] == "no-store"


async def test_http_basic_client_authentication_is_accepted(api: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = await api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200


async def test_wrong_secret_is_rejected_with_401_invalid_client(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GOOD, "client_secret": "nope"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client" and "error_description" in response.json()


async def test_unknown_client_id_is_rejected_with_401_invalid_client(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GOOD, "client_id": "someone-else"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_other_grant_types_are_rejected_with_400_unsupported_grant_type(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GOOD, "grant_type": "password"})
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


async def test_missing_grant_type_is_rejected_with_400_invalid_request(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_json_token_request_is_rejected_with_400_invalid_request(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", json=GOOD)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_unknown_form_field_is_rejected_with_400_invalid_request(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GOOD, "audience": "x"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_repeated_form_field_is_rejected_with_400_invalid_request(api: httpx.AsyncClient) -> None:
    body = "grant_type=client_credentials&grant_type=client_credentials"
    body += f"&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await api.post("/oauth/token", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_two_client_authentication_methods_are_rejected_with_400(api: httpx.AsyncClient) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = await api.post("/oauth/token", data=GOOD, headers={"Authorization": f"Basic {basic}"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_unknown_scope_is_rejected_with_400_invalid_scope(api: httpx.AsyncClient) -> None:
    response = await api.post("/oauth/token", data={**GOOD, "scope": "write"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


async def test_token_endpoint_refuses_get_with_405(api: httpx.AsyncClient) -> None:
    response = await api.get("/oauth/token")
    _assert_error_shape(response, 405, "method_not_allowed")


async def test_missing_bearer_token_is_rejected_with_401_and_error_body(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/contacts")
    _assert_error_shape(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_client_secret_as_bearer_is_rejected_with_401_invalid_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/contacts", headers={"Authorization": f"Bearer {CLIENT_SECRET}"})
    _assert_error_shape(response, 401, "invalid_token")


async def test_basic_scheme_on_data_endpoints_is_rejected_with_401(api: httpx.AsyncClient) -> None:
    token = await _token(api)
    response = await api.get("/api/v1/contacts", headers={"Authorization": f"Basic {token}"})
    _assert_error_shape(response, 401, "unauthorized")


async def test_token_past_its_lifetime_is_rejected_with_401_token_expired(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    seed.reset(state_path, token_lifetime_seconds=0)
    generate(state_path, scale=3, seed=1)
    response = await api.post("/oauth/token", data=GOOD)
    assert response.json()["expires_in"] == 0
    token = response.json()["access_token"]
    refused = await api.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    _assert_error_shape(refused, 401, "token_expired")


async def test_expired_tokens_are_refused_and_a_new_token_works(api: httpx.AsyncClient, state_path: Path) -> None:
    token = await _token(api)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 200
    assert expire_tokens(state_path) == 1
    _assert_error_shape(await api.get("/api/v1/users", headers=headers), 401, "token_expired")
    fresh = {"Authorization": f"Bearer {await _token(api)}"}
    assert (await api.get("/api/v1/users", headers=fresh)).status_code == 200


async def test_tokens_are_shared_by_every_app_over_the_same_state(api: httpx.AsyncClient, state_path: Path) -> None:
    token = await _token(api)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST)
    async with other:
        response = await other.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
