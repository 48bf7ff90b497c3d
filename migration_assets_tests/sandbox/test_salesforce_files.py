"""Salesforce emulator: ContentVersion uploads (JSON and multipart), size limit, read-back."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client


async def new_case(sf) -> str:
    return (await sf.post(data_url("sobjects/Case"), json={"Subject": "Smith"})).json()["id"]


async def soql(sf, text: str) -> list[dict]:
    return (await sf.get(data_url("query?q=" + quote(text)))).json()["records"]


async def test_json_upload_creates_document_and_link_and_serves_bytes(sf):
    case_id = await new_case(sf)
    body = {
        "Title": "Engagement letter",
        "PathOnClient": "letter.pdf",
        "FirstPublishLocationId": case_id,
        "VersionData": base64.b64encode(b"%PDF-1.4 hello").decode(),
    }
    created = await sf.post(data_url("sobjects/ContentVersion"), json=body)
    version_id = created.json()["id"]
    [version] = await soql(
        sf, f"SELECT ContentDocumentId, FileExtension, ContentSize FROM ContentVersion WHERE Id = '{version_id}'"
    )
    links = await soql(
        sf,
        f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{version['ContentDocumentId']}'",
    )
    data = await sf.get(data_url(f"sobjects/ContentVersion/{version_id}/VersionData"))
    assert created.status_code == 201 and version_id.startswith("068")
    assert version["ContentDocumentId"].startswith("069")
    assert (version["FileExtension"], version["ContentSize"]) == ("pdf", 14)
    assert [link["LinkedEntityId"] for link in links] == [case_id]
    assert data.content == b"%PDF-1.4 hello"


async def test_multipart_upload_streams_the_binary_part(sf):
    case_id = await new_case(sf)
    entity = json.dumps({"Title": "Scan", "PathOnClient": "scan.png", "FirstPublishLocationId": case_id})
    files = {
        "entity_content": (None, entity, "application/json"),
        "VersionData": ("scan.png", b"\x89PNG" + bytes(range(256)) * 10, "application/octet-stream"),
    }
    created = await sf.post(data_url("sobjects/ContentVersion"), files=files)
    data = await sf.get(data_url(f"sobjects/ContentVersion/{created.json()['id']}/VersionData"))
    assert created.status_code == 201
    assert data.content == b"\x89PNG" + bytes(range(256)) * 10


async def test_file_over_25_mb_is_refused(sf):
    entity = json.dumps({"Title": "Huge", "PathOnClient": "huge.bin"})
    files = {
        "entity_content": (None, entity, "application/json"),
        "VersionData": ("huge.bin", b"\0" * (25 * 1024 * 1024 + 1), "application/octet-stream"),
    }
    response = await sf.post(data_url("sobjects/ContentVersion"), files=files)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "FILE_SIZE_LIMIT_EXCEEDED"
    assert await soql(sf, "SELECT Id FROM ContentVersion") == []


async def test_json_upload_over_configured_limit_is_refused(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, max_file_bytes=10)
    async with sandbox_client(path) as sf:
        body = {"PathOnClient": "a.txt", "VersionData": base64.b64encode(b"x" * 11).decode()}
        response = await sf.post(data_url("sobjects/ContentVersion"), json=body)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "FILE_SIZE_LIMIT_EXCEEDED"


async def test_missing_path_on_client_is_required_field_missing(sf):
    body = {"Title": "x", "VersionData": base64.b64encode(b"x").decode()}
    response = await sf.post(data_url("sobjects/ContentVersion"), json=body)
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


async def test_version_data_that_is_not_base64_is_refused(sf):
    body = {"PathOnClient": "a.txt", "VersionData": "%%% not base64"}
    response = await sf.post(data_url("sobjects/ContentVersion"), json=body)
    assert response.status_code == 400


async def test_multipart_without_version_data_part_is_refused(sf):
    files = {"entity_content": (None, json.dumps({"PathOnClient": "a.txt"}), "application/json")}
    response = await sf.post(data_url("sobjects/ContentVersion"), files=files)
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
