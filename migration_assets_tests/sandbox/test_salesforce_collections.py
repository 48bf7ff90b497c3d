"""Salesforce emulator: sObject Collections create, update, upsert, delete, retrieve and their limits."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce.testing import data_url
from migration_assets_tests.sandbox.salesforce_calls import ACCOUNT_EXTERNAL_ID, add_custom_fields


@pytest.fixture
async def sf(sf):
    """The emulator with Account's unique external id."""
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID)
    return sf


async def count(sf, sobject: str) -> int:
    response = await sf.get(data_url("query?q=" + quote(f"SELECT COUNT() FROM {sobject}")))
    return response.json()["totalSize"]


def acct(name: str, **extra) -> dict:
    return {"attributes": {"type": "Account"}, "Name": name, **extra}


async def upsert(sf, *records: dict) -> list[dict]:
    """The per-record results of one Collections upsert of Accounts by their external id."""
    url = data_url("composite/sobjects/Account/Account_External_ID__c")
    return (await sf.patch(url, json={"records": list(records)})).json()


async def test_create_returns_results_in_order_with_status_code_errors(sf):
    response = await sf.post(
        data_url("composite/sobjects"),
        json={
            "allOrNone": False,
            "records": [acct("Acme"), {"attributes": {"type": "Contact"}, "FirstName": "No last name"}],
        },
    )
    ok, failed = response.json()
    assert response.status_code == 200
    assert ok["success"] is True and ok["id"].startswith("001")
    assert failed["success"] is False
    assert failed["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]
    assert await count(sf, "Account") == 1


async def test_all_or_none_rolls_everything_back(sf):
    response = await sf.post(
        data_url("composite/sobjects"), json={"allOrNone": True, "records": [acct("Acme"), acct("x" * 300)]}
    )
    first, second = response.json()
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert await count(sf, "Account") == 0


async def test_more_than_200_records_is_400(sf):
    response = await sf.post(data_url("composite/sobjects"), json={"records": [acct(f"A{i}") for i in range(201)]})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


async def test_record_without_type_is_400(sf):
    response = await sf.post(data_url("composite/sobjects"), json={"records": [{"Name": "Acme"}]})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


async def test_id_on_create_is_a_per_item_error(sf):
    response = await sf.post(data_url("composite/sobjects"), json={"records": [acct("Acme", Id="001Hs0000000001IAA")]})
    assert response.json()[0]["errors"][0]["statusCode"] == "INVALID_FIELD"


async def test_wrong_type_value_fails_the_whole_request_with_json_parser_error(sf):
    response = await sf.post(
        data_url("composite/sobjects"),
        json={"records": [acct("Acme"), acct("Globex", NumberOfEmployees="lots")]},
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert await count(sf, "Account") == 0


async def test_upsert_reports_created_and_updated(sf):
    first = await upsert(sf, acct("Acme", Account_External_ID__c="CS-1"))
    second = await upsert(
        sf, acct("Acme 2", Account_External_ID__c="CS-1"), acct("Globex", Account_External_ID__c="CS-2")
    )
    assert first[0]["created"] is True
    assert [(r["id"] == first[0]["id"], r["created"]) for r in second] == [(True, False), (False, True)]
    assert await count(sf, "Account") == 2


async def test_upsert_without_external_id_value_is_per_item_error(sf):
    result = await upsert(sf, acct("Acme"))
    assert result[0]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"


async def test_upsert_with_same_external_id_twice_fails_both(sf):
    result = await upsert(sf, acct("A", Account_External_ID__c="CS-1"), acct("B", Account_External_ID__c="cs-1"))
    assert [r["errors"][0]["statusCode"] for r in result] == ["DUPLICATE_EXTERNAL_ID"] * 2


async def test_upsert_on_non_external_id_field_is_404(sf):
    response = await sf.patch(data_url("composite/sobjects/Account/Name"), json={"records": [acct("A")]})
    assert response.status_code == 404


async def test_upsert_more_than_200_is_400(sf):
    url = data_url("composite/sobjects/Account/Account_External_ID__c")
    records = [acct(f"A{i}", Account_External_ID__c=f"CS-{i}") for i in range(201)]
    response = await sf.patch(url, json={"records": records})
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


async def test_update_by_id_and_missing_id_error(sf):
    created = (await sf.post(data_url("composite/sobjects"), json={"records": [acct("Acme")]})).json()
    result = (
        await sf.patch(
            data_url("composite/sobjects"),
            json={
                "records": [
                    {"attributes": {"type": "Account"}, "Id": created[0]["id"], "Phone": "1"},
                    {"attributes": {"type": "Account"}, "Phone": "2"},
                ]
            },
        )
    ).json()
    assert result[0]["success"] is True
    assert result[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"


async def test_delete_by_ids_reports_each_and_retrieve_returns_null_for_missing(sf):
    created = (await sf.post(data_url("composite/sobjects"), json={"records": [acct("A"), acct("B")]})).json()
    ids = [r["id"] for r in created]
    deleted = (await sf.delete(data_url(f"composite/sobjects?ids={ids[0]},{ids[0]}&allOrNone=false"))).json()
    retrieved = (await sf.get(data_url(f"composite/sobjects/Account?ids={ids[0]},{ids[1]}&fields=Name"))).json()
    assert deleted[0]["success"] is True
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert retrieved[0] is None and retrieved[1]["Name"] == "B"


async def test_more_than_ten_type_chunks_is_400(sf):
    records = [acct(f"A{i}") if i % 2 else {"attributes": {"type": "Contact"}, "LastName": f"L{i}"} for i in range(11)]
    response = await sf.post(data_url("composite/sobjects"), json={"records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_MAX_TYPES_LIMIT"
