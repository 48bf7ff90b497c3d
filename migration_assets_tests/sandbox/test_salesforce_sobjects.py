"""Salesforce emulator: sObject create/read/update/delete, upsert by external id, describe, ACR rows."""

from __future__ import annotations

from migration_assets.sandbox.salesforce.testing import data_url
from migration_assets_tests.sandbox.salesforce_calls import ACCOUNT_EXTERNAL_ID, LEGACY_KEY, add_custom_fields, create


async def test_create_returns_201_with_id_success_and_errors(sf):
    response = await sf.post(data_url("sobjects/Account"), json={"Name": "Acme LLP"})
    body = response.json()
    assert response.status_code == 201
    assert body["success"] is True and body["errors"] == []
    assert body["id"].startswith("001") and len(body["id"]) == 18


async def test_read_returns_attributes_and_requested_fields(sf):
    account_id = await create(sf, "Account", {"Name": "Acme", "Phone": "555"})
    response = await sf.get(data_url(f"sobjects/Account/{account_id}?fields=Name,Phone"))
    assert response.json() == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account_id}"},
        "Id": account_id,
        "Name": "Acme",
        "Phone": "555",
    }


async def test_read_accepts_the_15_character_id(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    response = await sf.get(data_url(f"sobjects/Account/{account_id[:15]}"))
    assert response.status_code == 200
    assert response.json()["Id"] == account_id


async def test_update_returns_204_and_changes_only_sent_fields(sf):
    account_id = await create(sf, "Account", {"Name": "Acme", "Phone": "555"})
    response = await sf.patch(data_url(f"sobjects/Account/{account_id}"), json={"Name": "Acme 2"})
    record = (await sf.get(data_url(f"sobjects/Account/{account_id}"))).json()
    assert response.status_code == 204
    assert (record["Name"], record["Phone"]) == ("Acme 2", "555")


async def test_delete_returns_204_then_reads_are_404(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    deleted = await sf.delete(data_url(f"sobjects/Account/{account_id}"))
    read = await sf.get(data_url(f"sobjects/Account/{account_id}"))
    assert deleted.status_code == 204
    assert read.status_code == 404


async def test_update_of_deleted_record_is_entity_is_deleted(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    await sf.delete(data_url(f"sobjects/Account/{account_id}"))
    response = await sf.patch(data_url(f"sobjects/Account/{account_id}"), json={"Name": "x"})
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


async def test_unknown_object_is_404_not_found(sf):
    response = await sf.post(data_url("sobjects/Matter__c"), json={"Name": "x"})
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


async def test_unsupported_method_is_405(sf):
    response = await sf.put(data_url("sobjects/Account"), json={})
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


async def test_upsert_creates_with_201_then_updates_with_200(sf):
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID)
    url = data_url("sobjects/Account/Account_External_ID__c/CS-1")
    created = await sf.patch(url, json={"Name": "Acme"})
    updated = await sf.patch(url, json={"Name": "Acme Renamed"})
    assert created.status_code == 201 and created.json()["created"] is True
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    record = (await sf.get(data_url(f"sobjects/Account/{created.json()['id']}"))).json()
    assert (record["Name"], record["Account_External_ID__c"]) == ("Acme Renamed", "CS-1")


async def test_upsert_on_unknown_field_is_404_not_found(sf):
    response = await sf.patch(data_url("sobjects/Account/Nope__c/1"), json={"Name": "Acme"})
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_upsert_on_a_field_that_is_not_external_id_is_404(sf):
    response = await sf.patch(data_url("sobjects/Account/Name/Acme"), json={"Phone": "1"})
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_upsert_matching_several_records_is_300_with_their_urls(sf):
    await add_custom_fields(sf, LEGACY_KEY)
    first = await create(sf, "Account", {"Name": "A", "Legacy_Key__c": "K"})
    second = await create(sf, "Account", {"Name": "B", "Legacy_Key__c": "K"})
    response = await sf.patch(data_url("sobjects/Account/Legacy_Key__c/K"), json={"Phone": "1"})
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(
        [f"/services/data/v62.0/sobjects/Account/{first}", f"/services/data/v62.0/sobjects/Account/{second}"]
    )


async def test_upsert_update_only_does_not_create(sf):
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID)
    response = await sf.patch(
        data_url("sobjects/Account/Account_External_ID__c/X?updateOnly=true"), json={"Name": "Acme"}
    )
    assert response.status_code == 404


async def test_global_describe_lists_standard_objects(sf):
    response = await sf.get(data_url("sobjects"))
    names = {o["name"] for o in response.json()["sobjects"]}
    assert {
        "Account",
        "Contact",
        "AccountContactRelation",
        "Case",
        "Event",
        "Task",
        "Note",
        "ContentVersion",
        "ContentDocumentLink",
        "User",
        "Profile",
    } <= names


async def test_describe_case_shows_restricted_status_and_read_only_case_number(sf):
    body = (await sf.get(data_url("sobjects/Case/describe"))).json()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["keyPrefix"] == "500"
    assert fields["Status"]["restrictedPicklist"] is True
    assert [p["value"] for p in fields["Status"]["picklistValues"]] == [
        "New",
        "Working",
        "Escalated",
        "Closed",
    ]
    assert fields["CaseNumber"]["autoNumber"] is True and fields["CaseNumber"]["createable"] is False
    assert fields["IsClosed"]["createable"] is False
    assert fields["AccountId"]["referenceTo"] == ["Account"]


async def test_describe_required_fields_follow_the_heuristic(sf):
    body = (await sf.get(data_url("sobjects/Contact/describe"))).json()
    required = [
        f["name"]
        for f in body["fields"]
        if f["createable"] and not f["nillable"] and not f["defaultedOnCreate"] and f["type"] != "boolean"
    ]
    assert required == ["LastName"]


async def test_contact_with_account_gets_a_direct_account_contact_relation(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "AccountId": account_id})
    response = await sf.get(
        data_url(f"query?q=SELECT+Id,AccountId,IsDirect+FROM+AccountContactRelation+WHERE+ContactId='{contact_id}'")
    )
    rows = response.json()["records"]
    assert [(r["AccountId"], r["IsDirect"]) for r in rows] == [(account_id, True)]


