"""Dataverse emulator: seeding helpers used by `migrate sandbox seed/reset`."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.dataverse import seed
from migration_assets.sandbox.dataverse.core import ODataError
from migration_assets.sandbox.dataverse.testing import sandbox_client
from migration_assets.systems import Person, system


def test_seeded_records_are_visible_through_the_api(tmp_path):
    state = tmp_path / "dv.sqlite"
    seed.reset(state)
    [account] = seed.seed_records(state, "account", [{"name": "Existing", "accountnumber": "A-1"}])
    before = seed.snapshot(state)
    assert [r["name"] for r in before["account"]] == ["Existing"]
    assert before["account"][0]["accountid"] == account


async def test_snapshot_ignores_volatile_columns_after_restore(tmp_path):
    state = tmp_path / "dv.sqlite"
    [account] = seed.seed_records(state, "accounts", [{"name": "Existing"}])
    before = seed.snapshot(state)
    async with sandbox_client(state) as dv:
        await dv.patch(f"accounts({account})", json={"name": "Changed"})
        await dv.patch(f"accounts({account})", json={"name": "Existing"})
    assert seed.snapshot(state) == before


def test_seed_users_returns_ids_and_users_can_own_records(tmp_path):
    state = tmp_path / "dv.sqlite"
    [user] = seed.seed_users(
        state,
        [
            {
                "internalemailaddress": "a@x.com",
                "firstname": "A",
                "lastname": "B",
                "isdisabled": False,
                "domainname": "a@x.com",
            }
        ],
    )
    seed.seed_records(state, "account", [{"name": "Owned", "ownerid@odata.bind": f"/systemusers({user})"}])
    users = {u["systemuserid"]: u for u in seed.snapshot(state)["systemuser"]}
    assert users[user]["fullname"] == "A B"


def test_invalid_seed_row_writes_nothing(tmp_path):
    state = tmp_path / "dv.sqlite"
    with pytest.raises(ODataError):
        seed.seed_records(state, "account", [{"name": "ok"}, {"bogus": 1}])
    assert "account" not in seed.snapshot(state)


async def test_reset_wipes_records_custom_tables_and_sets_options(tmp_path):
    state = tmp_path / "dv.sqlite"
    async with sandbox_client(state) as dv:
        await dv.post("accounts", json={"name": "A"})
        seed.reset(state, tier="professional")
        environment = (await dv.get("sandbox/environment")).json()
        accounts = (await dv.get("accounts/$count")).text
    assert accounts == "0" and environment["tier"] == "professional"


async def test_two_apps_over_one_file_share_records_and_metadata(tmp_path):
    state = tmp_path / "dv.sqlite"
    table = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "cs_Matter",
        "DisplayName": {"LocalizedLabels": [{"Label": "Matter", "LanguageCode": 1033}]},
        "DisplayCollectionName": {"LocalizedLabels": [{"Label": "Matters", "LanguageCode": 1033}]},
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "cs_Name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "DisplayName": {"LocalizedLabels": [{"Label": "Name", "LanguageCode": 1033}]},
            }
        ],
    }
    async with sandbox_client(state) as first, sandbox_client(state) as second:
        assert (await second.get("cs_matters")).status_code == 404
        assert (await first.post("EntityDefinitions", json=table)).status_code == 204
        assert (await second.post("cs_matters", json={"cs_name": "M"})).status_code == 204
        assert (await first.get("cs_matters/$count")).text == "1"
        seed.reset(state)
        assert (await first.get("cs_matters")).status_code == 404


def test_seed_users_shapes_generic_people_as_system_users(tmp_path):
    state = tmp_path / "dv.sqlite"
    people = [
        Person("Ana.Silva@firm.example", "Ana", "Silva"),
        Person("gone@firm.example", "Old", "Timer", active=False),
    ]
    ids = seed.seed_users(state, people)
    users = {u["systemuserid"]: u for u in seed.snapshot(state)["systemuser"]}
    assert users[ids[0]]["internalemailaddress"] == "Ana.Silva@firm.example"
    assert users[ids[0]]["domainname"] == "Ana.Silva@firm.example" and users[ids[0]]["fullname"] == "Ana Silva"
    assert users[ids[1]]["isdisabled"] is True


def test_the_system_declaration_points_at_this_sandbox_and_its_hooks(tmp_path):
    declared = system("dynamics365")
    assert declared.role == "destination" and declared.catalog_path().exists()
    hooks = declared.seeding()
    assert hooks.reset is seed.reset and hooks.seed_users is seed.seed_users
    assert declared.create_app(tmp_path) is not None
    assert declared.state_path(tmp_path) == tmp_path / "dynamics365.sqlite"
