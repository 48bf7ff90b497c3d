"""Salesforce emulator: Tooling deletes of custom fields and objects are strict (standard fields and
objects have no Tooling id; an object a lookup points at waits for that lookup) and take the data."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client
from migration_assets_tests.sandbox.test_salesforce_tooling import CASE_EXT, TIME_ENTRY, tooling

ACCOUNT_LOOKUP = {
    "FullName": "Account.Time_Entry__c",
    "Metadata": {"label": "Time Entry", "type": "Lookup", "referenceTo": "Time_Entry__c", "relationshipName": "Te__r"},
}


@pytest.fixture
async def client(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        yield client


async def _tooling_ids(client, sobject: str) -> dict[str, str]:
    q = quote(f"SELECT Id, FullName FROM {sobject}")
    body = (await client.get(data_url(f"tooling/query?q={q}"))).json()
    return {r["FullName"]: r["Id"] for r in body["records"]}


async def test_standard_fields_and_objects_have_no_tooling_id_to_delete(client):
    fields = await _tooling_ids(client, "CustomField")
    objects = await _tooling_ids(client, "CustomObject")
    assert "Case.Subject" not in fields and "Account" not in objects
    response = await client.delete(data_url("tooling/sobjects/CustomField/00N000000000000AAA"))
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"
    response = await client.delete(data_url("tooling/sobjects/CustomObject/01I000000000000AAA"))
    assert response.status_code == 404
    describe = (await client.get(data_url("sobjects/Case/describe"))).json()
    assert "Subject" in {f["name"] for f in describe["fields"]}


async def test_a_deleted_custom_field_takes_its_data(client):
    created = await tooling(client, "CustomField", CASE_EXT)
    case = await client.post(data_url("sobjects/Case"), json={"Subject": "S", "Case_External_ID__c": "C-1"})
    assert case.status_code == 201
    assert (await client.delete(data_url(f"tooling/sobjects/CustomField/{created['id']}"))).status_code == 204
    describe = (await client.get(data_url("sobjects/Case/describe"))).json()
    assert "Case_External_ID__c" not in {f["name"] for f in describe["fields"]}
    record = (await client.get(data_url(f"sobjects/Case/{case.json()['id']}"))).json()
    assert "Case_External_ID__c" not in record
    assert (await client.delete(data_url(f"tooling/sobjects/CustomField/{created['id']}"))).status_code == 404


async def test_a_custom_object_waits_for_the_lookups_to_it_then_goes_with_its_records(client):
    created = await tooling(client, "CustomObject", TIME_ENTRY)
    assert (await client.post(data_url("sobjects/Time_Entry__c"), json={"Name": "T-1"})).status_code == 201
    lookup = await tooling(client, "CustomField", ACCOUNT_LOOKUP)
    refused = await client.delete(data_url(f"tooling/sobjects/CustomObject/{created['id']}"))
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "DELETE_FAILED"
    assert (await client.delete(data_url(f"tooling/sobjects/CustomField/{lookup['id']}"))).status_code == 204
    assert (await client.delete(data_url(f"tooling/sobjects/CustomObject/{created['id']}"))).status_code == 204
    assert (await client.get(data_url("sobjects/Time_Entry__c/describe"))).status_code == 404
    again = await tooling(client, "CustomObject", TIME_ENTRY)
    rows = (await client.get(data_url(f"query?q={quote('SELECT Id FROM Time_Entry__c')}"))).json()
    assert again["id"] and rows["totalSize"] == 0