async def test_indirect_account_contact_relation_can_be_added_with_roles(sf):
    home = await create(sf, "Account", {"Name": "Home"})
    other = await create(sf, "Account", {"Name": "Other"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "AccountId": home})
    relation = await create(
        sf,
        "AccountContactRelation",
        {"AccountId": other, "ContactId": contact_id, "Roles": "Decision Maker;Influencer"},
    )
    record = (await sf.get(data_url(f"sobjects/AccountContactRelation/{relation}"))).json()
    assert (record["IsDirect"], record["Roles"]) == (False, "Decision Maker;Influencer")


async def test_duplicate_account_contact_relation_is_duplicate_value(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "AccountId": account_id})
    response = await sf.post(
        data_url("sobjects/AccountContactRelation"), json={"AccountId": account_id, "ContactId": contact_id}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DUPLICATE_VALUE"


async def test_case_number_is_assigned_and_is_closed_follows_status(sf):
    case_id = await create(sf, "Case", {"Subject": "S", "Status": "Working"})
    before = (await sf.get(data_url(f"sobjects/Case/{case_id}"))).json()
    await sf.patch(data_url(f"sobjects/Case/{case_id}"), json={"Status": "Closed"})
    after = (await sf.get(data_url(f"sobjects/Case/{case_id}"))).json()
    assert before["CaseNumber"] == "00001001" and before["IsClosed"] is False
    assert after["IsClosed"] is True and after["ClosedDate"]


async def test_nested_external_id_reference_resolves_lookup(sf):
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID)
    account_id = await create(sf, "Account", {"Name": "Acme", "Account_External_ID__c": "CS-9"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "Account": {"Account_External_ID__c": "CS-9"}})
    record = (await sf.get(data_url(f"sobjects/Contact/{contact_id}"))).json()
    assert record["AccountId"] == account_id


async def test_changing_contact_account_moves_the_direct_relation(sf):
    first = await create(sf, "Account", {"Name": "First"})
    second = await create(sf, "Account", {"Name": "Second"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "AccountId": first})
    await sf.patch(data_url(f"sobjects/Contact/{contact_id}"), json={"AccountId": second})
    response = await sf.get(
        data_url(
            f"query?q=SELECT+AccountId,IsDirect+FROM+AccountContactRelation+WHERE+ContactId='{contact_id}'+ORDER+BY+CreatedDate"
        )
    )
    assert [(r["AccountId"], r["IsDirect"]) for r in response.json()["records"]] == [(first, False), (second, True)]


async def test_direct_relation_cannot_be_deleted(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    contact_id = await create(sf, "Contact", {"LastName": "Ng", "AccountId": account_id})
    relation = (
        await sf.get(data_url(f"query?q=SELECT+Id+FROM+AccountContactRelation+WHERE+ContactId='{contact_id}'"))
    ).json()["records"][0]
    response = await sf.delete(data_url(f"sobjects/AccountContactRelation/{relation['Id']}"))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_OPERATION"


async def test_event_end_time_is_derived_from_duration(sf):
    event_id = await create(
        sf,
        "Event",
        {"Subject": "Deposition", "StartDateTime": "2024-05-01T09:00:00-04:00", "DurationInMinutes": 90},
    )
    record = (await sf.get(data_url(f"sobjects/Event/{event_id}?fields=StartDateTime,EndDateTime"))).json()
    assert (record["StartDateTime"], record["EndDateTime"]) == (
        "2024-05-01T13:00:00.000+0000",
        "2024-05-01T14:30:00.000+0000",
    )
