"""Calls the Salesforce emulator tests make again and again: the custom fields they add, a record
they create, a Bulk ingest job run from open to complete."""

from __future__ import annotations

import httpx

from migration_assets.sandbox.salesforce.testing import data_url

ACCOUNT_EXTERNAL_ID = {
    "FullName": "Account.Account_External_ID__c",
    "Metadata": {
        "label": "Account External ID",
        "type": "Text",
        "length": 80,
        "externalId": True,
        "unique": True,
    },
}
"""A unique external id on Account, the key the upsert tests use."""

LEGACY_KEY = {
    "FullName": "Account.Legacy_Key__c",
    "Metadata": {"label": "Legacy Key", "type": "Text", "length": 80, "externalId": True},
}
"""An external id on Account that is not unique."""


async def add_custom_fields(client: httpx.AsyncClient, *fields: dict) -> None:
    """Creates each Tooling `CustomField` in `fields`, asserting the emulator accepted it."""
    for field in fields:
        response = await client.post(data_url("tooling/sobjects/CustomField"), json=field)
        assert response.status_code == 201, response.text


async def create(client: httpx.AsyncClient, sobject: str, body: dict) -> str:
    """The id of a new `sobject` record, asserting the emulator accepted it."""
    response = await client.post(data_url(f"sobjects/{sobject}"), json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def run_ingest_job(
    client: httpx.AsyncClient, job: dict, csv: bytes, *, content_type: str = "text/csv"
) -> httpx.Response:
    """Opens a Bulk ingest job with `job`, uploads `csv`, closes it and answers the job's info.

    Four calls: create, upload, close (the emulator then runs the job) and the info read."""
    job_id = (await client.post(data_url("jobs/ingest"), json=job)).json()["id"]
    await client.put(data_url(f"jobs/ingest/{job_id}/batches"), content=csv, headers={"Content-Type": content_type})
    await client.patch(data_url(f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    return await client.get(data_url(f"jobs/ingest/{job_id}"))
