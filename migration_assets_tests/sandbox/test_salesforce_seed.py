"""Salesforce emulator admin functions: reset, seeding users and records, snapshots, shared state."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client


def test_seed_users_returns_ids_of_active_users(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    ids = seed.seed_user_rows(
        path,
        [
            {
                "Username": "ann@firm.example",
                "Email": "ann@firm.example",
                "FirstName": "Ann",
                "LastName": "Lee",
                "IsActive": True,
            }
        ],
    )
    users = {u["Username"]: u for u in seed.snapshot(path)["User"]}
    assert ids[0].startswith("005")
    assert users["ann@firm.example"]["Name"] == "Ann Lee"


def test_seed_records_validates_like_the_api(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    with pytest.raises(SfError) as err:
        seed.seed_records(path, "Contact", [{"FirstName": "No last name"}])
    assert err.value.code == "REQUIRED_FIELD_MISSING"


def test_snapshot_is_sorted_and_without_volatile_fields(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    seed.seed_records(path, "Account", [{"Name": "B"}, {"Name": "A"}])
    accounts = seed.snapshot(path)["Account"]
    assert [a["Name"] for a in accounts] == ["B", "A"]  # by Id, i.e. creation order
    assert "LastModifiedDate" not in accounts[0] and "SystemModstamp" not in accounts[0]


async def test_snapshot_after_undoing_changes_equals_the_original(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    [account_id] = seed.seed_records(path, "Account", [{"Name": "Acme", "Phone": "1"}])
    before = seed.snapshot(path)
    async with sandbox_client(path) as client:
        created = await client.post(data_url("sobjects/Contact"), json={"LastName": "Ng", "AccountId": account_id})
        await client.patch(data_url(f"sobjects/Account/{account_id}"), json={"Phone": "2"})
        await client.delete(data_url(f"sobjects/Contact/{created.json()['id']}"))
        await client.patch(data_url(f"sobjects/Account/{account_id}"), json={"Phone": "1"})
    assert seed.snapshot(path) == before


async def test_two_apps_on_one_file_share_records(tmp_path):
    path = tmp_path / "sf.sqlite"
    async with sandbox_client(path) as first, sandbox_client(path) as second:
        created = await first.post(data_url("sobjects/Account"), json={"Name": "Acme"})
        read = await second.get(data_url(f"sobjects/Account/{created.json()['id']}"))
    assert read.json()["Name"] == "Acme"


def test_reset_empties_records_and_custom_schema(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    seed.seed_records(path, "Account", [{"Name": "Acme"}])
    seed.reset(path)
    assert "Account" not in seed.snapshot(path)
