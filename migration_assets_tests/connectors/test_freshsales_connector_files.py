"""Freshsales connector documents: streamed upload, read_files, download, delete, limits, no duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from migration_assets.connectors.base import FileUpload, UpsertRow
from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import api, connection, sandbox_client

KEY = "cf_source_system_id"


@pytest.fixture
async def fs(tmp_path: Path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path, max_file_bytes=64)
    seed.apply_field_plan(
        path, [{"kind": "field", "entity": "deals", "label": "Source System ID", "type": "text", "unique": True}]
    )
    connector = FreshsalesDestination.from_connection(connection(path, max_file_bytes=100))
    connector.state_path = path  # type: ignore[attr-defined]
    [deal] = await connector.upsert("deal", KEY, [UpsertRow("M-1", {"name": "Matter", "amount": 1})])
    assert deal.ok, deal
    connector.deal_id = deal.destination_id  # type: ignore[attr-defined]
    yield connector
    await connector.aclose()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


def upload(fs, data: bytes, name: str = "Retainer.pdf", parent_table: str = "deal") -> FileUpload:
    return FileUpload(
        external_id="F-1",
        file_name=name,
        folder="matters/2024",
        size=len(data),
        content=chunks(data),
        content_type="application/pdf",
        parent_table=parent_table,
        parent_id=fs.deal_id,
        key=KEY,
    )


async def test_upload_read_files_download_and_delete(fs):
    data = b"%PDF-1.4 retainer agreement"
    result = await fs.upload_file(upload(fs, data, name="folder/Retainer: v2.pdf"))
    assert result.ok and result.operation == "created"
    info = await fs.read_files("document", [result.destination_id, "70009999999"])
    assert info == {
        result.destination_id: {"name": "Retainer_ v2.pdf", "size": len(data), "parent_id": fs.deal_id, "folder": None}
    }
    async with sandbox_client(fs.state_path) as client:
        download = await client.get(api(f"documents/{result.destination_id}/download"))
    assert download.content == data
    assert (await fs.delete("document", [result.destination_id]))[0].ok
    assert await fs.read_files("document", [result.destination_id]) == {}
    assert (await fs.delete("document", [result.destination_id]))[0].ok  # already gone


async def test_the_same_file_on_the_same_record_is_not_uploaded_twice(fs):
    first = await fs.upload_file(upload(fs, b"same bytes"))
    second = await fs.upload_file(upload(fs, b"same bytes"))
    assert second.ok and second.operation == "updated" and second.destination_id == first.destination_id
    assert await fs.count("document", KEY) == 1


async def test_an_empty_file_sent_again_is_found_not_uploaded_twice(fs):
    first = await fs.upload_file(upload(fs, b""))
    second = await fs.upload_file(upload(fs, b""))
    assert first.ok and second.ok and second.operation == "updated" and second.destination_id == first.destination_id
    assert await fs.count("document", KEY) == 1


async def test_file_above_the_connector_limit_is_refused_unsent(fs):
    used = seed.usage(fs.state_path)["used"]
    result = await fs.upload_file(upload(fs, b"x" * 101))
    assert not result.ok and "above the 100-byte limit" in str(result.error)
    assert seed.usage(fs.state_path)["used"] == used


async def test_file_the_account_refuses_fails_with_its_message(fs):
    result = await fs.upload_file(upload(fs, b"x" * 80))  # under the connector's limit, over the account's
    assert not result.ok and result.error == "The file is 80 bytes; files can be at most 64 bytes"


async def test_files_attach_only_to_contacts_accounts_and_deals(fs):
    result = await fs.upload_file(upload(fs, b"abc", parent_table="task"))
    assert not result.ok and "files attach to contacts, accounts and deals" in str(result.error)
