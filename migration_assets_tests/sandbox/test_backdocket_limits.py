"""The BackDocket emulator counts requests per client identity across processes and answers 429
with Retry-After and the error shape; injected faults answer with the same shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.backdocket import create_app, generate, seed
from migration_assets.sandbox.backdocket.store import CLIENT_ID, CLIENT_SECRET, open_state

HOST = "http://backdocket.sandbox"
SECOND = ("bd-second-client", "bd-second-secret")


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    path = tmp_path / "backdocket.sqlite"
    seed.reset(path, rate_limit=3, clients={CLIENT_ID: CLIENT_SECRET, SECOND[0]: SECOND[1]})
    generate(path, scale=3, seed=2)
    return path


@pytest.fixture
async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST) as client:
        yield client


async def _bearer(api: httpx.AsyncClient, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return {"Authorization": "Bearer " + (await api.post("/oauth/token", data=form)).json()["access_token"]}


async def test_requests_over_the_limit_get_429_with_retry_after_and_error_body(api: httpx.AsyncClient) -> None:
    headers = await _bearer(api)
    statuses = [(await api.get("/api/v1/users", headers=headers)).status_code for _ in range(3)]
    refused = await api.get("/api/v1/users", headers=headers)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["details"][0]["limit"] == 3


async def test_default_limit_is_120_requests_per_minute(tmp_path: Path) -> None:
    path = tmp_path / "backdocket.sqlite"
    seed.reset(path)
    generate(path, scale=2, seed=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(path)), base_url=HOST) as api:
        headers = await _bearer(api)
        statuses = [(await api.get("/api/v1/workflows", headers=headers)).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429


async def test_every_call_counts_refused_ones_included(api: httpx.AsyncClient) -> None:
    headers = await _bearer(api)
    assert (await api.get("/api/v1/users", headers=headers, params={"bad": 1})).status_code == 400
    assert (await api.get("/api/v1/nothing", headers=headers)).status_code == 404
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 200
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 429


async def test_a_new_token_of_the_same_client_shares_the_window(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await api.get("/api/v1/users", headers=await _bearer(api))).status_code == 200
    assert (await api.get("/api/v1/users", headers=await _bearer(api))).status_code == 429


async def test_each_client_has_its_own_window(api: httpx.AsyncClient) -> None:
    first, second = await _bearer(api), await _bearer(api, *SECOND)
    for _ in range(3):
        await api.get("/api/v1/users", headers=first)
    assert (await api.get("/api/v1/users", headers=first)).status_code == 429
    assert (await api.get("/api/v1/users", headers=second)).status_code == 200


async def test_the_window_is_shared_by_every_app_over_the_same_state(api: httpx.AsyncClient, state_path: Path) -> None:
    headers = await _bearer(api)
    for _ in range(3):
        await api.get("/api/v1/users", headers=headers)
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST)
    async with other:
        assert (await other.get("/api/v1/users", headers=headers)).status_code == 429


async def test_limit_options_are_read_at_request_time(api: httpx.AsyncClient, state_path: Path) -> None:
    headers = await _bearer(api)
    for _ in range(3):
        await api.get("/api/v1/users", headers=headers)
    open_state(state_path).set_options({"rate_limit": 10})
    assert (await api.get("/api/v1/users", headers=headers)).status_code == 200


async def test_unauthenticated_requests_are_not_counted(api: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await api.get("/api/v1/users")).status_code == 401
    assert (await api.get("/api/v1/users", headers=await _bearer(api))).status_code == 200


async def test_injected_503_answers_with_the_error_shape_and_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "backdocket.sqlite"
    seed.reset(path, faults="503:1", faults_retry_after=7)
    app = create_app(path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HOST) as api:
        response = await api.get("/api/v1/users")
    assert response.status_code == 503 and response.headers["retry-after"] == "7"
    assert response.json() == {
        "error": {"code": "service_unavailable", "message": "The service is temporarily unavailable.", "details": []}
    }
    assert injected_faults(open_state(path)) == {"503": 1}


@pytest.mark.parametrize("status", ["429", "500", "502", "504"])
async def test_every_injected_status_uses_the_error_shape(tmp_path: Path, status: str) -> None:
    path = tmp_path / "backdocket.sqlite"
    seed.reset(path, faults=f"{status}:1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(path)), base_url=HOST) as api:
        response = await api.get("/api/v1/contacts")
    assert response.status_code == int(status)
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_reset_refuses_unknown_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        seed.reset(tmp_path / "backdocket.sqlite", rate_per_second=5)
