"""Freshsales emulator: record shapes, upserts, deletes, views with paging, lists and filtered search."""

from __future__ import annotations

import re
import sqlite3

import pytest

from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.store import FIND_SQL, open_state, page_query
from migration_assets.sandbox.freshsales.testing import api
from migration_assets_tests.sandbox.freshsales_calls import planned_sandbox

KEY = {"kind": "field", "label": "Source System ID", "type": "text", "unique": True}
OFFSET_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-04:00$")


@pytest.fixture
async def client(tmp_path):
    plan = [{**KEY, "entity": e} for e in ("contacts", "sales_accounts", "deals")]
    async with planned_sandbox(tmp_path / "fs.sqlite", plan) as client:
        yield client


async def post(client, entity: str, singular: str, values: dict, status: int = 201) -> dict:
    response = await client.post(api(entity), json={singular: values})
    assert response.status_code == status, response.json()
    return response.json()[singular]


async def test_created_contact_has_large_id_offset_timestamps_and_every_custom_field(client):
    created = await post(client, "contacts", "contact", {"first_name": "Ada", "last_name": "Ng", "emails": "ada@x.com"})
    assert isinstance(created["id"], int) and created["id"] > 70_000_000_000
    assert OFFSET_TIME.match(created["created_at"]) and OFFSET_TIME.match(created["updated_at"])
    assert created["display_name"] == "Ada Ng" and created["email"] == "ada@x.com"
    assert created["emails"][0]["value"] == "ada@x.com" and created["emails"][0]["is_primary"] is True
    assert created["custom_field"] == {"cf_source_system_id": None}
    assert created["mobile_number"] is None  # unset standard fields are listed


async def test_datetime_custom_values_come_back_in_the_account_offset(client):
    seed.apply_field_plan(client.path, [{"kind": "field", "entity": "contacts", "label": "Opened", "type": "datetime"}])
    created = await post(
        client, "contacts", "contact", {"last_name": "Ng", "custom_field": {"cf_opened": "2024-03-01T12:00:00Z"}}
    )
    assert created["custom_field"]["cf_opened"] == "2024-03-01T08:00:00-04:00"


async def test_note_create_answers_200_and_task_create_201(client):
    person = await post(client, "contacts", "contact", {"last_name": "Ng"})
    target = {"targetable_type": "Contact", "targetable_id": person["id"]}
    await post(client, "notes", "note", {"description": "met", **target}, status=200)
    owner = (await client.get(api("selector/owners"))).json()["users"][0]["id"]
    task = await post(
        client, "tasks", "task", {"title": "Call", "due_date": "2024-01-01T10:00:00Z", "owner_id": owner, **target}
    )
    assert task["status"] == 0


async def test_include_sales_accounts_side_loads_the_contact_accounts(client):
    account = await post(client, "sales_accounts", "sales_account", {"name": "Acme"})
    person = await post(client, "contacts", "contact", {"last_name": "Ng", "sales_accounts": [{"id": account["id"]}]})
    assert "sales_accounts" not in person
    full = (await client.get(api(f"contacts/{person['id']}?include=sales_accounts"))).json()["contact"]
    assert full["sales_accounts"] == [{"id": account["id"], "name": "Acme", "is_primary": True, "partial": True}]


async def test_update_changes_only_what_is_sent(client):
    account = await post(client, "sales_accounts", "sales_account", {"name": "Acme", "city": "Austin"})
    response = await client.put(api(f"sales_accounts/{account['id']}"), json={"sales_account": {"phone": "555"}})
    assert response.status_code == 200
    assert response.json()["sales_account"]["city"] == "Austin" and response.json()["sales_account"]["phone"] == "555"


@pytest.mark.parametrize(
    ("entity", "singular", "identifier", "values"),
    [
        ("contacts", "contact", {"emails": "ada@x.com"}, {"last_name": "Ng"}),
        ("sales_accounts", "sales_account", {"name": "Acme"}, {"city": "Austin"}),
        ("deals", "deal", {"custom_field": {"cf_source_system_id": "M-1"}}, {"name": "Matter", "amount": 10}),
    ],
)
async def test_upsert_creates_with_201_then_updates_with_200(client, entity, singular, identifier, values):
    body = {"unique_identifier": identifier, singular: values}
    first = await client.post(api(f"{entity}/upsert"), json=body)
    second = await client.post(api(f"{entity}/upsert"), json={**body, singular: {**values, "owner_id": None}})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()[singular]["id"] == second.json()[singular]["id"]
    meta = (await client.get(api(f"{entity}/view/{_all_view(entity)}"))).json()["meta"]
    assert meta["total"] == 1


def _all_view(entity: str) -> int:
    return {"contacts": 70_000_000_201, "sales_accounts": 70_000_000_203, "deals": 70_000_000_205}[entity]


