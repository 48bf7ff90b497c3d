"""Dataverse emulator: injected faults in the Web API error shape, and service-protection counters
shared by every app instance (process) over one state file, document store included."""

from __future__ import annotations

import httpx

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.dataverse import seed
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.store import open_state
from migration_assets.sandbox.dataverse.testing import HOST, TOKEN_PATH, sandbox_client, token_form

DRIVE = "/graph/v1.0/sites/sandbox/drive"


async def test_fault_option_503_answers_503_with_the_web_api_error_body(tmp_path):
    state = tmp_path / "dv.sqlite"
    seed.reset(state, faults="503:1", faults_retry_after=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=HOST) as bare:
        token = await bare.post(TOKEN_PATH, data=token_form())
        data = await bare.get("/api/data/v9.2/accounts")
        graph = await bare.get(f"{DRIVE}/root")
    for response in (token, data, graph):
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert response.json() == {
            "error": {"code": "0x0", "message": "The service is temporarily unavailable. Please retry later."}
        }
    assert injected_faults(open_state(state))["503"] == 3


async def test_injected_429_carries_the_request_limit_code_and_message(tmp_path):
    state = tmp_path / "dv.sqlite"
    seed.reset(state, faults="429:1", requests_per_window=100, window_seconds=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=HOST) as bare:
        response = await bare.get("/api/data/v9.2/accounts")
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 100 over time window of 60 seconds.",
    }


async def test_injected_500_is_the_unexpected_error_body(tmp_path):
    state = tmp_path / "dv.sqlite"
    seed.reset(state, faults="500:1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=HOST) as bare:
        response = await bare.get("/api/data/v9.2/accounts")
    assert response.status_code == 500 and response.json()["error"]["code"] == "0x80040216"


async def test_request_counter_is_shared_by_two_app_instances(tmp_path):
    state = tmp_path / "dv.sqlite"
    # the second client is another process or step over the same file
    async with (
        sandbox_client(state, requests_per_window=3, window_seconds=300) as first,
        sandbox_client(state) as second,
    ):
        assert (await first.get("accounts")).status_code == 200
        assert (await second.get("accounts")).status_code == 200
        assert (await first.get("accounts")).status_code == 200
        throttled = await second.get("accounts")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "0x80072322"


async def test_document_store_calls_count_against_the_same_window(tmp_path):
    state = tmp_path / "dv.sqlite"
    seed.reset(state, requests_per_window=2, window_seconds=300)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=HOST) as bare:
        token = (await bare.post(TOKEN_PATH, data=token_form())).json()["access_token"]
        bare.headers["Authorization"] = f"Bearer {token}"
        assert (await bare.get(f"{DRIVE}/root")).status_code == 200
        assert (await bare.get("/api/data/v9.2/accounts")).status_code == 200
        throttled = await bare.get(f"{DRIVE}/root")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
