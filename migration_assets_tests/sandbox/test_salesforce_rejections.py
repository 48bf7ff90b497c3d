"""Salesforce emulator: the remaining rejection rules, one test each, across REST, Bulk and Tooling."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client
from migration_assets_tests.sandbox.salesforce_calls import (
    ACCOUNT_EXTERNAL_ID,
    LEGACY_KEY,
    add_custom_fields,
    run_ingest_job,
)

HOURS = {"FullName": "Case.Hours__c", "Metadata": {"label": "Hours", "type": "Number", "precision": 4, "scale": 2}}


@pytest.fixture
async def sf(sf):
    """The emulator with both kinds of external id on Account and a scaled number on Case."""
    await add_custom_fields(sf, LEGACY_KEY, ACCOUNT_EXTERNAL_ID, HOURS)
    return sf


async def bulk(sf, csv_text: str, *, content_type: str = "text/csv", **job) -> dict:
    return (await run_ingest_job(sf, job, csv_text.encode(), content_type=content_type)).json()


async def failed_errors(sf, job_id: str) -> list[str]:
    text = (await sf.get(data_url(f"jobs/ingest/{job_id}/failedResults/"))).text
    return [line.split('","')[1].split(":")[0] for line in text.splitlines()[1:]]


async def test_number_beyond_precision_is_number_outside_valid_range(sf):
    response = await sf.post(data_url("sobjects/Case"), json={"Hours__c": 123.5})
    assert response.json()[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


async def test_number_is_rounded_to_scale(sf):
    case_id = (await sf.post(data_url("sobjects/Case"), json={"Hours__c": 1.256})).json()["id"]
    record = (await sf.get(data_url(f"sobjects/Case/{case_id}?fields=Hours__c"))).json()
    assert record["Hours__c"] == 1.26


async def test_upsert_body_with_other_external_id_value_is_invalid_field(sf):
    response = await sf.patch(
        data_url("sobjects/Account/Account_External_ID__c/A-1"), json={"Name": "Acme", "Account_External_ID__c": "A-2"}
    )
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


async def test_deleting_a_user_is_invalid_type_for_operation(sf):
    users = (await sf.get(data_url("query?q=" + quote("SELECT Id FROM User")))).json()["records"]
    response = await sf.delete(data_url(f"sobjects/User/{users[0]['Id']}"))
    assert response.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


async def test_unknown_relationship_in_soql_is_invalid_field(sf):
    response = await sf.get(data_url("query?q=" + quote("SELECT Foo__r.Name FROM Contact")))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


async def test_unknown_query_locator_is_400(sf):
    response = await sf.get(data_url("query/01gHs0000000009IAA-2000"))
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


async def test_collections_upsert_with_other_type_is_per_item_invalid_type(sf):
    response = await sf.patch(
        data_url("composite/sobjects/Account/Account_External_ID__c"),
        json={"records": [{"attributes": {"type": "Contact"}, "LastName": "Ng", "Account_External_ID__c": "A-1"}]},
    )
    assert response.json()[0]["errors"][0]["statusCode"] == "INVALID_TYPE"


async def test_bulk_update_without_id_is_missing_argument(sf):
    info = await bulk(sf, "Name\nAcme\n", object="Account", operation="update")
    assert await failed_errors(sf, info["id"]) == ["MISSING_ARGUMENT"]


async def test_bulk_upsert_matching_several_records_is_duplicate_external_id(sf):
    await bulk(sf, "Name,Legacy_Key__c\nA,K\nB,K\n", object="Account", operation="insert")
    info = await bulk(
        sf, "Legacy_Key__c,Phone\nK,1\n", object="Account", operation="upsert", externalIdFieldName="Legacy_Key__c"
    )
    assert await failed_errors(sf, info["id"]) == ["DUPLICATE_EXTERNAL_ID"]


async def test_bulk_duplicate_header_column_fails_the_job(sf):
    info = await bulk(sf, "Name,name\nA,B\n", object="Account", operation="insert")
    assert info["state"] == "Failed" and "Duplicate" in info["errorMessage"]


async def test_bulk_object_type_on_non_polymorphic_lookup_fails_the_job(sf):
    info = await bulk(
        sf, "LastName,Account:Account.Account_External_ID__c\nNg,A-1\n", object="Contact", operation="insert"
    )
    assert info["state"] == "Failed" and "not polymorphic" in info["errorMessage"]


async def test_bulk_relationship_on_non_key_field_fails_the_job(sf):
    info = await bulk(sf, "LastName,Account.Phone\nNg,1\n", object="Contact", operation="insert")
    assert info["state"] == "Failed"


async def test_bulk_row_with_wrong_cell_count_fails_that_row(sf):
    info = await bulk(sf, "Name,Phone\nA,1\nB\n", object="Account", operation="insert")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)


async def test_bulk_upload_that_is_not_csv_is_400(sf):
    job = (await sf.post(data_url("jobs/ingest"), json={"object": "Account", "operation": "insert"})).json()
    response = await sf.put(
        data_url(f"jobs/ingest/{job['id']}/batches"), content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_bulk_second_upload_is_409(sf):
    job = (await sf.post(data_url("jobs/ingest"), json={"object": "Account", "operation": "insert"})).json()
    url = data_url(f"jobs/ingest/{job['id']}/batches")
    await sf.put(url, content=b"Name\nA\n", headers={"Content-Type": "text/csv"})
    response = await sf.put(url, content=b"Name\nB\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 409


async def test_bulk_state_other_than_close_or_abort_is_refused(sf):
    job = (await sf.post(data_url("jobs/ingest"), json={"object": "Account", "operation": "insert"})).json()
    response = await sf.patch(data_url(f"jobs/ingest/{job['id']}"), json={"state": "JobComplete"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


async def test_bulk_unknown_job_is_404(sf):
    response = await sf.get(data_url("jobs/ingest/750Hs0000000099IAA"))
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


async def test_bulk_job_closed_without_data_fails(sf):
    job = (await sf.post(data_url("jobs/ingest"), json={"object": "Account", "operation": "insert"})).json()
    await sf.patch(data_url(f"jobs/ingest/{job['id']}"), json={"state": "UploadComplete"})
    info = (await sf.get(data_url(f"jobs/ingest/{job['id']}"))).json()
    assert info["state"] == "Failed"


async def test_tooling_duplicate_custom_object_is_duplicate_developer_name(sf):
    body = {
        "FullName": "Matter__c",
        "Metadata": {"label": "Matter", "pluralLabel": "Matters", "nameField": {"type": "Text", "label": "Name"}},
    }
    assert (await sf.post(data_url("tooling/sobjects/CustomObject"), json=body)).status_code == 201
    response = await sf.post(data_url("tooling/sobjects/CustomObject"), json=body)
    assert response.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


async def test_tooling_custom_object_without_plural_label_is_refused(sf):
    body = {"FullName": "Matter__c", "Metadata": {"label": "Matter", "nameField": {"type": "Text"}}}
    response = await sf.post(data_url("tooling/sobjects/CustomObject"), json=body)
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


async def test_tooling_patch_changing_field_type_is_refused(sf):
    q = "SELECT Id FROM CustomField WHERE DeveloperName = 'Hours'"
    [field] = (await sf.get(data_url("tooling/query?q=" + quote(q)))).json()["records"]
    response = await sf.patch(
        data_url(f"tooling/sobjects/CustomField/{field['Id']}"),
        json={"Metadata": {"label": "Hours", "type": "Text", "length": 10}},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("values", [[], [{"fullName": "A", "default": True}, {"fullName": "B", "default": True}]])
async def test_tooling_standard_value_set_needs_values_and_one_default(sf, values):
    response = await sf.patch(
        data_url("tooling/sobjects/StandardValueSet/CaseStatus"), json={"Metadata": {"standardValue": values}}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "form, error",
    [
        ({"client_id": "sf-sandbox-client", "client_secret": "sf-sandbox-secret"}, "invalid_request"),
        ({"grant_type": "password", "client_id": "sf-sandbox-client"}, "unsupported_grant_type"),
    ],
)
async def test_token_without_client_credentials_grant_is_refused(tmp_path, form, error):
    async with sandbox_client(tmp_path / "sf.sqlite", authenticated=False) as sf:
        response = await sf.post("/services/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
