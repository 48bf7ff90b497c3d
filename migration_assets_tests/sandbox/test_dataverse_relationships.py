"""Dataverse emulator: many-to-many relationships (metadata, associate, disassociate, reads)."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.dataverse.testing import HOST, record_id

BASE = f"{HOST}/api/data/v9.2"


def many_to_many(schema: str, first: str, second: str, **extra) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
        "SchemaName": schema,
        "Entity1LogicalName": first,
        "Entity2LogicalName": second,
        "IntersectEntityName": schema.lower(),
        **extra,
    }


@pytest.fixture
async def dv(dv):
    """The emulator with a many-to-many relationship between account and contact."""
    relationship = many_to_many("cs_account_contact", "account", "contact")
    assert (await dv.post("RelationshipDefinitions", json=relationship)).status_code == 204
    return dv


async def pair(dv) -> tuple[str, str]:
    account = record_id(await dv.post("accounts", json={"name": "Acme"}))
    contact = record_id(await dv.post("contacts", json={"lastname": "Ng"}))
    return account, contact


async def test_many_to_many_definition_is_listed_with_its_navigation_properties(dv):
    listed = (await dv.get("RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata")).json()
    [definition] = listed["value"]
    assert definition["Entity1LogicalName"] == "account" and definition["Entity2LogicalName"] == "contact"
    assert definition["Entity1NavigationPropertyName"] == "cs_account_contact"
    assert definition["Entity1IntersectAttribute"] == "accountid"
    per_table = (await dv.get("EntityDefinitions(LogicalName='contact')/ManyToManyRelationships")).json()["value"]
    assert [r["SchemaName"] for r in per_table] == ["cs_account_contact"]


async def test_associate_then_read_from_both_sides_and_expand(dv):
    account, contact = await pair(dv)
    ref = {"@odata.id": f"{BASE}/contacts({contact})"}
    assert (await dv.post(f"accounts({account})/cs_account_contact/$ref", json=ref)).status_code == 204
    related = (await dv.get(f"accounts({account})/cs_account_contact", params={"$select": "lastname"})).json()
    assert [r["contactid"] for r in related["value"]] == [contact]
    back = (await dv.get(f"contacts({contact})/cs_account_contact")).json()["value"]
    assert [r["accountid"] for r in back] == [account]
    expanded = await dv.get("accounts", params={"$select": "name", "$expand": "cs_account_contact($select=contactid)"})
    assert [r["contactid"] for r in expanded.json()["value"][0]["cs_account_contact"]] == [contact]


async def test_associating_a_pair_twice_is_refused_as_a_duplicate(dv):
    account, contact = await pair(dv)
    ref = {"@odata.id": f"{BASE}/contacts({contact})"}
    await dv.post(f"accounts({account})/cs_account_contact/$ref", json=ref)
    again = await dv.post(f"accounts({account})/cs_account_contact/$ref", json=ref)
    assert again.status_code == 400 and again.json()["error"]["code"] == "0x80040237"


async def test_associating_a_record_of_the_wrong_table_or_a_missing_record_is_refused(dv):
    account, _ = await pair(dv)
    wrong = await dv.post(
        f"accounts({account})/cs_account_contact/$ref", json={"@odata.id": f"{BASE}/accounts({account})"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "0x80048d19"
    gone = "00000000-0000-0000-0000-0000000000aa"
    missing = await dv.post(
        f"accounts({account})/cs_account_contact/$ref", json={"@odata.id": f"{BASE}/contacts({gone})"}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"
    assert (await dv.get(f"accounts({account})/cs_account_contact")).json()["value"] == []


async def test_disassociate_by_id_query_and_by_path(dv):
    account, contact = await pair(dv)
    other = record_id(await dv.post("contacts", json={"lastname": "Po"}))
    for target in (contact, other):
        await dv.post(f"accounts({account})/cs_account_contact/$ref", json={"@odata.id": f"{BASE}/contacts({target})"})
    by_query = await dv.delete(
        f"accounts({account})/cs_account_contact/$ref", params={"$id": f"{BASE}/contacts({contact})"}
    )
    by_path = await dv.delete(f"accounts({account})/cs_account_contact({other})/$ref")
    assert (by_query.status_code, by_path.status_code) == (204, 204)
    assert (await dv.get(f"accounts({account})/cs_account_contact")).json()["value"] == []


async def test_deleting_a_record_removes_its_associations(dv):
    account, contact = await pair(dv)
    await dv.post(f"accounts({account})/cs_account_contact/$ref", json={"@odata.id": f"{BASE}/contacts({contact})"})
    await dv.delete(f"contacts({contact})")
    assert (await dv.get(f"accounts({account})/cs_account_contact")).json()["value"] == []


async def test_unknown_navigation_property_is_404(dv):
    account, _ = await pair(dv)
    response = await dv.get(f"accounts({account})/cs_nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "0x8006088a"


async def test_self_referencing_relationship_needs_two_navigation_names(dv):
    same = await dv.post("RelationshipDefinitions", json=many_to_many("cs_contact_spouse", "contact", "contact"))
    assert same.status_code == 400
    body = many_to_many(
        "cs_contact_spouse",
        "contact",
        "contact",
        Entity1NavigationPropertyName="cs_contact_spouse_entity1",
        Entity2NavigationPropertyName="cs_contact_spouse_entity2",
    )
    assert (await dv.post("RelationshipDefinitions", json=body)).status_code == 204
    first = record_id(await dv.post("contacts", json={"lastname": "A"}))
    second = record_id(await dv.post("contacts", json={"lastname": "B"}))
    ref = {"@odata.id": f"{BASE}/contacts({second})"}
    assert (await dv.post(f"contacts({first})/cs_contact_spouse_entity1/$ref", json=ref)).status_code == 204
    assert [
        r["contactid"] for r in (await dv.get(f"contacts({second})/cs_contact_spouse_entity2")).json()["value"]
    ] == [first]


async def test_relationship_name_needs_the_publisher_prefix_and_is_unique(dv):
    unprefixed = await dv.post("RelationshipDefinitions", json=many_to_many("account_contact", "account", "contact"))
    assert unprefixed.status_code == 400 and unprefixed.json()["error"]["code"] == "0x80044355"
    again = await dv.post("RelationshipDefinitions", json=many_to_many("cs_account_contact", "account", "contact"))
    assert again.status_code == 400 and again.json()["error"]["code"] == "0x80044363"