async def test_upsert_by_custom_key_sets_the_key_on_the_new_record(client):
    body = {"unique_identifier": {"custom_field": {"cf_source_system_id": "C-9"}}, "contact": {"last_name": "Ng"}}
    created = (await client.post(api("contacts/upsert"), json=body)).json()["contact"]
    assert created["custom_field"]["cf_source_system_id"] == "C-9"


async def test_delete_answers_204_then_404_and_unlinks_the_contact_from_deals(client):
    person = await post(client, "contacts", "contact", {"last_name": "Ng"})
    deal = await post(client, "deals", "deal", {"name": "M", "amount": 1, "contact_ids": [person["id"]]})
    assert deal["contact_ids"] == [person["id"]]
    assert (await client.delete(api(f"contacts/{person['id']}"))).status_code == 204
    assert (await client.delete(api(f"contacts/{person['id']}"))).status_code == 404
    assert (await client.get(api(f"deals/{deal['id']}"))).json()["deal"]["contact_ids"] == []


async def test_deleting_a_record_deletes_its_notes(client):
    person = await post(client, "contacts", "contact", {"last_name": "Ng"})
    note = await post(
        client, "notes", "note", {"description": "x", "targetable_type": "Contact", "targetable_id": person["id"]}, 200
    )
    await client.delete(api(f"contacts/{person['id']}"))
    assert (await client.get(api(f"notes/{note['id']}"))).status_code == 404


async def test_bulk_destroy_deletes_the_selected_ids_and_ignores_unknown_ones(client):
    ids = [(await post(client, "sales_accounts", "sales_account", {"name": f"F{i}"}))["id"] for i in range(3)]
    response = await client.post(api("sales_accounts/bulk_destroy"), json={"selected_ids": [*ids[:2], 123]})
    assert response.status_code == 200
    assert [(await client.get(api(f"sales_accounts/{i}"))).status_code for i in ids] == [404, 404, 200]
    assert (await client.post(api("sales_accounts/bulk_destroy"), json={"contact_ids": ids})).status_code == 400


async def test_views_page_with_meta_total_pages_and_total(client):
    views = (await client.get(api("contacts/filters"))).json()["filters"]
    assert [v["name"] for v in views] == ["All Contacts", "My Contacts"]
    for i in range(5):
        await post(client, "contacts", "contact", {"last_name": f"N{i}"})
    pages = [
        (await client.get(api(f"contacts/view/{views[0]['id']}?page={p}&per_page=2"))).json() for p in (1, 2, 3, 4)
    ]
    assert [p["meta"] for p in pages] == [{"total_pages": 3, "total": 5}] * 4
    assert [len(p["contacts"]) for p in pages] == [2, 2, 1, 0]
    names = [c["last_name"] for p in pages for c in p["contacts"]]
    assert names == ["N4", "N3", "N2", "N1", "N0"]  # newest first


async def test_view_sorted_by_updated_at_lists_the_last_written_first(client):
    ids = [(await post(client, "contacts", "contact", {"last_name": f"N{i}"}))["id"] for i in range(3)]
    await client.put(api(f"contacts/{ids[0]}"), json={"contact": {"job_title": "CEO"}})
    page = (await client.get(api("contacts/view/70000000201?sort=updated_at&sort_type=desc"))).json()
    assert [c["id"] for c in page["contacts"]] == [ids[0], ids[2], ids[1]]


async def test_my_view_lists_only_the_api_users_records(client):
    from migration_assets.systems import Person

    [other] = seed.seed_users(client.path, [Person("other@firm.example", "O", "Ther")])
    await post(client, "deals", "deal", {"name": "Mine", "amount": 1})
    await post(client, "deals", "deal", {"name": "Theirs", "amount": 1, "owner_id": int(other)})
    mine = (await client.get(api("deals/view/70000000206"))).json()
    assert [d["name"] for d in mine["deals"]] == ["Mine"] and mine["meta"]["total"] == 1


async def test_task_and_appointment_lists_follow_their_filters(client):
    person = await post(client, "contacts", "contact", {"last_name": "Ng"})
    owner = (await client.get(api("selector/owners"))).json()["users"][0]["id"]
    target = {"targetable_type": "Contact", "targetable_id": person["id"], "owner_id": owner}
    await post(client, "tasks", "task", {"title": "A", "due_date": "2024-01-01T10:00:00Z", **target})
    await post(client, "tasks", "task", {"title": "B", "due_date": "2024-01-01T10:00:00Z", "status": 1, **target})
    past = {"title": "Then", "from_date": "2001-01-01T10:00:00Z", "end_date": "2001-01-01T11:00:00Z"}
    await post(client, "appointments", "appointment", past)
    await post(client, "appointments", "appointment", {**past, "title": "Later", "end_date": "2999-01-01T11:00:00Z"})
    open_tasks = (await client.get(api("tasks?filter=open"))).json()
    assert [t["title"] for t in open_tasks["tasks"]] == ["A"] and open_tasks["meta"]["total"] == 1
    assert [t["title"] for t in (await client.get(api("tasks?filter=completed"))).json()["tasks"]] == ["B"]
    assert [a["title"] for a in (await client.get(api("appointments?filter=past"))).json()["appointments"]] == ["Then"]
    upcoming = (await client.get(api("appointments?filter=upcoming"))).json()["appointments"]
    assert [a["title"] for a in upcoming] == ["Later"]


