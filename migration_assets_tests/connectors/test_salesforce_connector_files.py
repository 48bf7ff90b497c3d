"""Salesforce connector: ContentVersion upload (streamed multipart) and size refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from migration_assets.connectors.base import FileUpload, TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.connectors.salesforce.files import safe_file_name
from migration_assets.connectors.salesforce.soql import query_records, quote, select
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets_tests.connectors.destinations import connect_salesforce

KEY = "Case_External_ID__c"


class Chunks:
    """An async byte stream that remembers whether anyone read it."""

    def __init__(self, *parts: bytes) -> None:
        self.parts, self.read = parts, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.read = True
        for part in self.parts:
            yield part


async def case_id(sf: SalesforceDestination) -> str:
    await sf.apply_schema([TableRequirement("Case", keys={KEY: (KEY,)})])
    [result] = await sf.upsert("Case", KEY, [UpsertRow("C-1", {"Subject": "Matter"})])
    return str(result.destination_id)


def upload(content: Chunks, size: int, parent: str | None, name: str = "brief.pdf") -> FileUpload:
    return FileUpload("D-1", name, "Pleadings/2024", size, content.__aiter__(), "application/pdf", "Case", parent)


def test_safe_file_name_drops_folders_and_reserved_characters() -> None:
    assert safe_file_name("../../etc/pa:ss*wd?.txt") == "pa_ss_wd_.txt"
    assert safe_file_name("C:\\docs\\Brief <final>.pdf") == "Brief _final_.pdf"
    assert safe_file_name("...") == "file"
    long = safe_file_name("x" * 300 + ".docx")
    assert len(long) == 255 and long.endswith(".docx")


async def test_upload_creates_a_content_version_linked_to_the_parent(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path)
    parent = await case_id(sf)
    data = Chunks(b"%PDF-1.4 ", b"x" * 5000, b" end")
    result = await sf.upload_file(upload(data, 5013, parent, name="folder/Brief, v2.pdf"))
    assert result.ok and result.operation == "created" and str(result.destination_id).startswith("068")
    got = await sf.read_by_ids(
        "ContentVersion",
        [result.destination_id],
        ["Title", "PathOnClient", "ContentDocumentId", "Description"],
    )
    version = got[str(result.destination_id)]
    assert version["PathOnClient"] == "Brief, v2.pdf" and version["Title"] == "Brief, v2"
    assert version["Description"] == "Original folder: Pleadings/2024" and version["ContentDocumentId"]
    where = f"LinkedEntityId = {quote(parent)}"
    links = await query_records(sf.client, select(["ContentDocumentId"], "ContentDocumentLink", where))
    assert [link["ContentDocumentId"] for link in links] == [version["ContentDocumentId"]]
    await sf.aclose()


async def test_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path, max_file_bytes=1000)
    data = Chunks(b"x" * 1001)
    result = await sf.upload_file(upload(data, 1001, None))
    assert not result.ok and "above the 1000-byte limit" in (result.error or "") and not data.read
    await sf.aclose()


async def test_org_refusal_of_a_large_file_is_reported_per_file(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path)
    parent = await case_id(sf)
    open_state(tmp_path / "salesforce.sqlite").set_options({"max_file_bytes": 100})
    result = await sf.upload_file(upload(Chunks(b"y" * 500), 500, parent))
    assert not result.ok and result.error
    await sf.aclose()


@pytest.mark.parametrize("name", ["report.pdf", "a/b/c.txt"])
def test_safe_name_keeps_the_extension(name: str) -> None:
    assert safe_file_name(name).rsplit(".", 1)[1] in ("pdf", "txt")
