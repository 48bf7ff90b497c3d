"""Salesforce emulator: Bulk API 2.0 ingest jobs, state machine, CSV rules and result files."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client

ACCOUNT_EXT = {
    "FullName": "Account.Account_External_ID__c",
    "Metadata": {
        "label": "Account External ID",
        "type": "Text",
        "length": 80,
        "externalId": True,
        "unique": True,
    },
}
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
async def client(tmp_path):
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        for field in (ACCOUNT_EXT, CONTACT_EXT):
            assert (await client.post(data_url("tooling/sobjects/CustomField"), json=field)).status_code == 201
        yield client


async def open_job(client, **body) -> str:
    response = await client.post(data_url("jobs/ingest"), json={"contentType": "CSV", "lineEnding": "LF", **body})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "Open"
    return response.json()["id"]


async def run_job(client, csv_text: str, **body) -> dict:
    job_id = await open_job(client, **body)
    upload = await client.put(
        data_url(f"jobs/ingest/{job_id}/batches"),
        content=csv_text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert upload.status_code == 201 and upload.content == b""
    closed = await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert closed.json()["state"] == "UploadComplete"
    return (await client.get(data_url(f"jobs/ingest/{job_id}"))).json()


async def result_rows(client, job_id: str, kind: str) -> list[dict]:
    response = await client.get(data_url(f"jobs/ingest/{job_id}/{kind}/"))
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def soql(client, text: str) -> list[dict]:
    return (await client.get(data_url("query?q=" + quote(text)))).json()["records"]


async def test_upsert_job_lifecycle_with_success_and_failure_rows(client):
    data = 'Account_External_ID__c,Name,NumberOfEmployees\nCS-1,"Acme, LLP",10\nCS-2,Globex,many\nCS-3,,5\n'
    info = await run_job(
        client, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c"
    )
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        2,
    )
    ok = await result_rows(client, info["id"], "successfulResults")
    failed = await result_rows(client, info["id"], "failedResults")
    assert [(r["sf__Created"], r["Name"]) for r in ok] == [("true", "Acme, LLP")]
    assert ok[0]["sf__Id"].startswith("001")
    assert [r["sf__Error"].split(":")[0] for r in failed] == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "REQUIRED_FIELD_MISSING",
    ]
    assert list(failed[0])[:2] == ["sf__Id", "sf__Error"]


async def test_second_upsert_reports_created_false(client):
    data = "Account_External_ID__c,Name\nCS-1,Acme\n"
    await run_job(client, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c")
    again = await run_job(
        client, data, object="Account", operation="upsert", externalIdFieldName="Account_External_ID__c"
    )
    assert [r["sf__Created"] for r in await result_rows(client, again["id"], "successfulResults")] == ["false"]


async def test_relationship_header_resolves_parent_by_external_id(client):
    await run_job(
        client,
        "Account_External_ID__c,Name\nCS-1,Acme\n",
        object="Account",
        operation="upsert",
        externalIdFieldName="Account_External_ID__c",
    )
    data = "Contact_External_ID__c,LastName,Account.Account_External_ID__c\nP-1,Ng,CS-1\nP-2,Li,CS-404\n"
    info = await run_job(
        client, data, object="Contact", operation="upsert", externalIdFieldName="Contact_External_ID__c"
    )
    [contact] = await soql(client, "SELECT Account.Name FROM Contact WHERE Contact_External_ID__c = 'P-1'")
    [failed] = await result_rows(client, info["id"], "failedResults")
    assert contact["Account"]["Name"] == "Acme"
    assert failed["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: CS-404 not found")


async def test_polymorphic_header_needs_object_type(client):
    await run_job(
        client,
        "Contact_External_ID__c,LastName\nP-1,Ng\n",
        object="Contact",
        operation="upsert",
        externalIdFieldName="Contact_External_ID__c",
    )
    good = await run_job(
        client, "Subject,Contact:Who.Contact_External_ID__c\nCall,P-1\n", object="Task", operation="insert"
    )
    bad = await run_job(client, "Subject,Who.Contact_External_ID__c\nCall,P-1\n", object="Task", operation="insert")
    assert good["numberRecordsFailed"] == 0
    assert bad["state"] == "Failed" and "polymorphic" in bad["errorMessage"]


async def test_empty_cell_is_ignored_and_na_sets_null_on_update(client):
    info = await run_job(client, "Name,Phone,Fax\nAcme,555,777\n", object="Account", operation="insert")
    [row] = await result_rows(client, info["id"], "successfulResults")
    await run_job(client, f"Id,Phone,Fax\n{row['sf__Id']},,#N/A\n", object="Account", operation="update")
    [account] = await soql(client, "SELECT Phone, Fax FROM Account")
    assert (account["Phone"], account["Fax"]) == ("555", None)


async def test_unknown_header_column_fails_the_job(client):
    info = await run_job(client, "Name,Foo__c\nAcme,1\n", object="Account", operation="insert")
    unprocessed = await result_rows(client, info["id"], "unprocessedrecords")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Foo__c"
    assert unprocessed == [{"Name": "Acme", "Foo__c": "1"}]


async def test_crlf_data_in_lf_job_fails_the_job(client):
    info = await run_job(client, "Name\r\nAcme\r\n", object="Account", operation="insert")
    assert info["state"] == "Failed" and "LineEnding" in info["errorMessage"]


async def test_dates_and_datetimes_follow_bulk_formats(client):
    data = "Subject,ActivityDate,Status\nok,2024-03-01,Completed\nbad,03/01/2024,Completed\n"
    info = await run_job(client, data, object="Task", operation="insert")
    [failed] = await result_rows(client, info["id"], "failedResults")
    assert failed["Subject"] == "bad" and failed["sf__Error"].startswith("INVALID_TYPE_ON_FIELD_IN_RECORD")


async def test_create_job_validations(client):
    cases = [
        {"object": "Nope__c", "operation": "insert"},
        {"object": "Account", "operation": "merge"},
        {"object": "Account", "operation": "upsert"},
        {"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
        {"object": "Account", "operation": "insert", "contentType": "JSON"},
        {"object": "Account", "operation": "insert", "lineEnding": "CR"},
    ]
    for body in cases:
        response = await client.post(data_url("jobs/ingest"), json=body)
        assert response.status_code == 400, body
        assert response.json()[0]["errorCode"] == "INVALIDJOB", body


async def test_upload_after_close_is_409_invalid_job_state(client):
    job_id = await open_job(client, object="Account", operation="insert")
    await client.put(
        data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nA\n", headers={"Content-Type": "text/csv"}
    )
    await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    response = await client.put(
        data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nB\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 409
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


async def test_abort_then_close_is_refused_and_rows_are_unprocessed(client):
    job_id = await open_job(client, object="Account", operation="insert")
    await client.put(
        data_url(f"jobs/ingest/{job_id}/batches"), content=b"Name\nA\n", headers={"Content-Type": "text/csv"}
    )
    aborted = await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "Aborted"})
    close = await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert aborted.json()["state"] == "Aborted"
    assert close.status_code == 409
    assert await result_rows(client, job_id, "unprocessedrecords") == [{"Name": "A"}]


async def test_delete_open_job_is_refused_then_allowed_when_complete(client):
    job_id = await open_job(client, object="Account", operation="insert")
    refused = await client.delete(data_url(f"jobs/ingest/{job_id}"))
    await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "Aborted"})
    deleted = await client.delete(data_url(f"jobs/ingest/{job_id}"))
    gone = await client.get(data_url(f"jobs/ingest/{job_id}"))
    assert (refused.status_code, deleted.status_code, gone.status_code) == (409, 204, 404)


async def test_job_stays_in_progress_until_configured_polls(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, bulk_poll_until_complete=3)
    async with sandbox_client(path) as client:
        job_id = await open_job(client, object="Account", operation="insert")
        await client.put(
            data_url(f"jobs/ingest/{job_id}/batches"),
            content=b"Name\nA\n",
            headers={"Content-Type": "text/csv"},
        )
        await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
        states = [(await client.get(data_url(f"jobs/ingest/{job_id}"))).json()["state"] for _ in range(3)]
        listed = (await client.get(data_url("jobs/ingest"))).json()
    assert states == ["InProgress", "InProgress", "JobComplete"]
    assert [j["id"] for j in listed["records"]] == [job_id] and listed["done"] is True


async def test_delete_job_removes_records(client):
    info = await run_job(client, "Name\nA\nB\n", object="Account", operation="insert")
    ids = [r["sf__Id"] for r in await result_rows(client, info["id"], "successfulResults")]
    removed = await run_job(client, "Id\n" + "\n".join(ids) + "\n", object="Account", operation="delete")
    assert removed["numberRecordsFailed"] == 0
    assert await soql(client, "SELECT Id FROM Account") == []
