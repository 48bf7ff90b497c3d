"""The Interactive emulator refuses what HubSpot refuses and serves HubSpot's CRM v3 shapes:
token, list paging, properties, get by id, batch read, archived records, inline associations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.interactive import SANDBOX_TOKEN, create_app, generate
from migration_assets.sandbox.interactive.objects import TYPES
from migration_assets.sandbox.interactive.store import open_state
from migration_assets_tests.emulators import asgi_client, seeded_template, working_copy

HOST = "http://interactive.sandbox"
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
ERROR_KEYS = {"status", "message", "correlationId", "category"}


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


async def _all(api: httpx.AsyncClient, path: str, **params: object) -> list[dict]:
    out, after = [], None
    while True:
        body = (await api.get(path, params={**params, **({"after": after} if after else {})})).json()
        out += body["results"]
        if "paging" not in body:
            return out
        after = body["paging"]["next"]["after"]


# -- token --------------------------------------------------------------------------------------
async def test_missing_token_is_rejected_with_401_and_hubspots_body(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/contacts", headers={"Authorization": ""})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")
    assert response.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


@pytest.mark.parametrize("header", ["Bearer wrong-token", SANDBOX_TOKEN, f"Basic {SANDBOX_TOKEN}", "Bearer "])
async def test_wrong_token_or_scheme_is_rejected_with_401(api: httpx.AsyncClient, header: str) -> None:
    response = await api.get("/crm/v3/objects/deals", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


async def test_a_token_listed_in_the_tokens_option_is_accepted(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"tokens": ["pat-na1-second-app"]})
    response = await api.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer pat-na1-second-app"})
    assert response.status_code == 200


# -- list paging --------------------------------------------------------------------------------
async def test_list_pages_with_the_after_cursor_and_omits_paging_on_the_last_page(api: httpx.AsyncClient) -> None:
    ids, after, pages = [], None, 0
    while True:
        params = {"limit": 7, **({"after": after} if after else {})}
        body = (await api.get("/crm/v3/objects/companies", params=params)).json()
        pages += 1
        ids += [r["id"] for r in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        assert f"after={after}" in body["paging"]["next"]["link"] and "limit=7" in body["paging"]["next"]["link"]
    assert len(ids) == len(set(ids)) == 36 - 2  # 0.6 x 60 companies, 2 archived
    assert ids == sorted(ids, key=int) and pages == 5


async def test_default_limit_is_ten(api: httpx.AsyncClient) -> None:
    body = (await api.get("/crm/v3/objects/contacts")).json()
    assert len(body["results"]) == 10 and "paging" in body


@pytest.mark.parametrize("limit", ["101", "0", "ten"])
async def test_a_limit_outside_1_to_100_is_rejected_with_400_validation_error(
    api: httpx.AsyncClient, limit: str
) -> None:
    response = await api.get("/crm/v3/objects/contacts", params={"limit": limit})
    assert response.status_code == 400
    assert set(response.json()) == ERROR_KEYS and response.json()["category"] == "VALIDATION_ERROR"


async def test_a_malformed_after_cursor_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/contacts", params={"after": "NTI1Cg=="})
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


async def test_an_archived_flag_other_than_true_or_false_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    assert (await api.get("/crm/v3/objects/contacts", params={"archived": "yes"})).status_code == 400


async def test_an_unknown_object_type_is_rejected_with_hubspots_message(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/widgets")
    assert response.status_code == 400
    assert response.json()["message"] == "Unable to infer object type from: widgets"


async def test_object_type_ids_address_the_same_records_as_names(api: httpx.AsyncClient) -> None:
    by_name = (await api.get("/crm/v3/objects/notes", params={"limit": 5})).json()["results"]
    by_id = (await api.get("/crm/v3/objects/0-46", params={"limit": 5})).json()["results"]
    assert [r["id"] for r in by_name] == [r["id"] for r in by_id]


async def test_write_methods_are_refused_with_405(api: httpx.AsyncClient) -> None:
    response = await api.post("/crm/v3/objects/contacts", json={"properties": {"email": "x@example.com"}})
    assert response.status_code == 405 and response.json()["status"] == "error"


# -- properties ---------------------------------------------------------------------------------
async def test_requested_properties_are_strings_and_unknown_ones_are_omitted(api: httpx.AsyncClient) -> None:
    params = {"properties": "email,practice_areas,no_such_property", "limit": 50}
    results = (await api.get("/crm/v3/objects/contacts", params=params)).json()["results"]
    for r in results:
        assert set(r["properties"]) == {"email", "practice_areas", "createdate", "lastmodifieddate", "hs_object_id"}
        assert all(v is None or isinstance(v, str) for v in r["properties"].values())
        assert r["properties"]["hs_object_id"] == r["id"] and isinstance(r["id"], str)
    assert any(";" in (r["properties"]["practice_areas"] or "") for r in results)  # multi-select
    assert any(r["properties"]["email"] is None for r in results)  # set but empty: null


async def test_repeated_properties_parameters_are_merged(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/deals", params=[("properties", "amount"), ("properties", "dealstage")])
    assert {"amount", "dealstage"} <= set(response.json()["results"][0]["properties"])


async def test_without_properties_each_type_returns_its_default_set(api: httpx.AsyncClient) -> None:
    for name in ("contacts", "companies", "deals", "notes"):
        record = (await api.get(f"/crm/v3/objects/{name}", params={"limit": 1})).json()["results"][0]
        assert set(record["properties"]) == set(TYPES[name].defaults) | set(TYPES[name].always()), name
        assert set(record) == {"id", "properties", "createdAt", "updatedAt", "archived"}


# -- get by id, archived, batch read ------------------------------------------------------------
async def test_get_by_id_returns_the_record_and_404_for_an_unknown_id(api: httpx.AsyncClient) -> None:
    found = await api.get("/crm/v3/objects/contacts/1000001", params={"properties": "firstname"})
    assert found.status_code == 200 and found.json()["id"] == "1000001"
    missing = await api.get("/crm/v3/objects/contacts/1999999")
    assert missing.status_code == 404
    assert set(missing.json()) == ERROR_KEYS and missing.json()["category"] == "OBJECT_NOT_FOUND"


async def test_an_id_property_the_sandbox_does_not_emulate_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/contacts/someone@example.com", params={"idProperty": "email"})
    assert response.status_code == 400
    by_id = await api.get("/crm/v3/objects/contacts/1000001", params={"idProperty": "email"})
    assert by_id.status_code == 400 and by_id.json()["category"] == "VALIDATION_ERROR"


async def test_archived_records_are_served_only_with_archived_true(api: httpx.AsyncClient) -> None:
    archived = await _all(api, "/crm/v3/objects/contacts", archived="true", limit=100)
    live = await _all(api, "/crm/v3/objects/contacts", limit=100)
    assert len(archived) == 2 and len(live) == 88  # 90 contacts, 1 in 40 archived
    assert all(r["archived"] is True and r["archivedAt"] for r in archived)
    assert all(r["archived"] is False and "archivedAt" not in r for r in live)
    gone = archived[0]["id"]
    assert (await api.get(f"/crm/v3/objects/contacts/{gone}")).status_code == 404
    assert (await api.get(f"/crm/v3/objects/contacts/{gone}", params={"archived": "true"})).status_code == 200


async def test_batch_read_returns_the_records_and_207_with_errors_for_missing_ids(api: httpx.AsyncClient) -> None:
    body = {"properties": ["email"], "inputs": [{"id": "1000001"}, {"id": "1000002"}, {"id": "1999999"}]}
    response = await api.post("/crm/v3/objects/contacts/batch/read", json=body)
    assert response.status_code == 207
    payload = response.json()
    assert [r["id"] for r in payload["results"]] == ["1000001", "1000002"]
    assert "email" in payload["results"][0]["properties"]
    assert payload["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert payload["errors"][0]["context"] == {"ids": ["1999999"]}
    complete = await api.post("/crm/v3/objects/contacts/batch/read", json={"inputs": [{"id": "1000001"}]})
    assert complete.status_code == 200 and complete.json()["status"] == "COMPLETE"


async def test_batch_read_of_more_than_100_inputs_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    body = {"inputs": [{"id": str(1_000_001 + i)} for i in range(101)]}
    response = await api.post("/crm/v3/objects/contacts/batch/read", json=body)
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


async def test_batch_read_without_inputs_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/crm/v3/objects/deals/batch/read", json={"properties": ["amount"]})
    assert response.status_code == 400


async def test_inline_associations_list_primary_and_unlabeled_types(api: httpx.AsyncClient) -> None:
    params = {"associations": "companies", "limit": 100}
    contacts = (await api.get("/crm/v3/objects/contacts", params=params)).json()["results"]
    kinds = {a["type"] for c in contacts for a in c.get("associations", {}).get("companies", {}).get("results", [])}
    assert kinds == {"contact_to_company", "contact_to_company_unlabeled"}
    assert any("associations" not in c for c in contacts)  # no company: no key at all


async def test_an_unknown_association_type_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v3/objects/contacts", params={"associations": "widgets"})
    assert response.status_code == 400
    assert response.json()["message"] == "Unable to infer object type from: widgets"
