"""Freshsales emulator: multipart documents, per-record listing, download, delete and the limits."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import api, sandbox_client


@pytest.fixture
async def client(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path, max_file_bytes=1000, storage_limit_bytes=1500)
    async with sandbox_client(path) as client:
        created = await client.post(api("deals"), json={"deal": {"name": "Matter", "amount": 1}})
        client.deal_id = created.json()["deal"]["id"]  # type: ignore[attr-defined]
        yield client


def form(client, **overrides) -> dict:
    return {"targetable_type": "Deal", "targetable_id": str(client.deal_id), "is_shared": "false", **overrides}


async def upload(client, content: bytes, name: str = "brief.pdf", **overrides):
    files = {"file": (name, content, "application/pdf")}
    return await client.post(api("documents"), files=files, data=form(client, **overrides))


async def test_upload_lists_downloads_and_deletes_a_document(client):
    response = await upload(client, b"%PDF-1.4 hello", file_name="Brief.pdf")
    assert response.status_code == 201
    document = response.json()["document"]
    assert document["file_name"] == "Brief.pdf" and document["content_file_name"] == "brief.pdf"
    assert document["content_file_size"] == 14 and document["targetable_type"] == "Deal"
    listed = (await client.get(api(f"deals/{client.deal_id}/document_associations"))).json()
    assert [d["id"] for d in listed["documents"]] == [document["id"]] and listed["meta"]["total"] == 1
    download = await client.get(api(f"documents/{document['id']}/download"))
    assert download.content == b"%PDF-1.4 hello" and download.headers["content-type"] == "application/pdf"
    assert (await client.delete(api(f"documents/{document['id']}"))).status_code == 204
    assert (await client.get(api(f"documents/{document['id']}"))).status_code == 404


async def test_file_above_the_per_file_limit_is_413_in_the_errors_envelope(client):
    response = await upload(client, b"x" * 1001)
    assert response.status_code == 413
    assert response.json() == {
        "errors": {"code": 413, "message": ["The file is 1001 bytes; files can be at most 1000 bytes"]}
    }


async def test_upload_past_the_storage_of_the_plan_is_400_and_deletes_free_it(client):
    first = (await upload(client, b"x" * 900)).json()["document"]
    refused = await upload(client, b"y" * 700)
    assert refused.status_code == 400
    assert refused.json()["errors"]["message"] == [
        "Not enough storage left for this file: 900 of 1500 bytes used, the file needs 700"
    ]
    await client.delete(api(f"documents/{first['id']}"))
    assert (await upload(client, b"y" * 700)).status_code == 201


async def test_json_upload_is_rejected(client):
    response = await client.post(api("documents"), json={"file_name": "a.txt"})
    assert response.status_code == 400 and response.json()["errors"]["message"] == [
        "Documents are uploaded as multipart/form-data"
    ]


async def test_upload_without_a_file_part_is_rejected(client):
    response = await client.post(api("documents"), data=form(client), files={"other": ("a.txt", b"a")})
    assert response.status_code == 400 and response.json()["errors"]["message"] == ["file is required"]


async def test_upload_to_a_missing_record_is_rejected(client):
    response = await upload(client, b"abc", targetable_id="123")
    assert response.status_code == 400 and response.json()["errors"]["message"] == ["Deal 123 does not exist"]


async def test_upload_with_a_bad_is_shared_value_is_rejected(client):
    response = await upload(client, b"abc", is_shared="maybe")
    assert response.status_code == 400 and response.json()["errors"]["message"] == ["is_shared must be true or false"]


async def test_deleting_the_record_deletes_its_documents(client):
    document = (await upload(client, b"abc")).json()["document"]
    await client.delete(api(f"deals/{client.deal_id}"))
    assert (await client.get(api(f"documents/{document['id']}"))).status_code == 404
