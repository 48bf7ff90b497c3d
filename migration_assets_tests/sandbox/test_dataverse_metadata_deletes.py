"""Dataverse emulator: metadata deletes are strict (only custom components, keys before their
columns, a lookup with its relationship) and deleting a table deletes its records."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.dataverse.testing import sandbox_client
from migration_assets_tests.sandbox.test_dataverse_metadata import column_body, label, table_body

ACCOUNT = "EntityDefinitions(LogicalName='account')"


@pytest.fixture
async def dv(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite") as client:
        yield client


async def _custom_column(dv, table: str = "account", schema: str = "cs_Code") -> None:
    body = column_body("String", schema, MaxLength=50)
    response = await dv.post(f"EntityDefinitions(LogicalName='{table}')/Attributes", json=body)
    assert response.status_code == 204


async def test_deleting_a_standard_column_is_refused(dv):
    response = await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='telephone1')")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80048405"
    assert "system attribute" in response.json()["error"]["message"]
    columns = (await dv.get(f"{ACCOUNT}/Attributes", params={"$select": "LogicalName"})).json()["value"]
    assert "telephone1" in {c["LogicalName"] for c in columns}


async def test_deleting_a_standard_table_is_refused(dv):
    response = await dv.delete(ACCOUNT)
    assert response.status_code == 400 and "system entity" in response.json()["error"]["message"]
    assert (await dv.get(ACCOUNT)).status_code == 200


async def test_a_custom_column_is_deleted_with_its_values(dv):
    await _custom_column(dv)
    created = await dv.post("accounts", json={"name": "A", "cs_code": "X-1"})
    assert created.status_code == 204
    assert (await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='cs_code')")).status_code == 204
    assert (await dv.get(f"{ACCOUNT}/Attributes(LogicalName='cs_code')")).status_code == 404
    assert (await dv.get("accounts", params={"$select": "cs_code"})).status_code == 400
    assert (await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='cs_code')")).status_code == 404


async def test_a_key_column_cannot_be_deleted_until_the_key_is(dv):
    await _custom_column(dv)
    key = {"SchemaName": "cs_CodeKey", "DisplayName": label("Code"), "KeyAttributes": ["cs_code"]}
    assert (await dv.post(f"{ACCOUNT}/Keys", json=key)).status_code == 204
    refused = await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='cs_code')")
    assert refused.status_code == 400 and "alternate key" in refused.json()["error"]["message"]
    assert (await dv.delete(f"{ACCOUNT}/Keys(LogicalName='cs_codekey')")).status_code == 204
    assert (await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='cs_code')")).status_code == 204


async def test_deleting_a_custom_table_deletes_its_records(dv):
    assert (await dv.post("EntityDefinitions", json=table_body("cs_Matter"))).status_code == 204
    assert (await dv.post("cs_matters", json={"cs_name": "M-1"})).status_code == 204
    assert (await dv.delete("EntityDefinitions(LogicalName='cs_matter')")).status_code == 204
    assert (await dv.get("cs_matters")).status_code == 404
    assert (await dv.get("EntityDefinitions(LogicalName='cs_matter')")).status_code == 404
    again = await dv.post("EntityDefinitions", json=table_body("cs_Matter"))
    assert again.status_code == 204
    assert (await dv.get("cs_matters")).json()["value"] == []


async def test_a_lookup_goes_with_its_relationship_and_its_target_waits_for_it(dv):
    assert (await dv.post("EntityDefinitions", json=table_body("cs_Matter"))).status_code == 204
    relationship = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "cs_matter_account_matter",
        "ReferencedEntity": "cs_matter",
        "ReferencedAttribute": "cs_matterid",
        "ReferencingEntity": "account",
        "Lookup": {
            "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "SchemaName": "cs_Matter",
            "DisplayName": label("Matter"),
        },
    }
    assert (await dv.post("RelationshipDefinitions", json=relationship)).status_code == 204
    assert (await dv.delete(f"{ACCOUNT}/Attributes(LogicalName='cs_matter')")).status_code == 400
    assert (await dv.delete("EntityDefinitions(LogicalName='cs_matter')")).status_code == 400
    deleted = await dv.delete("RelationshipDefinitions(SchemaName='cs_matter_account_matter')")
    assert deleted.status_code == 204
    assert (await dv.get(f"{ACCOUNT}/Attributes(LogicalName='cs_matter')")).status_code == 404
    assert (await dv.delete("EntityDefinitions(LogicalName='cs_matter')")).status_code == 204


async def test_delete_option_value_removes_only_values_the_publisher_added(dv):
    body = {"EntityLogicalName": "incident", "AttributeLogicalName": "statuscode", "Value": 1}
    refused = await dv.post("DeleteOptionValue", json=body)
    assert refused.status_code == 400 and "system option" in refused.json()["error"]["message"]
    insert = {**body, "Value": 100000000, "Label": label("Mediation"), "StateCode": 0}
    assert (await dv.post("InsertStatusValue", json=insert)).status_code == 200
    assert (await dv.post("DeleteOptionValue", json={**body, "Value": 100000000})).status_code == 204
    assert (await dv.post("DeleteOptionValue", json={**body, "Value": 100000000})).status_code == 404
