"""The Interactive emulator's metadata and side endpoints in HubSpot's shapes: properties with
enumeration options, deal pipelines, owners, custom object schemas, associations v4, files, flows."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.interactive import SANDBOX_TOKEN, create_app, generate
from migration_assets.sandbox.interactive.meta import chunks
from migration_assets.sandbox.interactive.objects import CUSTOM_FQN, CUSTOM_TYPE_ID, LEAD_STATUSES, LIFECYCLE_STAGES
from migration_assets.sandbox.interactive.store import open_state
from migration_assets_tests.emulators import seeded_template, working_copy

HOST = "http://interactive.sandbox"
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory, generate, "interactive.sqlite", scale=100, seed=7)


@pytest.fixture
def state_path(template: Path, tmp_path: Path) -> Path:
    return working_copy(template, tmp_path, open_state, {"ten_secondly_limit": 100_000})


@pytest.fixture
async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state_path))
    async with httpx.AsyncClient(transport=transport, base_url=HOST, headers=AUTH) as client:
        yield client


async def _properties(api: httpx.AsyncClient, name: str) -> dict[str, dict]:
    return {p["name"]: p for p in (await api.get(f"/crm/v3/properties/{name}")).json()["results"]}


# -- properties, pipelines, owners, schemas -----------------------------------------------------
async def test_contact_properties_list_lifecycle_and_lead_status_options(api: httpx.AsyncClient) -> None:
    props = await _properties(api, "contacts")
    for name, expected in (("lifecyclestage", LIFECYCLE_STAGES), ("hs_lead_status", LEAD_STATUSES)):
        prop = props[name]
        assert {"name", "label", "type", "fieldType", "options"} <= set(prop)
        assert prop["type"] == "enumeration"
        assert [(o["value"], o["label"]) for o in prop["options"]] == list(expected)
        assert all(set(o) >= {"label", "value", "hidden"} for o in prop["options"])
    assert props["practice_areas"]["fieldType"] == "checkbox"
    assert props["lastmodifieddate"]["type"] == "datetime"


async def test_deal_stage_options_are_every_stage_of_every_pipeline(api: httpx.AsyncClient) -> None:
    props = await _properties(api, "deals")
    pipelines = (await api.get("/crm/v3/pipelines/deals")).json()["results"]
    stages = [s["id"] for p in pipelines for s in p["stages"]]
    assert [o["value"] for o in props["dealstage"]["options"]] == stages
    assert [o["value"] for o in props["pipeline"]["options"]] == [p["id"] for p in pipelines]


async def test_deal_pipelines_have_stages_with_probability_and_closed_flag(api: httpx.AsyncClient) -> None:
    pipelines = (await api.get("/crm/v3/pipelines/deals")).json()["results"]
    assert len(pipelines) >= 2 and pipelines[0]["id"] == "default"
    for pipeline in pipelines:
        assert {"id", "label", "displayOrder", "stages", "archived"} <= set(pipeline)
        for stage in pipeline["stages"]:
            assert {"id", "label", "displayOrder", "metadata"} <= set(stage)
            assert set(stage["metadata"]) == {"probability", "isClosed"}
            assert stage["metadata"]["isClosed"] in ("true", "false")
            float(stage["metadata"]["probability"])
    won = next(s for s in pipelines[0]["stages"] if s["id"] == "closedwon")
    assert won["metadata"] == {"isClosed": "true", "probability": "1.0"}
    one = await api.get(f"/crm/v3/pipelines/deals/{pipelines[1]['id']}")
    assert one.json()["label"] == pipelines[1]["label"]


async def test_pipelines_of_a_type_without_pipelines_are_refused(api: httpx.AsyncClient) -> None:
    assert (await api.get("/crm/v3/pipelines/contacts")).status_code == 400
    assert (await api.get("/crm/v3/pipelines/deals/no-such-pipeline")).status_code == 404


async def test_owners_are_listed_active_or_archived_but_never_both(api: httpx.AsyncClient) -> None:
    active = (await api.get("/crm/v3/owners", params={"archived": "false"})).json()["results"]
    gone = (await api.get("/crm/v3/owners", params={"archived": "true"})).json()["results"]
    assert len(active) == 5 and len(gone) == 1
    assert all(o["archived"] is False for o in active) and gone[0]["archived"] is True
    assert {"id", "email", "firstName", "lastName", "userId", "archived"} <= set(active[0])
    assert (await api.get(f"/crm/v3/owners/{active[0]['id']}")).json()["email"] == active[0]["email"]
    assert (await api.get(f"/crm/v3/owners/{gone[0]['id']}")).status_code == 404
    assert (await api.get(f"/crm/v3/owners/{gone[0]['id']}", params={"archived": "true"})).status_code == 200
    by_email = await api.get("/crm/v3/owners", params={"email": active[-1]["email"].upper(), "limit": 1})
    assert [o["id"] for o in by_email.json()["results"]] == [active[-1]["id"]]  # found beyond the first page


async def test_the_custom_object_schema_and_its_records(api: httpx.AsyncClient) -> None:
    schemas = (await api.get("/crm/v3/schemas")).json()["results"]
    assert len(schemas) == 1
    schema = schemas[0]
    assert schema["objectTypeId"] == CUSTOM_TYPE_ID and schema["objectTypeId"].startswith("2-")
    assert schema["fullyQualifiedName"] == CUSTOM_FQN and schema["name"] == "spouse_link"
    assert {p["name"] for p in schema["properties"]} >= {"matter_name", "marriage_date", "relationship"}
    by_id = (await api.get(f"/crm/v3/objects/{CUSTOM_TYPE_ID}", params={"limit": 100})).json()["results"]
    by_name = (await api.get(f"/crm/v3/objects/{CUSTOM_FQN}", params={"limit": 100})).json()["results"]
    assert len(by_id) == 20 and by_id == by_name
    assert (await api.get(f"/crm/v3/schemas/{CUSTOM_TYPE_ID}")).json()["name"] == "spouse_link"


# -- associations v4 ----------------------------------------------------------------------------
async def test_v4_associations_give_type_ids_and_labels(api: httpx.AsyncClient) -> None:
    response = await api.get("/crm/v4/objects/contacts/1000001/associations/companies")
    results = response.json()["results"]
    assert results and isinstance(results[0]["toObjectId"], int)
    kinds = {(t["typeId"], t["label"], t["category"]) for r in results for t in r["associationTypes"]}
    assert (279, None, "HUBSPOT_DEFINED") in kinds and (1, "Primary", "HUBSPOT_DEFINED") in kinds
    back = await api.get(f"/crm/v4/objects/companies/{results[0]['toObjectId']}/associations/contacts")
    back_kinds = {
        t["typeId"] for r in back.json()["results"] if r["toObjectId"] == 1000001 for t in r["associationTypes"]
    }
    assert back_kinds == {2, 280}


async def test_parent_company_loops_and_self_parents_show_as_types_13_and_14(api: httpx.AsyncClient) -> None:
    pair = (await api.get("/crm/v4/objects/companies/2000011/associations/companies")).json()["results"]
    assert pair == [
        {
            "toObjectId": 2000012,
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 13, "label": "Child Company"},
                {"category": "HUBSPOT_DEFINED", "typeId": 14, "label": "Parent Company"},
            ],
        }
    ]
    own = (await api.get("/crm/v4/objects/companies/2000022/associations/companies")).json()["results"]
    assert any(r["toObjectId"] == 2000022 for r in own)


async def test_v4_batch_read_answers_207_with_no_associations_found_errors(api: httpx.AsyncClient) -> None:
    body = {"inputs": [{"id": "1000001"}, {"id": "1000007"}]}  # 1000007 has no company (1 in 15)
    response = await api.post("/crm/v4/associations/contacts/companies/batch/read", json=body)
    assert response.status_code == 207
    payload = response.json()
    assert [r["from"]["id"] for r in payload["results"]] == ["1000001"]
    assert payload["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert payload["errors"][0]["context"] == {"fromObjectId": ["1000007"]}


async def test_v4_batch_read_of_more_than_1000_inputs_or_none_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    many = {"inputs": [{"id": str(1_000_001 + i)} for i in range(1001)]}
    path = "/crm/v4/associations/contacts/companies/batch/read"
    assert (await api.post(path, json=many)).status_code == 400
    assert (await api.post(path, json={"inputs": "1000001"})).status_code == 400


async def test_the_schema_of_a_standard_type_is_not_found(api: httpx.AsyncClient) -> None:
    assert (await api.get("/crm/v3/schemas/contacts")).status_code == 404
    assert (await api.get("/crm/v3/schemas/widgets")).status_code == 400


async def test_spouse_links_associate_two_contacts_with_user_defined_labels(api: httpx.AsyncClient) -> None:
    results = (await api.get(f"/crm/v4/objects/{CUSTOM_TYPE_ID}/9000001/associations/contacts")).json()["results"]
    labels = sorted(t["label"] for r in results for t in r["associationTypes"] if t["label"])
    assert len(results) == 2 and labels == ["Client", "Spouse"]
    assert {t["category"] for r in results for t in r["associationTypes"]} == {"USER_DEFINED"}


async def test_engagements_associate_with_their_contact(api: httpx.AsyncClient) -> None:
    results = (await api.get("/crm/v4/objects/notes/7000001/associations/contacts")).json()["results"]
    assert [t["typeId"] for t in results[0]["associationTypes"]] == [202]


async def test_v4_listing_pages_with_limit_and_after(api: httpx.AsyncClient) -> None:
    inputs = [{"id": str(2_000_001 + i)} for i in range(60)]
    batch = (await api.post("/crm/v4/associations/companies/contacts/batch/read", json={"inputs": inputs})).json()
    busy = next(r["from"]["id"] for r in batch["results"] if len(r["to"]) >= 3)
    path = f"/crm/v4/objects/companies/{busy}/associations/contacts"
    every = (await api.get(path)).json()["results"]
    first = (await api.get(path, params={"limit": 1})).json()
    rest = (await api.get(path, params={"after": first["paging"]["next"]["after"]})).json()
    assert first["results"] + rest["results"] == every and "paging" not in rest
    assert (await api.get(path, params={"limit": 501})).status_code == 400


# -- files and flows ----------------------------------------------------------------------------
async def test_file_metadata_points_at_bytes_streamed_with_their_declared_size(api: httpx.AsyncClient) -> None:
    meta = (await api.get("/files/v3/files/11000002")).json()
    assert {"id", "name", "extension", "type", "size", "url", "createdAt", "updatedAt", "archived"} <= set(meta)
    content = await api.get(meta["url"], headers={})
    assert content.status_code == 200 and int(content.headers["Content-Length"]) == meta["size"]
    assert hashlib.sha256(content.content).digest() == hashlib.sha256(b"".join(chunks(11000002, meta["size"]))).digest()


async def test_a_file_over_25_mib_is_streamed_not_stored(api: httpx.AsyncClient, state_path: Path) -> None:
    meta = (await api.get("/files/v3/files/11000008")).json()
    assert meta["size"] > 25 * MIB
    async with api.stream("GET", meta["url"]) as response:
        assert int(response.headers["Content-Length"]) == meta["size"]
        first = await response.aiter_bytes(64 * 1024).__anext__()
    assert len(first) == 64 * 1024
    assert state_path.stat().st_size < 10 * MIB


async def test_an_unknown_file_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/files/v3/files/11090009")
    assert response.status_code == 404 and response.json()["category"] == "OBJECT_NOT_FOUND"


async def test_files_search_pages_through_every_file(api: httpx.AsyncClient) -> None:
    ids, after = [], None
    while True:
        body = (
            await api.get("/files/v3/files/search", params={"limit": 7, **({"after": after} if after else {})})
        ).json()
        ids += [f["id"] for f in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    assert len(ids) == len(set(ids)) == 30


async def test_flows_list_summaries_and_serve_definitions_read_only(api: httpx.AsyncClient) -> None:
    flows = (await api.get("/automation/v4/flows")).json()["results"]
    assert len(flows) == 4 and {f["isEnabled"] for f in flows} == {True, False}
    assert "actions" not in flows[0]
    flow = (await api.get(f"/automation/v4/flows/{flows[0]['id']}")).json()
    assert flow["actions"] and "enrollmentCriteria" in flow
    assert (await api.post("/automation/v4/flows", json={"name": "x"})).status_code == 405
