"""Dataverse emulator: CreateMultiple / UpsertMultiple / UpdateMultiple (checklist 15)."""

from __future__ import annotations

import pytest

ACCOUNT = "Microsoft.Dynamics.CRM.account"


def label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


@pytest.fixture
async def dv(dv):
    """The emulator with an alternate key on the account number."""
    body = {"SchemaName": "cs_accountnumber_key", "DisplayName": label("k"), "KeyAttributes": ["accountnumber"]}
    await dv.post("EntityDefinitions(LogicalName='account')/Keys", json=body)
    return dv


async def test_create_multiple_returns_ids(dv):
    targets = [{"@odata.type": ACCOUNT, "name": "A"}, {"@odata.type": ACCOUNT, "name": "B"}]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 200 and len(response.json()["Ids"]) == 2


async def test_upsert_multiple_creates_and_updates_by_key(dv):
    await dv.post("accounts", json={"name": "Old", "accountnumber": "A-1"})
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='A-1')", "name": "Updated"},
        {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='A-2')", "name": "New"},
    ]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert response.status_code == 204
    rows = (await dv.get("accounts", params={"$select": "name,accountnumber", "$orderby": "accountnumber"})).json()[
        "value"
    ]
    assert [(r["accountnumber"], r["name"]) for r in rows] == [("A-1", "Updated"), ("A-2", "New")]


async def test_a_key_in_odata_id_is_read_as_a_url_percent_encoding_and_all(dv):
    await dv.post("accounts", json={"name": "Old", "accountnumber": "Acme & Sons 1"})
    target = {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='Acme%20%26%20Sons%201')", "name": "New"}
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": [target]})
    assert response.status_code == 204
    rows = (await dv.get("accounts", params={"$select": "name,accountnumber"})).json()["value"]
    assert [(r["accountnumber"], r["name"]) for r in rows] == [("Acme & Sons 1", "New")]


async def test_every_target_needs_odata_type(dv):
    targets = [{"@odata.type": ACCOUNT, "name": "A"}, {"name": "B"}]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert (await dv.get("accounts/$count")).text == "0"


async def test_targets_must_all_be_the_bound_table(dv):
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.contact", "lastname": "x"}]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 400


async def test_bulk_is_all_or_nothing(dv):
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='A-1')", "name": "ok"},
        {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='A-2')", "name": "x" * 500},
    ]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert (await dv.get("accounts/$count")).text == "0"


async def test_update_multiple_refuses_missing_records(dv):
    targets = [{"@odata.type": ACCOUNT, "accountid": "00000000-0000-0000-0000-000000000001", "name": "x"}]
    response = await dv.post("accounts/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets})
    assert response.status_code == 404


async def test_bulk_messages_are_not_bound_to_systemusers(dv):
    response = await dv.post("systemusers/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": []})
    assert response.status_code == 404