async def test_filtered_search_matches_custom_fields_exactly_and_returns_thin_records(client):
    for key in ("C-1", "C-10", "C-2"):
        await post(
            client,
            "contacts",
            "contact",
            {"last_name": key, "emails": f"{key}@x.com", "custom_field": {"cf_source_system_id": key}},
        )
    rule = {"attribute": "cf_source_system_id", "operator": "is_in", "value": ["C-1", "C-2", "C-3"]}
    body = (await client.post(api("filtered_search/contact"), json={"filter_rule": [rule]})).json()
    assert sorted(c["display_name"] for c in body["contacts"]) == ["C-1", "C-2"]
    assert body["meta"]["total"] == 2
    assert all("custom_field" not in c for c in body["contacts"])
    by_email = {"attribute": "contact_email.email", "operator": "is_in", "value": "c-10@x.com"}
    found = (await client.post(api("filtered_search/contact"), json={"filter_rule": [by_email]})).json()
    assert [c["display_name"] for c in found["contacts"]] == ["C-10"]


async def test_is_not_empty_counts_records_carrying_a_key(client):
    await post(client, "deals", "deal", {"name": "A", "amount": 1, "custom_field": {"cf_source_system_id": "M-1"}})
    await post(client, "deals", "deal", {"name": "B", "amount": 1})
    rule = {"attribute": "cf_source_system_id", "operator": "is_not_empty"}
    body = (await client.post(api("filtered_search/deal"), json={"filter_rule": [rule], "per_page": 1})).json()
    assert body["meta"] == {"total_pages": 1, "total": 1}


async def test_a_record_is_found_by_its_custom_key_among_many_through_the_index(client):
    bodies = [{"last_name": f"N{i}", "custom_field": {"cf_source_system_id": f"C-{i}"}} for i in range(1500)]
    seed.insert_records(client.path, "contacts", bodies)
    rule = {"attribute": "cf_source_system_id", "operator": "is_in", "value": "C-1234"}
    body = (await client.post(api("filtered_search/contact"), json={"filter_rule": [rule]})).json()
    assert [c["display_name"] for c in body["contacts"]] == ["N1234"]
    upsert = {"unique_identifier": {"custom_field": {"cf_source_system_id": "c-1234"}}, "contact": {"job_title": "X"}}
    assert (await client.post(api("contacts/upsert"), json=upsert)).status_code == 200
    with open_state(client.path).connect() as conn:
        assert "USING INDEX record_keys_lookup" in _plan(conn, FIND_SQL, ["contacts", "cf_source_system_id", "c-1"])
        _, page_sql, params = page_query("contacts", [("cf_source_system_id", "in", ["c-1"])])
        plan = _plan(conn, page_sql, [*params, 100, 0])
    assert "record_keys_lookup" in plan and "SCAN r" not in plan


def _plan(conn: sqlite3.Connection, sql: str, params: list) -> str:
    return " | ".join(str(row[3]) for row in conn.execute("explain query plan " + sql, params))


async def test_field_settings_list_custom_fields_with_choices_and_unique_flag(client):
    seed.apply_field_plan(
        client.path,
        [
            {
                "kind": "field",
                "entity": "deals",
                "label": "Matter Stage",
                "type": "dropdown",
                "choices": ["Active", "Closed"],
            }
        ],
    )
    fields = {f["name"]: f for f in (await client.get(api("settings/deals/fields"))).json()["fields"]}
    assert fields["cf_matter_stage"]["type"] == "dropdown" and fields["cf_matter_stage"]["label"] == "Matter Stage"
    assert [c["value"] for c in fields["cf_matter_stage"]["choices"]] == ["Active", "Closed"]
    assert fields["cf_source_system_id"]["unique"] is True
    assert fields["name"]["required"] and fields["amount"]["required"]
    assert {c["value"] for c in fields["deal_stage_id"]["choices"]} >= {"New", "Won"}
    assert (await client.get(api("settings/tasks/fields"))).status_code == 404


async def test_selectors_serve_pipelines_with_stages_and_activity_types(client):
    pipelines = (await client.get(api("selector/deal_pipelines"))).json()["deal_pipelines"]
    assert pipelines[0]["is_default"] and pipelines[0]["deal_stages"][0]["name"] == "New"
    types = (await client.get(api("selector/sales_activity_types"))).json()["sales_activity_types"]
    assert {"Call", "Email", "Meeting"} <= {t["name"] for t in types}
    assert (await client.get(api("selector/task_statuses"))).status_code == 404
