"""Salesforce emulator: every write rejection rule, one test each (REST error array shape)."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client
from migration_assets_tests.sandbox.salesforce_calls import ACCOUNT_EXTERNAL_ID, add_custom_fields, create


async def rejected(sf, sobject: str, body: dict) -> dict:
    response = await sf.post(data_url(f"sobjects/{sobject}"), json=body)
    assert response.status_code == 400, response.text
    [error] = response.json()
    return error


UNKNOWN_FIELD_MESSAGE = (
    "No such column 'Foo__c' on entity 'Account'. If you are attempting to use a custom field, be sure to "
    "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)


@pytest.mark.parametrize(
    ("sobject", "body", "code", "field", "message"),
    [
        pytest.param(
            "Account",
            {"Name": "Acme", "Foo__c": "x"},
            "INVALID_FIELD",
            "Foo__c",
            UNKNOWN_FIELD_MESSAGE,
            id="unknown-field-is-invalid-field-with-real-message",
        ),
        pytest.param(
            "Case",
            {"Status": "Pending"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "Status",
            "Status: bad value for restricted picklist field: Pending",
            id="bad-restricted-picklist-value",
        ),
        pytest.param(
            "Contact",
            {"FirstName": "Ann"},
            "REQUIRED_FIELD_MISSING",
            "LastName",
            "Required fields are missing: [LastName]",
            id="missing-required-field",
        ),
    ],
)
async def test_rejection_names_the_code_the_field_and_the_real_message(sf, sobject, body, code, field, message):
    error = await rejected(sf, sobject, body)
    assert error == {"errorCode": code, "fields": [field], "message": message}


async def test_bad_task_priority_is_rejected_as_restricted_picklist(sf):
    error = await rejected(sf, "Task", {"Subject": "x", "Priority": "Urgent"})
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


async def test_clearing_required_field_on_update_is_required_field_missing(sf):
    contact_id = await create(sf, "Contact", {"LastName": "Ng"})
    response = await sf.patch(data_url(f"sobjects/Contact/{contact_id}"), json={"LastName": None})
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


async def test_lookup_to_missing_record_is_invalid_cross_reference_key(sf):
    error = await rejected(sf, "Contact", {"LastName": "Ng", "AccountId": "001Hs0000000999IAA"})
    assert error["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert error["fields"] == ["AccountId"]


async def test_lookup_to_wrong_object_type_is_invalid_cross_reference_key(sf):
    contact_id = await create(sf, "Contact", {"LastName": "Ng"})
    error = await rejected(sf, "Case", {"AccountId": contact_id})
    assert error["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


async def test_lookup_that_is_not_an_id_is_malformed_id(sf):
    error = await rejected(sf, "Contact", {"LastName": "Ng", "AccountId": "acme"})
    assert error["errorCode"] == "MALFORMED_ID"


async def test_lookup_to_deleted_record_is_entity_is_deleted(sf):
    account_id = await create(sf, "Account", {"Name": "Acme"})
    await sf.delete(data_url(f"sobjects/Account/{account_id}"))
    error = await rejected(sf, "Contact", {"LastName": "Ng", "AccountId": account_id})
    assert error["errorCode"] == "ENTITY_IS_DELETED"


async def test_text_in_number_field_is_json_parser_error(sf):
    error = await rejected(sf, "Account", {"Name": "Acme", "NumberOfEmployees": "many"})
    assert error["errorCode"] == "JSON_PARSER_ERROR"


async def test_badly_formatted_date_is_json_parser_error(sf):
    error = await rejected(sf, "Contact", {"LastName": "Ng", "Birthdate": "03/04/1990"})
    assert error["errorCode"] == "JSON_PARSER_ERROR"


async def test_datetime_without_offset_is_json_parser_error(sf):
    error = await rejected(sf, "Event", {"Subject": "x", "StartDateTime": "2024-01-01 10:00", "DurationInMinutes": 30})
    assert error["errorCode"] == "JSON_PARSER_ERROR"


async def test_malformed_json_body_is_json_parser_error(sf):
    response = await sf.post(
        data_url("sobjects/Account"), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


async def test_string_longer_than_field_is_string_too_long(sf):
    error = await rejected(sf, "Case", {"Subject": "x" * 256})
    assert error["errorCode"] == "STRING_TOO_LONG"
    assert error["fields"] == ["Subject"]


async def test_invalid_email_is_invalid_email_address(sf):
    error = await rejected(sf, "Contact", {"LastName": "Ng", "Email": "not-an-email"})
    assert error["errorCode"] == "INVALID_EMAIL_ADDRESS"


@pytest.mark.parametrize(
    "field, value", [("CaseNumber", "123"), ("IsClosed", True), ("CreatedDate", "2020-01-01T00:00:00Z")]
)
async def test_read_only_field_is_invalid_field_for_insert_update(sf, field, value):
    error = await rejected(sf, "Case", {"Subject": "x", field: value})
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == [field]


async def test_create_only_field_on_update_is_invalid_field_for_insert_update(sf):
    case_id = await create(sf, "Case", {"Subject": "x"})
    note_id = await create(sf, "Note", {"ParentId": case_id, "Title": "T"})
    other = await create(sf, "Case", {"Subject": "y"})
    response = await sf.patch(data_url(f"sobjects/Note/{note_id}"), json={"ParentId": other})
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


async def test_id_in_create_body_is_invalid_field(sf):
    error = await rejected(sf, "Account", {"Name": "Acme", "Id": "001Hs0000000001IAA"})
    assert error["errorCode"] == "INVALID_FIELD"


async def test_audit_fields_settable_on_insert_only_with_set_audit_fields(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, set_audit_fields=True)
    async with sandbox_client(path) as sf:
        case_id = await create(sf, "Case", {"Subject": "x", "CreatedDate": "2019-05-01T08:00:00Z"})
        record = (await sf.get(data_url(f"sobjects/Case/{case_id}"))).json()
        update = await sf.patch(data_url(f"sobjects/Case/{case_id}"), json={"CreatedDate": "2019-06-01T00:00:00Z"})
    assert record["CreatedDate"] == "2019-05-01T08:00:00.000+0000"
    assert update.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


async def test_duplicate_unique_external_id_is_duplicate_value(sf):
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID)
    await create(sf, "Account", {"Name": "A", "Account_External_ID__c": "CS-1"})
    error = await rejected(sf, "Account", {"Name": "B", "Account_External_ID__c": "CS-1"})
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert error["fields"] == ["Account_External_ID__c"]


async def test_event_without_start_is_required_field_missing(sf):
    error = await rejected(sf, "Event", {"Subject": "Court date", "DurationInMinutes": 60})
    assert error["errorCode"] == "REQUIRED_FIELD_MISSING"


async def test_object_that_is_not_createable_is_refused(sf):
    error = await rejected(sf, "ContentDocument", {"Title": "x"})
    assert error["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


async def test_inactive_owner_is_inactive_owner_or_user(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path)
    [active, inactive] = seed.seed_user_rows(
        path,
        [
            {"Username": "a@firm.example", "Email": "a@firm.example", "LastName": "A", "IsActive": True},
            {"Username": "b@firm.example", "Email": "b@firm.example", "LastName": "B", "IsActive": False},
        ],
    )
    async with sandbox_client(path) as sf:
        ok = await sf.post(data_url("sobjects/Case"), json={"Subject": "x", "OwnerId": active})
        error = await rejected(sf, "Case", {"Subject": "x", "OwnerId": inactive})
    assert ok.status_code == 201
    assert error["errorCode"] == "INACTIVE_OWNER_OR_USER"


async def test_inactive_owner_allowed_with_set_audit_fields(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, set_audit_fields=True)
    [inactive] = seed.seed_user_rows(
        path, [{"Username": "b@firm.example", "Email": "b@firm.example", "LastName": "B", "IsActive": False}]
    )
    async with sandbox_client(path) as sf:
        response = await sf.post(data_url("sobjects/Case"), json={"Subject": "x", "OwnerId": inactive})
    assert response.status_code == 201
