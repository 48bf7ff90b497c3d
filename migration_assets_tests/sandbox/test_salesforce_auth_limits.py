"""Salesforce emulator: OAuth token endpoint, session checks and the daily API budget."""

from __future__ import annotations

from pathlib import Path

import httpx

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client
from migration_assets_tests.sandbox.salesforce_calls import run_ingest_job


async def request_token(state_path: Path, client_secret: str) -> httpx.Response:
    """The token endpoint's answer to a client-credentials request for the sandbox client."""
    async with sandbox_client(state_path, authenticated=False) as client:
        return await client.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "sf-sandbox-client", "client_secret": client_secret},
        )


async def test_token_returns_bearer_and_instance_url_of_request(tmp_path):
    response = await request_token(tmp_path / "sf.sqlite", "sf-sandbox-secret")
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == "http://salesforce.sandbox"
    assert {"access_token", "id", "issued_at", "signature"} <= body.keys()


async def test_bad_client_secret_is_refused_with_invalid_client(tmp_path):
    response = await request_token(tmp_path / "sf.sqlite", "nope")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


async def test_unknown_token_gets_401_invalid_session_id(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite", authenticated=False) as client:
        response = await client.get(data_url("sobjects"), headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


async def test_expired_sessions_get_401_until_a_new_token(tmp_path):
    path = tmp_path / "sf.sqlite"
    async with sandbox_client(path) as client:
        assert (await client.get(data_url("sobjects/Account/describe"))).status_code == 200
        seed.expire_sessions(path)
        assert (await client.get(data_url("sobjects/Account/describe"))).status_code == 401


async def test_every_response_carries_limit_info_and_calls_are_counted(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        first = await client.get(data_url("sobjects"))
        second = await client.get(data_url("sobjects/Nope__c/describe"))
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    assert second.status_code == 404
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/15000"


async def test_limits_endpoint_reports_budget_without_consuming_it(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, daily_api_limit=100, api_usage_start=40)
    async with sandbox_client(path) as client:
        await client.get(data_url("sobjects"))
        response = await client.get(data_url("limits"))
    assert response.json()["DailyApiRequests"] == {"Max": 100, "Remaining": 59}
    assert response.headers["Sforce-Limit-Info"] == "api-usage=41/100"
    assert "X-Sandbox-Usage-Resets-At" in response.headers


async def test_calls_past_the_daily_limit_get_403_request_limit_exceeded(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, daily_api_limit=3)
    async with sandbox_client(path) as client:
        statuses = [(await client.get(data_url("sobjects"))).status_code for _ in range(4)]
        refused = await client.get(data_url("sobjects"))
        seed.reset_usage(path)
        after_reset = await client.get(data_url("sobjects"))
    assert statuses == [200, 200, 200, 403]
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    assert after_reset.status_code == 200


async def test_unknown_api_version_is_404(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        response = await client.get("/services/data/v20.0/sobjects")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_each_bulk_call_counts_one_request(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        last = await run_ingest_job(client, {"object": "Account", "operation": "insert"}, b"Name\nA\nB\nC\n")
    assert last.json()["state"] == "JobComplete"
    assert last.headers["Sforce-Limit-Info"] == "api-usage=4/15000"


async def test_unknown_resource_is_404_with_error_body(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        response = await client.get(data_url("nothing/here"))
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
