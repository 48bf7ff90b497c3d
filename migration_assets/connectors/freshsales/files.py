"""Documents: a file streamed as multipart/form-data to `POST /documents`, linked to its record.

Wire format (reference section 10): parts `file` (the bytes, with a file name), `file_name`,
`is_shared`, `targetable_type` and `targetable_id`; the targets are contacts, accounts and deals. A
document carries no field for an external id, so an upload is found again by its parent's
`GET /<entity>/{id}/document_associations` and the same file name and size: an upload whose answer
was lost is looked up there before it is sent again, and a file already on the record is not sent
twice. Files above the per-file limit are refused before any byte is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from migration_assets.connectors.base import FileUpload, WriteResult
from migration_assets.connectors.freshsales.client import FreshsalesClient, error_messages
from migration_assets.connectors.freshsales.settings import TABLES
from migration_assets.connectors.multipart import multipart_body, safe_file_name
from migration_assets.errors import AuthError, BudgetExhausted, ConnectorError, RemoteRejected


async def find_document(client: FreshsalesClient, entity: str, parent_id: str, name: str, size: int) -> str | None:
    """The id of a document named `name` of `size` bytes on the record, or None."""
    async for items in client.pages(
        f"{entity}/{parent_id}/document_associations", "documents", what="a documents list"
    ):
        for doc in items:
            stored = doc.get("content_file_size")
            if doc.get("file_name") == name and stored is not None and int(stored) == size:  # 0 bytes too
                return str(doc["id"])
    return None


async def upload(client: FreshsalesClient, upload: FileUpload, *, max_bytes: int) -> WriteResult:
    """Store one file on its parent record (see module docstring).

    Returns:
        ok with the document id ("created", or "updated" when the same file was there already), or
        ok=False with the reason (size, target, or the account's error).

    Raises:
        BudgetExhausted, AuthError: the run must stop.
    """
    name = safe_file_name(upload.file_name)
    tdef = TABLES.get(str(upload.parent_table))
    if tdef is None or tdef.model not in ("Contact", "SalesAccount", "Deal") or not upload.parent_id:
        return WriteResult(upload.external_id, False, error=f"{name!r}: files attach to contacts, accounts and deals")
    if upload.size > max_bytes:
        return WriteResult(
            upload.external_id,
            False,
            error=f"file {name!r} is {upload.size} bytes, above the {max_bytes}-byte limit per Freshsales file",
        )
    client.ensure(2, f"the upload of {name!r}")
    found = await find_document(client, tdef.entity, upload.parent_id, name, upload.size)
    if found:
        return WriteResult(upload.external_id, True, found, "updated")
    fields = {
        "file_name": name,
        "is_shared": "false",
        "targetable_type": str(tdef.model),
        "targetable_id": upload.parent_id,
    }
    boundary = "fsboundary" + uuid.uuid4().hex
    parts = [(key, value, None) for key, value in fields.items()]
    body = multipart_body(boundary, parts, "file", name, upload.content_type, upload.content)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    try:
        answer = await client.json("POST", "documents", content=body, headers=headers, create=True)
    except (BudgetExhausted, AuthError):
        raise
    except RemoteRejected as exc:
        return WriteResult(upload.external_id, False, error="; ".join(error_messages(exc.body)) or str(exc))
    except ConnectorError as exc:  # the answer was lost: the upload may have happened
        found = await find_document(client, tdef.entity, upload.parent_id, name, upload.size)
        if found:
            return WriteResult(upload.external_id, True, found, "created")
        return WriteResult(upload.external_id, False, error=f"upload of {name!r} interrupted: {exc}")
    return WriteResult(upload.external_id, True, str(answer["document"]["id"]), "created")


def file_info(document: Mapping[str, Any]) -> dict[str, Any]:
    """A document as `read_files` reports it: name, size, parent, and no folder (Freshsales has none)."""
    return {
        "name": document.get("file_name"),
        "size": document.get("content_file_size"),
        "parent_id": None if document.get("targetable_id") is None else str(document["targetable_id"]),
        "folder": None,
    }
