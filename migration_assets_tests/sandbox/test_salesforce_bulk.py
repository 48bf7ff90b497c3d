"""Salesforce emulator: Bulk API 2.0 ingest jobs, state machine, CSV rules and result files."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client
from migration_assets_tests.sandbox.salesforce_calls import ACCOUNT_EXTERNAL_ID, add_custom_fields

CONTACT_EXT = {
    "FullName": "Contact.Contact_External_ID__c",
    "Metadata": {
        "label": "Contact External ID",
        "type": "Text",
        "length": 80,
        "externalId": True,
        "unique": True,
    },
}


@pytest.fixture
async def sf(sf):
    """The emulator with unique external ids on Account and Contact."""
    await add_custom_fields(sf, ACCOUNT_EXTERNAL_ID, CONTACT_EXT)
    return sf


async def open_job(sf, **body) -> str:
    response = await sf.post(data_url("jobs/ingest"), json={"contentType": "CSV", "lineEnding": "LF", **body})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "Open"
    return response.json()["id"]


async def run_job(sf, csv_text: str, **body) -> dict:
    job_id = await open_job(sf, **body)
    upload = await sf.put(
        data_url(f"jobs/ingest/{job_id}/batches"),
        content=csv_text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201 and upload.content == b""
    closed = await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert closed.json()["state"] == "UploadComplete"
    return (await sf.get(data_url(f"jobs/ingest/{job_id}"))).json()


async def result_rows(sf, job_id: str, kind: str) -> list[dict]:
    response = await sf.get(data_url(f"jobs/ingest/{job_id}/{kind}/"))
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def soql(sf, text: str) -> list[dict]:
    return (await sf.get(data_url("query?q=" + quote(text)))).json()["records"]


async def test_upsert_job_lifecycle_with_success_and_failure_rows(sf):
    data = 'Account_External_ID__c,Name,NumberOfEmployees\nCS-1,"Acme, LLP",10\nCS-2,Globex,many\nCS-3,,5\n'
    info = await run_job(sf, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c")
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        2,
    )
    ok = await result_rows(sf, info["id"], "successfulResults")
    failed = await result_rows(sf, info["id"], "failedResults")
    assert [(r["sf__Created"], r["Name"]) for r in ok] == [("true", "Acme, LLP")]
    assert ok[0]["sf__Id"].startswith("001")
    assert [r["sf__Error"].split(":")[0] for r in failed] == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "REQUIRED_FIELD_MISSING",
    ]
    assert list(failed[0])[:2] == ["sf__Id", "sf__Error"]


async def test_second_upsert_reports_created_false(sf):
    data = "Account_External_ID__c,Name\nCS-1,Acme\n"
    await run_job(sf, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c")
    again = await run_job(sf, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c")
    assert [r["sf__Created"] for r in await result_rows(sf, again["id"], "successfulResults")] == ["false"]


async def test_relationship_header_resolves_parent_by_external_id(sf):
    await run_job(
        sf,
        "Account_External_ID__c,Name\nCS-1,Acme\n",
        object="Account",
        operation="upsert",
        externalIdFieldName="Account_External_ID__c",
    )
    data = "Contact_External_ID__c,LastName,Account.Account_External_ID__c\nP-1,Ng,CS-1\nP-2,Li,CS-404\n"
    info = await run_job(sf, data, object="Contact", operation="upsert", externalIdFieldName="Contact_External_ID__c")
    [contact] = await soql(sf, "SELECT Account.Name FROM Contact WHERE Contact_External_ID__c = 'P-1'")
    [failed] = await result_rows(sf, info["id"], "failedResults")
    assert contact["Account"]["Name"] == "Acme"
    assert failed["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: CS-404 not found")


async def test_polymorphic_header_needs_object_type(sf):
    await run_job(
        sf,
        "Contact_External_ID__c,LastName\nP-1,Ng\n",
        object="Contact",
        operation="upsert",
        externalIdFieldName="Contact_External_ID__c",
    )
    good = await run_job(
        sf, "Subject,Contact:Who.Contact_External_ID__c\nCall,P-1\n", object="Task", operation="insert"
    )
    bad = await run_job(sf, "Subject,Who.Contact_External_ID__c\nCall,P-1\n", object="Task", operation="insert")
    assert good["numberRecordsFailed"] == 0
    assert bad["state"] == "Failed" and "polymorphic" in bad["errorMessage"]


async def test_empty_cell_is_ignored_and_na_sets_null_on_update(sf):
    info = await run_job(sf, "Name,Phone,Fax\nAcme,555,777\n", object="Account", operation="insert")
    [row] = await result_rows(sf, info["id"], "successfulResults")
    await run_job(sf, f"Id,Phone,Fax\n{row['sf__Id']},,#N/A\n", object="Account", operation="update")
    [account] = await soql(sf, "SELECT Phone, Fax FROM Account")
    assert (account["Phone"], account["Fax"]) == ("555", None)


async def test_unknown_header_column_fails_the_job(sf):
    info = await run_job(sf, "Name,Foo__c\nAcme,1\n", object="Account", operation="insert")
    unprocessed = await result_rows(sf, info["id"], "unprocessedrecords")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Foo__c"
    assert unprocessed == [{"Name": "Acme", "Foo__c": "1"}]


async def test_crlf_data_in_lf_job_fails_the_job(sf):
    info = await run_job(sf, "Name\r\nAcme\r\n", object="Account", operation="insert")
    assert info["state"] == "Failed" and "LineEnding" in info["errorMessage"]


async def test_dates_and_datetimes_follow_bulk_formats(sf):
    data = "Subject,ActivityDate,Status\nok,2024-03-01,Completed\nbad,03/01/2024,Completed\n"
    info = await run_job(sf, data, object="Task", operation="insert")
    [failed] = await result_rows(sf, info["id"], "failedResults")
    assert failed["Subject"] == "bad" and failed["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD")


async def test_create_job_validations(sf):
    cases = [
        {"object": "Nope__c", "operation": "insert"},
        {"object": "Account", "operation": "merge"},
        {"object": "Account", "operation": "upsert"},
        {"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
        {"object": "Account", "operation": "insert", "contentType": "JSON"},
        {"object": "Account", "operation": "insert", "lineEnding": "CR"},
    ]
    for body in cases:
        response = await sf.post(data_url("jobs/ingest"), json=body)
        assert response.status_code == 400, body
        assert response.json()[0]["errorCode"] == "INVALIDJOB", body


async def test_upload_after_close_is_409_invalid_job_state(sf):
    job_id = await open_job(sf, object="Account", operation="insert")
    await sf.put(data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nA\n", headers={"Content-Type": "text/csv"})
    await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    response = await sf.put(
        data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nB\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 409
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


async def test_abort_then_close_is_refused_and_rows_are_unprocessed(sf):
    job_id = await open_job(sf, object="Account", operation="insert")
    await sf.put(data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nA\n", headers={"Content-Type": "text/csv"})
    aborted = await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "Aborted"})
    close = await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert aborted.json()["state"] == "Aborted"
    assert close.status_code == 409
    assert await result_rows(sf, job_id, "unprocessedrecords") == [{"Name": "A"}]


async def test_delete_open_job_is_refused_then_allowed_when_complete(sf):
    job_id = await open_job(sf, object="Account", operation="insert")
    refused = await sf.delete(data_url(f"jobs/ingest/{job_id}"))
    await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "Aborted"})
    deleted = await sf.delete(data_url(f"jobs/ingest/{job_id}"))
    gone = await sf.get(data_url(f"jobs/ingest/{job_id}"))
    assert (refused.status_code, deleted.status_code, gone.status_code) == (409, 204, 404)


async def test_job_stays_in_progress_until_configured_polls(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, bulk_poll_until_complete=3)
    async with sandbox_client(path) as sf:
        job_id = await open_job(sf, object="Account", operation="insert")
        await sf.put(
            data_url(f"jobs/ingest/{job_id}/batches"),
            content=b"Name\nA\n",
            headers={"Content-Type": "text/csv"},
        )
        await sf.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
        states = [(await sf.get(data_url(f"jobs/ingest/{job_id}"))).json()["state"] for _ in range(3)]
        listed = (await sf.get(data_url("jobs/ingest"))).json()
    assert states == ["InProgress", "InProgress", "JobComplete"]
    assert [j["id"] for j in listed["records"]] == [job_id] and listed["done"] is True


async def test_delete_job_removes_records(sf):
    info = await run_job(sf, "Name\nA\nB\n", object="Account", operation="insert")
    ids = [r["sf__Id"] for r in await result_rows(sf, info["id"], "successfulResults")]
    removed = await run_job(sf, "Id\n" + "\n".join(ids) + "\n", object="Account", operation="delete")
    assert removed["numberRecordsFailed"] == 0
    assert await soql(sf, "SELECT Id FROM Account") == []
