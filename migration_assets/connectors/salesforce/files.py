"""Salesforce Files: a ContentVersion created by a streamed multipart request.

Real shape (reference section 10): `POST /sobjects/ContentVersion` with `multipart/form-data`, an
`entity_content` JSON part (Title, PathOnClient, FirstPublishLocationId, ...) and a `VersionData`
binary part. `FirstPublishLocationId` links the new ContentDocument to the parent record. The body
is an async iterator, so a file is never held whole in memory. Files above the size limit (25 MB by
the seed's rule) are refused before any byte is sent.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from migration_assets.connectors.base import FileUpload, WriteResult
from migration_assets.connectors.multipart import multipart_body, safe_file_name
from migration_assets.connectors.salesforce.client import SalesforceClient, format_errors
from migration_assets.errors import RemoteRejected


def entity_content(upload: FileUpload, folder_field: str | None) -> dict[str, Any]:
    """The `entity_content` JSON of the ContentVersion.

    Args:
        upload: the file and its parent.
        folder_field: field receiving the original folder path (e.g. Description), if the org has one.

    Returns:
        The ContentVersion fields.
    """
    name = safe_file_name(upload.file_name)
    content: dict[str, Any] = {"Title": name.rsplit(".", 1)[0] if "." in name else name, "PathOnClient": name}
    if upload.parent_id:
        content["FirstPublishLocationId"] = upload.parent_id
    if upload.key:  # the external id, so counts, read-back and resume find the file again
        content[upload.key] = upload.external_id
    if folder_field and upload.folder:
        content[folder_field] = f"Original folder: {upload.folder}"[:255]
    return content


async def upload_content_version(
    client: SalesforceClient, upload: FileUpload, *, max_bytes: int, folder_field: str | None
) -> WriteResult:
    """Create a ContentVersion from a streamed file, linked to `upload.parent_id`.

    Args:
        client: the org client.
        upload: the file.
        max_bytes: size limit; larger files are refused without sending anything.
        folder_field: field that keeps the original folder path, or None.

    Returns:
        ok with the ContentVersion id, or ok=False with the reason (size, or the org's error).
    """
    if upload.size > max_bytes:
        return WriteResult(
            upload.external_id,
            False,
            error=(
                f"file {safe_file_name(upload.file_name)!r} is {upload.size} bytes, above the "
                f"{max_bytes}-byte limit per Salesforce file; split or compress it before re-uploading"
            ),
        )
    boundary = "sfboundary" + uuid.uuid4().hex
    entity = entity_content(upload, folder_field)
    parts = [("entity_content", json.dumps(entity), "application/json")]
    body = multipart_body(boundary, parts, "VersionData", entity["PathOnClient"], upload.content_type, upload.content)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    try:
        answer = await client.json("POST", "/sobjects/ContentVersion", content=body, headers=headers)
    except RemoteRejected as exc:
        errors = exc.body if isinstance(exc.body, list) else None
        return WriteResult(upload.external_id, False, error=format_errors(errors) if errors else str(exc))
    return WriteResult(upload.external_id, True, answer["id"], "created")
