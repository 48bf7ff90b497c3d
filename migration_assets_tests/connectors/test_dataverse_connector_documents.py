"""DataverseDestination.upload_file against the emulator's Graph-like document store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from migration_assets.connectors.base import ColumnRequirement, FileUpload, TableRequirement, UpsertRow
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.errors import DestinationNotReady
from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox.dataverse.seed import document_listing, reset
from migration_assets_tests.connectors.destinations import connect_dataverse

MIB = 1024 * 1024


def connector(state: Path) -> DataverseDestination:
    return connect_dataverse(state, publisher_prefix="cs")


async def chunks(size: int, piece: int = 256 * 1024) -> AsyncIterator[bytes]:
    """`size` bytes of a repeating pattern, in pieces (never the whole file in memory)."""
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        yield bytes((sent + i) % 251 for i in range(n))
        sent += n


@pytest.fixture
async def dv(state: Path):
    destination = connector(state)
    key = TableRequirement(
        "contact", columns=(ColumnRequirement("cs_externalid", "string"),), keys={"k": ("cs_externalid",)}
    )
    await destination.apply_schema([key])
    yield destination
    await destination.aclose()


async def parent(dv: DataverseDestination) -> str:
    [row] = await dv.upsert("contact", "cs_externalid", [UpsertRow("C-1", {"lastname": "Ng"})])
    assert row.ok, row.error
    return row.destination_id or ""


def upload(name: str, size: int, parent_id: str, external_id: str = "D-1") -> FileUpload:
    return FileUpload(
        external_id=external_id,
        file_name=name,
        folder="contact/C-1",
        size=size,
        content=chunks(size),
        content_type="application/pdf",
        parent_table="contact",
        parent_id=parent_id,
    )


async def test_small_file_is_uploaded_and_linked_by_a_document_location(dv):
    contact_id = await parent(dv)
    result = await dv.upload_file(upload("brief.pdf", 1000, contact_id))
    assert result.ok and result.error is None, result.error
    url = dv.document_url("D-1") or ""
    assert url.endswith("/contact/C-1/brief.pdf")
    rows = await dv.read_by_ids(
        "sharepointdocumentlocation", [result.destination_id], ["name", "absoluteurl", "regardingobjectid"]
    )
    location = rows[result.destination_id]
    assert location["name"] == "brief.pdf" and location["regardingobjectid"] == contact_id
    assert url.startswith(location["absoluteurl"])
    item = await dv.api.get_json("/graph/v1.0/sites/sandbox/drive/root:/contact/C-1/brief.pdf")
    assert item["size"] == 1000


async def test_reuploading_the_same_file_updates_its_location(dv):
    contact_id = await parent(dv)
    first = await dv.upload_file(upload("brief.pdf", 10, contact_id))
    second = await dv.upload_file(upload("brief.pdf", 20, contact_id))
    assert second.operation == "updated" and second.destination_id == first.destination_id


async def test_large_file_is_uploaded_in_320_kib_multiple_chunks(dv):
    contact_id = await parent(dv)
    size = 5 * MIB + 123
    result = await dv.upload_file(upload("scan.pdf", size, contact_id))
    assert result.ok, result.error
    item = await dv.api.get_json("/graph/v1.0/sites/sandbox/drive/root:/contact/C-1/scan.pdf")
    assert item["size"] == size


async def test_oversize_file_is_refused_with_the_413_message(state: Path, dv):
    SqliteState(state, "").set_options({"document_max_bytes": 5 * MIB})
    contact_id = await parent(dv)
    result = await dv.upload_file(upload("huge.pdf", 6 * MIB, contact_id))
    assert not result.ok and result.error.startswith("maxFileSizeExceeded"), result.error


async def test_unsafe_file_name_is_made_safe(dv):
    contact_id = await parent(dv)
    result = await dv.upload_file(upload('../re: "x"?.pdf', 5, contact_id))
    assert result.ok, result.error
    assert (dv.document_url("D-1") or "").endswith("/contact/C-1/_re_ _x__.pdf")


# -- rollback of files, environments without SharePoint, notes as file storage ------------------------
def listing(state: Path) -> list[str]:
    return [d["path"] for d in document_listing(state)]


async def test_deleting_a_document_location_deletes_its_file(state: Path, dv):
    contact_id = await parent(dv)
    result = await dv.upload_file(upload("brief.pdf", 10, contact_id))
    assert listing(state) == ["contact/C-1/brief.pdf"]
    [deleted] = await dv.delete("sharepointdocumentlocation", [result.destination_id])
    assert deleted.ok and deleted.operation == "deleted"
    assert listing(state) == [] and await dv.read_files("sharepointdocumentlocation", [result.destination_id]) == {}
    [again] = await dv.delete_files("sharepointdocumentlocation", [result.destination_id])
    assert again.ok  # already gone counts as deleted


async def test_a_file_another_location_still_points_at_is_kept(state: Path, dv):
    contact_id = await parent(dv)
    first = await dv.upload_file(upload("same.pdf", 10, contact_id, external_id="D-1"))
    second = await dv.upload_file(upload("same.pdf", 10, contact_id, external_id="D-2"))
    await dv.delete_files("sharepointdocumentlocation", [first.destination_id])
    assert listing(state) == ["contact/C-1/same.pdf"]
    await dv.delete_files("sharepointdocumentlocation", [second.destination_id])
    assert listing(state) == []


async def test_without_sharepoint_a_document_store_upload_waits_and_auto_goes_to_a_note(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    reset(state, sharepoint_site=False)
    dv = connector(state)
    try:
        await dv.apply_schema(
            [
                TableRequirement(
                    "contact", columns=(ColumnRequirement("cs_externalid", "string"),), keys={"k": ("cs_externalid",)}
                )
            ]
        )
        contact_id = await parent(dv)
        waiting = replace(upload("brief.pdf", 10, contact_id), store="document_store")
        with pytest.raises(DestinationNotReady, match="SharePoint"):
            await dv.upload_file(waiting)
        note = replace(upload("brief.pdf", 1000, contact_id), created_at="2021-03-04T05:06:07Z")
        result = await dv.upload_file(note)
        assert result.ok and result.operation == "created", result.error
        again = await dv.upload_file(replace(upload("brief.pdf", 1000, contact_id), store="attachment"))
        assert (again.operation, again.destination_id) == ("updated", result.destination_id)
        files = await dv.read_files("annotation", [result.destination_id])
        assert files[result.destination_id] == {
            "name": "brief.pdf",
            "folder": None,
            "size": 1000,
            "parent_id": contact_id,
            "mime_type": "application/pdf",
        }
        created = await dv.read_by_ids("annotation", [result.destination_id], ["createdon", "isdocument"])
        assert created[result.destination_id]["createdon"].startswith("2021-03-04T05:06:07")
        [deleted] = await dv.delete_files("annotation", [result.destination_id])
        assert deleted.ok and await dv.read_files("annotation", [result.destination_id]) == {}
    finally:
        await dv.aclose()


async def test_a_note_over_the_upload_size_limit_is_reported_for_that_file(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    reset(state, sharepoint_site=False, max_upload_bytes=1000)
    dv = connector(state)
    try:
        await dv.apply_schema(
            [
                TableRequirement(
                    "contact", columns=(ColumnRequirement("cs_externalid", "string"),), keys={"k": ("cs_externalid",)}
                )
            ]
        )
        result = await dv.upload_file(upload("big.pdf", 2000, await parent(dv)))
        assert not result.ok and result.error.startswith("0x80044a02 Attachment file size is too big.")
    finally:
        await dv.aclose()
