"""Freshsales sandbox seeding hooks: reset, users from people, the admin's field plan, snapshots."""

from __future__ import annotations

import pytest

from migration_assets.connectors.freshsales.system import SYSTEM
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.store import SANDBOX_API_KEY, open_state
from migration_assets.sandbox.freshsales.testing import HOST, api, auth, sandbox_client
from migration_assets.sandbox.freshsales.users import create_user
from migration_assets.systems import Person, system

PLAN = [
    {
        "kind": "field",
        "entity": "deals",
        "label": "Matter Stage",
        "name": "cf_matter_stage",
        "type": "dropdown",
        "choices": ["Active", "Closed"],
    },
    {"kind": "field", "table": "contact", "label": "Source System ID", "type": "text", "unique": True},
    {"kind": "pipeline", "name": "Matters", "stages": ["Intake", "Active", "Closed"]},
]


def test_declaration_points_at_this_sandbox():
    declared = system("freshsales", "destination")
    assert declared.name == SYSTEM.name == "freshsales"
    assert declared.env.names() == {"base_url": "FRESHSALES_BASE_URL", "api_key": "FRESHSALES_API_KEY"}
    assert declared.sandbox.credentials == {"api_key": SANDBOX_API_KEY} and declared.sandbox.host == HOST
    assert declared.seeding() is seed and declared.catalog_path().is_file()
    assert declared.connector_class().__name__ == "FreshsalesDestination"


async def test_seed_users_creates_owners_with_email_display_name_and_active_flag(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    people = [Person("ada@firm.example", "Ada", "Ng"), Person("bo@firm.example", "Bo", "Li", active=False)]
    ids = seed.seed_users(path, people)
    async with sandbox_client(path) as client:
        owners = (await client.get(api("selector/owners"))).json()["users"]
    by_id = {str(o["id"]): o for o in owners}
    assert [by_id[i]["email"] for i in ids] == ["ada@firm.example", "bo@firm.example"]
    assert [by_id[i]["display_name"] for i in ids] == ["Ada Ng", "Bo Li"]
    assert [by_id[i]["is_active"] for i in ids] == [True, False]


async def test_field_plan_creates_fields_and_pipelines_and_is_idempotent(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    done = seed.apply_field_plan(path, PLAN)
    assert "deals.cf_matter_stage: dropdown field 'Matter Stage'" in done and "pipeline 'Matters'" in done
    assert seed.apply_field_plan(path, PLAN) == []
    more = seed.apply_field_plan(path, {"to_create": [{**PLAN[0], "choices": ["Active", "On-Hold"]}]})
    assert more == ["deals.cf_matter_stage: choice 'On-Hold'"]
    async with sandbox_client(path) as client:
        fields = {f["name"]: f for f in (await client.get(api("settings/contacts/fields"))).json()["fields"]}
        pipelines = (await client.get(api("selector/deal_pipelines"))).json()["deal_pipelines"]
    assert fields["cf_source_system_id"]["unique"] is True
    assert [s["name"] for s in pipelines[1]["deal_stages"]] == ["Intake", "Active", "Closed"]


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"kind": "field", "entity": "deals", "label": "Matter Stage", "name": "cf_stage", "type": "text"}, "creates"),
        ({"kind": "field", "entity": "tasks", "label": "X", "type": "text"}, "custom fields"),
        ({"kind": "field", "entity": "deals", "label": "X", "type": "lookup"}, "unknown custom field type"),
        ({"kind": "field", "entity": "deals", "label": "X", "type": "dropdown"}, "needs choices"),
        ({"kind": "views", "entity": "deals"}, "unknown plan item kind"),
    ],
)
def test_field_plan_refuses_what_an_admin_could_not_do(tmp_path, item, problem):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    with pytest.raises(ValueError, match=problem):
        seed.apply_field_plan(path, [item])


def test_marking_a_field_unique_fails_when_values_repeat(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    seed.apply_field_plan(path, [{"kind": "field", "entity": "contacts", "label": "Legacy", "type": "text"}])
    seed.insert_records(path, "contacts", [{"last_name": n, "custom_field": {"cf_legacy": "L-1"}} for n in "AB"])
    with pytest.raises(ValueError, match="several records share"):
        seed.apply_field_plan(path, [{"kind": "unique", "entity": "contacts", "name": "cf_legacy"}])


async def test_admin_route_applies_a_plan_and_refuses_other_users(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    with open_state(path).connect() as conn:
        create_user(conn, "user@firm.example", "Plain", "User", api_key="plain-key")
    async with sandbox_client(path) as client:
        refused = await client.post(api("sandbox/field_plan"), json=PLAN, headers=auth("plain-key"))
        applied = await client.post(api("sandbox/field_plan"), json={"to_create": PLAN})
        bad = await client.post(api("sandbox/field_plan"), json=[{"kind": "nope"}])
    assert refused.status_code == 403
    assert refused.json() == {"errors": {"code": 403, "message": ["You are not authorised to perform this operation."]}}
    assert applied.status_code == 200 and "pipeline 'Matters'" in applied.json()["applied"]
    assert bad.status_code == 400


async def test_reset_empties_the_account_and_snapshot_lists_records(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    seed.insert_records(path, "sales_accounts", [{"name": "Acme"}])
    assert [a["name"] for a in seed.snapshot(path)["sales_accounts"]] == ["Acme"]
    assert "updated_at" not in seed.snapshot(path)["sales_accounts"][0]
    seed.reset(path)
    assert seed.snapshot(path)["sales_accounts"] == []
    async with sandbox_client(path) as client:
        assert (await client.get(api("selector/owners"))).status_code == 200  # the API user is back
