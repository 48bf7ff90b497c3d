"""Service-protection limits and fault injection of the Interactive emulator: HubSpot's 429 bodies
and X-HubSpot-RateLimit-* headers, counted per token and shared by every app over one state."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.interactive import SANDBOX_TOKEN, create_app, generate
from migration_assets.sandbox.interactive.store import open_state
from migration_assets_tests.emulators import api_fixture

HOST = "http://interactive.sandbox"
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
RATE_KEYS = {"status", "message", "errorType", "correlationId", "policyName", "requestId"}


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    path = tmp_path / "interactive.sqlite"
    generate(path, scale=10, seed=3)
    return path


api = api_fixture(create_app, HOST, AUTH)


async def test_every_response_carries_the_rate_limit_headers_counting_down(api: httpx.AsyncClient) -> None:
    first, second = await api.get("/crm/v3/objects/contacts"), await api.get("/crm/v3/owners")
    assert first.headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert first.headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert (
        int(first.headers["X-HubSpot-RateLimit-Remaining"]) - int(second.headers["X-HubSpot-RateLimit-Remaining"]) == 1
    )
    assert int(first.headers["X-HubSpot-RateLimit-Daily-Remaining"]) == 249_999
    assert "X-HubSpot-Correlation-Id" in first.headers


async def test_the_ten_secondly_limit_answers_429_with_hubspots_exact_body(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 3})
    statuses = [(await api.get("/crm/v3/objects/deals")).status_code for _ in range(3)]
    refused = await api.get("/crm/v3/objects/deals")
    assert statuses == [200, 200, 200] and refused.status_code == 429
    body = refused.json()
    assert set(body) == RATE_KEYS
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert refused.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert "Retry-After" not in refused.headers


async def test_the_professional_tier_option_raises_the_window_to_190(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 190})
    response = await api.get("/crm/v3/objects/deals")
    assert response.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "189"


async def test_limits_are_counted_per_token(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 2, "tokens": ["pat-na1-other-app"]})
    for _ in range(2):
        await api.get("/crm/v3/objects/deals")
    assert (await api.get("/crm/v3/objects/deals")).status_code == 429
    other = await api.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer pat-na1-other-app"})
    assert other.status_code == 200


async def test_two_apps_over_one_state_share_the_window(state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 4})
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST, headers=AUTH)
        for _ in range(2)
    ]
    statuses = [(await clients[i % 2].get("/crm/v3/objects/deals")).status_code for i in range(5)]
    for client in clients:
        await client.aclose()
    assert statuses == [200, 200, 200, 200, 429]


async def test_search_calls_count_against_the_ten_secondly_window_too(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 2, "search_per_second": 100})
    await api.post("/crm/v3/objects/deals/search", json={"limit": 1})
    await api.post("/crm/v3/objects/deals/search", json={"limit": 1})
    refused = await api.get("/crm/v3/objects/deals")
    assert refused.status_code == 429 and refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"


async def test_the_daily_limit_answers_429_with_the_daily_policy(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"daily_limit": 2})
    await api.get("/crm/v3/objects/deals")
    second = await api.get("/crm/v3/objects/deals")
    refused = await api.get("/crm/v3/objects/deals")
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert refused.status_code == 429 and refused.json()["policyName"] == "DAILY"


async def test_a_refused_token_is_not_counted(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 1})
    await api.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer nope"})
    assert (await api.get("/crm/v3/objects/deals")).status_code == 200


async def test_injected_503_answers_with_hubspots_error_body(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"faults": "503:1"})
    response = await api.get("/crm/v3/objects/contacts")
    assert response.status_code == 503
    assert set(response.json()) == {"status", "message", "correlationId", "category"}
    assert response.json()["status"] == "error" and response.headers["Retry-After"] == "1"
    assert injected_faults(open_state(state_path)) == {"503": 1}


async def test_injected_429_answers_with_the_ten_secondly_body(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"faults": "429:1"})
    response = await api.post("/crm/v3/objects/contacts/search", json={"limit": 1})
    assert response.status_code == 429
    assert set(response.json()) == RATE_KEYS and response.json()["policyName"] == "TEN_SECONDLY_ROLLING"


async def test_a_lost_response_is_applied_but_never_answered(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"faults": "lost:1"})
    with pytest.raises(httpx.RemoteProtocolError):
        await api.get("/crm/v3/objects/contacts")
