"""Dataverse emulator: alternate keys, key-addressed upserts and key uniqueness (checklist 10)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from migration_assets.sandbox.dataverse.testing import record_id, sandbox_client

REPRESENT = {"Prefer": "return=representation"}


def label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


async def add_key(dv, table: str, schema: str, columns: list[str]) -> None:
    body = {"SchemaName": schema, "DisplayName": label(schema), "KeyAttributes": columns}
    response = await dv.post(f"EntityDefinitions(LogicalName='{table}')/Keys", json=body)
    assert response.status_code == 204, response.text


@pytest.fixture
async def dv(dv):
    """The emulator with an alternate key on the account number."""
    await add_key(dv, "account", "cs_accountnumber_key", ["accountnumber"])
    return dv


async def test_key_is_listed_active(dv):
    keys = (await dv.get("EntityDefinitions(LogicalName='account')/Keys")).json()["value"]
    assert keys[0]["KeyAttributes"] == ["accountnumber"] and keys[0]["EntityKeyIndexStatus"] == "Active"


async def test_upsert_by_key_creates_then_updates_without_duplicates(dv):
    first = await dv.patch("accounts(accountnumber='A-1')", json={"name": "One"}, headers=REPRESENT)
    second = await dv.patch("accounts(accountnumber='A-1')", json={"name": "Two"}, headers=REPRESENT)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["accountid"] == second.json()["accountid"]
    assert first.json()["accountnumber"] == "A-1"
    assert (await dv.get("accounts/$count")).text == "1"


async def test_ids_the_platform_assigns_are_sequential_guids(dv):
    # created one after another, by a create or an upsert by key: each id sorts after the one before
    ids = []
    for n in range(4):
        if n % 2:
            response = await dv.patch(f"accounts(accountnumber='A-{n}')", json={"name": "x"}, headers=REPRESENT)
            ids.append(response.json()["accountid"])
        else:
            ids.append(record_id(await dv.post("accounts", json={"name": "x"})))
        await asyncio.sleep(0.002)  # the ids order by millisecond
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert all(uuid.UUID(i).variant == uuid.RFC_4122 and uuid.UUID(i).version == 7 for i in ids)


async def test_duplicate_key_on_create_is_412(dv):
    await dv.post("accounts", json={"name": "A", "accountnumber": "A-1"})
    response = await dv.post("accounts", json={"name": "B", "accountnumber": "A-1"})
    assert response.status_code == 412
    assert response.json()["error"] == {
        "code": "0x80040237",
        "message": "A record with matching key values already exists.",
    }


async def test_duplicate_key_on_update_is_412(dv):
    await dv.post("accounts", json={"name": "A", "accountnumber": "A-1"})
    other = record_id(await dv.post("accounts", json={"name": "B", "accountnumber": "B-1"}))
    response = await dv.patch(f"accounts({other})", json={"accountnumber": "A-1"})
    assert response.status_code == 412


async def test_key_values_compare_case_insensitively(dv):
    await dv.post("accounts", json={"name": "A", "accountnumber": "abc"})
    assert (await dv.post("accounts", json={"name": "B", "accountnumber": "ABC"})).status_code == 412


async def test_upsert_by_column_that_is_not_a_key_is_rejected(dv):
    response = await dv.patch("accounts(name='Acme')", json={"telephone1": "1"})
    assert response.status_code == 400


async def test_key_column_in_body_must_match_url(dv):
    same = await dv.patch("accounts(accountnumber='A-1')", json={"name": "x", "accountnumber": "A-1"})
    different = await dv.patch("accounts(accountnumber='A-2')", json={"name": "x", "accountnumber": "A-3"})
    assert same.status_code == 204 and different.status_code == 400


async def test_quotes_in_key_values_are_doubled(dv):
    response = await dv.patch("accounts(accountnumber='O''Brien')", json={"name": "x"}, headers=REPRESENT)
    assert response.json()["accountnumber"] == "O'Brien"


async def test_bind_by_alternate_key(dv):
    await dv.patch("accounts(accountnumber='A-1')", json={"name": "x"})
    ok = await dv.post(
        "contacts", json={"lastname": "Ng", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='A-1')"}
    )
    missing = await dv.post(
        "contacts", json={"lastname": "Ng", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='Z')"}
    )
    assert ok.status_code == 204
    assert missing.status_code == 404
    assert (
        "A record with the specified key values does not exist in account entity" in missing.json()["error"]["message"]
    )


async def test_a_bind_is_a_url_its_key_percent_encoded(dv):
    await dv.patch("accounts(accountnumber='Acme%20%26%20Sons')", json={"name": "x"})
    bound = await dv.post(
        "contacts",
        json={"lastname": "Ng", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='Acme%20%26%20Sons')"},
    )
    assert bound.status_code == 204


async def test_composite_key_upsert(dv):
    await add_key(dv, "contact", "cs_name_key", ["firstname", "lastname"])
    first = await dv.patch("contacts(firstname='Ada',lastname='Ng')", json={"jobtitle": "a"}, headers=REPRESENT)
    second = await dv.patch("contacts(lastname='Ng',firstname='Ada')", json={"jobtitle": "b"}, headers=REPRESENT)
    assert first.status_code == 201 and second.status_code == 200


async def test_key_is_pending_until_activation_delay_passes(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", key_activation_seconds=3600) as dv:
        await add_key(dv, "account", "cs_accountnumber_key", ["accountnumber"])
        keys = (await dv.get("EntityDefinitions(LogicalName='account')/Keys")).json()["value"]
        response = await dv.patch("accounts(accountnumber='A-1')", json={"name": "x"})
    assert keys[0]["EntityKeyIndexStatus"] == "Pending"
    assert response.status_code == 400 and "not active" in response.json()["error"]["message"]


async def test_key_over_existing_duplicates_fails(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite") as dv:
        for name in ("a", "b"):
            await dv.post("accounts", json={"name": name, "telephone1": "same"})
        await add_key(dv, "account", "cs_phone_key", ["telephone1"])
        keys = (await dv.get("EntityDefinitions(LogicalName='account')/Keys")).json()["value"]
    assert keys[0]["EntityKeyIndexStatus"] == "Failed"


async def test_duplicate_key_definition_is_rejected(dv):
    body = {"SchemaName": "cs_accountnumber_key", "DisplayName": label("k"), "KeyAttributes": ["accountnumber"]}
    assert (await dv.post("EntityDefinitions(LogicalName='account')/Keys", json=body)).status_code == 400
