"""`POST /crm/v3/objects/{type}/search` of the Interactive emulator: filters, sort, limit, the
10,000-result cap (lowered by an option), its own per-second limit and edits made while paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.interactive import SANDBOX_TOKEN, create_app, generate
from migration_assets.sandbox.interactive.store import open_state
from migration_assets_tests.emulators import asgi_client, seeded_template, working_copy

HOST = "http://interactive.sandbox"
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
SINCE_ISO = "2026-06-01T00:00:00.000Z"
SINCE_MS = str(int(datetime.fromisoformat("2026-06-01T00:00:00+00:00").timestamp() * 1000))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory, generate, "interactive.sqlite", scale=60, seed=7)


@pytest.fixture
def state_path(template: Path, tmp_path: Path) -> Path:
    return working_copy(template, tmp_path, open_state, {"ten_secondly_limit": 100_000, "search_per_second": 100_000})


@pytest.fixture
async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(state_path), HOST, AUTH) as client:
        yield client


def _since(value: str, prop: str = "lastmodifieddate", operator: str = "GTE", **extra: object) -> dict:
    return {
        "filterGroups": [{"filters": [{"propertyName": prop, "operator": operator, "value": value}]}],
        "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
        **extra,
    }


async def _listed(api: httpx.AsyncClient, name: str, properties: str | None = None) -> list[dict]:
    out, after = [], None
    while True:
        params = {
            "limit": 100,
            **({"after": after} if after else {}),
            **({"properties": properties} if properties else {}),
        }
        body = (await api.get(f"/crm/v3/objects/{name}", params=params)).json()
        out += body["results"]
        if "paging" not in body:
            return out
        after = body["paging"]["next"]["after"]


async def test_gte_on_lastmodifieddate_finds_exactly_the_changed_contacts_in_ascending_order(
    api: httpx.AsyncClient,
) -> None:
    expected = sorted((r["updatedAt"], r["id"]) for r in await _listed(api, "contacts") if r["updatedAt"] >= SINCE_ISO)
    body = (await api.post("/crm/v3/objects/contacts/search", json=_since(SINCE_MS, limit=200))).json()
    assert body["total"] == len(expected) > 10
    assert [(r["updatedAt"], r["id"]) for r in body["results"]] == expected
    assert "paging" not in body
    assert "associations" not in body["results"][0]


async def test_epoch_milliseconds_and_iso_values_filter_alike(api: httpx.AsyncClient) -> None:
    by_ms = (await api.post("/crm/v3/objects/contacts/search", json=_since(SINCE_MS, limit=200))).json()
    by_iso = (await api.post("/crm/v3/objects/contacts/search", json=_since(SINCE_ISO, limit=200))).json()
    assert by_ms["results"] == by_iso["results"]


async def test_gt_excludes_and_lte_includes_the_boundary(api: httpx.AsyncClient) -> None:
    prop = "hs_lastmodifieddate"
    first = (await api.post("/crm/v3/objects/deals/search", json=_since(SINCE_MS, prop, limit=200))).json()["results"]
    edge = first[0]["properties"][prop]
    after = (await api.post("/crm/v3/objects/deals/search", json=_since(edge, prop, "GT", limit=200))).json()
    upto = (await api.post("/crm/v3/objects/deals/search", json=_since(edge, prop, "LTE", limit=200))).json()
    assert [r["id"] for r in after["results"]] == [r["id"] for r in first[1:]]
    assert upto["results"][-1]["id"] == first[0]["id"]


async def test_other_types_filter_on_hs_lastmodifieddate(api: httpx.AsyncClient) -> None:
    for name in ("companies", "deals", "notes", "2-4815162"):
        response = await api.post(f"/crm/v3/objects/{name}/search", json=_since(SINCE_MS, "hs_lastmodifieddate"))
        assert response.status_code == 200, name


async def test_a_property_the_type_lacks_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/crm/v3/objects/contacts/search", json=_since(SINCE_MS, "hs_lastmodifieddate"))
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("limit", [201, 0, "200"])
async def test_a_limit_outside_1_to_200_is_rejected_with_400(api: httpx.AsyncClient, limit: object) -> None:
    response = await api.post("/crm/v3/objects/contacts/search", json=_since(SINCE_MS, limit=limit))
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


async def test_pages_by_offset_with_total_and_no_paging_on_the_last_page(api: httpx.AsyncClient) -> None:
    seen, after = [], None
    while True:
        body = _since(SINCE_MS, limit=7, **({"after": after} if after else {}))
        page = (await api.post("/crm/v3/objects/contacts/search", json=body)).json()
        seen += [r["id"] for r in page["results"]]
        if "paging" not in page:
            break
        after = page["paging"]["next"]["after"]
        assert after == str(len(seen))
    assert len(seen) == len(set(seen)) == page["total"]


async def test_paging_past_the_cap_is_refused_with_400(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"search_cap": 20})
    everything = {"limit": 15, "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]}
    first = (await api.post("/crm/v3/objects/contacts/search", json=everything)).json()
    second = (await api.post("/crm/v3/objects/contacts/search", json={**everything, "after": "15"})).json()
    assert first["total"] == 88 and len(first["results"]) == 15
    assert len(second["results"]) == 5 and second["paging"]["next"]["after"] == "20"  # cut at the cap
    refused = await api.post("/crm/v3/objects/contacts/search", json={**everything, "after": "20"})
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR" and "20" in refused.json()["message"]


async def test_archived_records_never_match(api: httpx.AsyncClient) -> None:
    body = (await api.post("/crm/v3/objects/contacts/search", json={"limit": 200})).json()
    assert body["total"] == 88 and all(r["archived"] is False for r in body["results"])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"sorts": ["lastmodifieddate", "-createdate"]}, "two sorts"),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]}, "operator"),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6}, "six groups"),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 7}]}, "seven filters"),
        (
            {"filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "GTE", "value": "soon"}]}]},
            "value",
        ),
        (
            {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}] * 4}] * 5},
            "20 filters",
        ),
        (
            {"filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "BETWEEN", "value": "0"}]}]},
            "high",
        ),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN"}]}]}, "values"),
        ({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ"}]}]}, "no value"),
        ({"properties": "email"}, "properties not a list"),
        ({"sorts": [{"propertyName": "createdate", "direction": "UP"}]}, "direction"),
        ({"pageSize": 10}, "unknown field"),
        ({"after": "abc"}, "after"),
    ],
)
async def test_bodies_hubspot_refuses_are_rejected_with_400(api: httpx.AsyncClient, change: dict, why: str) -> None:
    response = await api.post("/crm/v3/objects/contacts/search", json={"limit": 10, **change})
    assert response.status_code == 400, why
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_a_body_that_is_not_json_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/crm/v3/objects/contacts/search", content=b"{not json")
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


async def test_between_in_and_contains_token_filter_as_documented(api: httpx.AsyncClient) -> None:
    def body(*filters: dict) -> dict:
        return {"limit": 200, "filterGroups": [{"filters": list(filters)}]}

    ids = ["1000001", "1000002", "1000003"]
    found = (
        await api.post(
            "/crm/v3/objects/contacts/search",
            json=body({"propertyName": "hs_object_id", "operator": "IN", "values": ids}),
        )
    ).json()
    assert sorted(r["id"] for r in found["results"]) == ids
    between = {"propertyName": "hs_object_id", "operator": "BETWEEN", "value": "1000001", "highValue": "1000005"}
    assert (await api.post("/crm/v3/objects/contacts/search", json=body(between))).json()["total"] == 5
    token = {"propertyName": "practice_areas", "operator": "CONTAINS_TOKEN", "value": "probate"}
    probate = (
        await api.post("/crm/v3/objects/contacts/search", json={**body(token), "properties": ["practice_areas"]})
    ).json()
    assert probate["total"] > 0 and all("probate" in r["properties"]["practice_areas"] for r in probate["results"])


async def test_filter_groups_are_ored_and_filters_anded(api: httpx.AsyncClient) -> None:
    stage = {"propertyName": "lifecyclestage", "operator": "EQ"}
    body = {
        "limit": 200,
        "filterGroups": [
            {"filters": [{**stage, "value": "prospect"}]},
            {"filters": [{**stage, "value": "active"}, {"propertyName": "email", "operator": "HAS_PROPERTY"}]},
        ],
    }
    found = {r["id"] for r in (await api.post("/crm/v3/objects/contacts/search", json=body)).json()["results"]}
    listed = await _listed(api, "contacts", "lifecyclestage,email")
    expected = {
        r["id"]
        for r in listed
        if r["properties"]["lifecyclestage"] == "prospect"
        or (r["properties"]["lifecyclestage"] == "active" and r["properties"]["email"])
    }
    assert found == expected and len(found) >= 3


async def test_search_has_its_own_per_second_limit_with_the_secondly_body(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    open_state(state_path).set_options({"search_per_second": 2, "search_window": 60})
    statuses = [(await api.post("/crm/v3/objects/deals/search", json={"limit": 1})).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await api.post("/crm/v3/objects/deals/search", json={"limit": 1})
    body = refused.json()
    assert set(body) == {"status", "message", "errorType", "correlationId", "policyName", "requestId"}
    assert body["message"] == "You have reached your secondly limit."
    assert (body["errorType"], body["policyName"]) == ("RATE_LIMIT", "SECONDLY")
    assert (await api.get("/crm/v3/objects/deals")).status_code == 200  # the general API is not held back


async def test_search_responses_carry_no_rate_limit_headers(api: httpx.AsyncClient) -> None:
    search = await api.post("/crm/v3/objects/deals/search", json={"limit": 1})
    listing = await api.get("/crm/v3/objects/deals")
    assert not [h for h in search.headers if h.lower().startswith("x-hubspot-ratelimit")]
    assert "X-HubSpot-Correlation-Id" in search.headers
    assert "X-HubSpot-RateLimit-Remaining" in listing.headers


async def test_an_edit_while_paging_by_offset_shifts_a_record_out_of_reach(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    """The knob `bump_when_served` edits a record once a page is served: an offset-paging client
    then misses the record that slid into the page it already read (what the connector avoids)."""
    query = _since(SINCE_MS, limit=10)
    before = (await api.post("/crm/v3/objects/contacts/search", json={**query, "limit": 200})).json()["results"]
    open_state(state_path).set_options(
        {"bump_when_served": {"object": "contacts", "page": 1, "ids": [before[0]["id"]]}}
    )
    first = (await api.post("/crm/v3/objects/contacts/search", json=query)).json()["results"]
    second = (await api.post("/crm/v3/objects/contacts/search", json={**query, "after": "10"})).json()["results"]
    read = {r["id"] for r in first + second}
    assert before[10]["id"] not in read  # slid to position 9, already read
    everything = (await api.post("/crm/v3/objects/contacts/search", json={**query, "limit": 200})).json()["results"]
    assert everything[-1]["id"] == before[0]["id"]  # the edited record moved to the end
    assert everything[-1]["updatedAt"] > before[-1]["updatedAt"]
