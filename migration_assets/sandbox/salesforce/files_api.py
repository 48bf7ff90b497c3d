"""ContentVersion HTTP surface: multipart create and `GET .../ContentVersion/<id>/VersionData`.

Real: multipart/form-data with an `entity_content` JSON part and a `VersionData` binary part (with a
filename); the bytes served back as application/octet-stream. The part is spooled to disk by the
multipart parser, then copied into the blob folder with the size limit checked while copying.
"""

from __future__ import annotations

import json

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response

from migration_assets.sandbox._common import ok
from migration_assets.sandbox.salesforce import files, records
from migration_assets.sandbox.salesforce.api import Call
from migration_assets.sandbox.salesforce.faults import SfError, json_parser_error, not_found
from migration_assets.sandbox.salesforce.store import option


async def create_multipart(request, call: Call) -> Response:
    """`POST /sobjects/ContentVersion` as multipart: 201 `{id, success, errors}`.

    Raises:
        SfError: JSON_PARSER_ERROR for a missing/invalid `entity_content`, REQUIRED_FIELD_MISSING without a
            `VersionData` part, FILE_SIZE_LIMIT_EXCEEDED past `max_file_bytes`, validation failures.
    """
    async with request.form(max_part_size=10 * 1024 * 1024) as form:
        entity = form.get("entity_content")
        if isinstance(entity, UploadFile):
            entity = (await entity.read()).decode("utf-8", "replace")
        try:
            values = json.loads(entity) if entity else None
        except ValueError:
            values = None
        if not isinstance(values, dict):
            raise json_parser_error("entity_content must be a JSON object")
        upload = form.get("VersionData")
        if not isinstance(upload, UploadFile):
            raise SfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [VersionData]", ["VersionData"])
        with call.tx() as ctx:
            limit = int(option(ctx.conn, "max_file_bytes"))
            if upload.size is not None and upload.size > limit:
                raise files.too_large(upload.size, limit)
            upload.file.seek(0)
            new_id = records.insert(ctx, ctx.obj("ContentVersion"), values, blob=upload.file)
    return ok({"id": new_id, "success": True, "errors": []}, 201)


async def version_data(call: Call, version_id: str) -> Response:
    """The bytes of one ContentVersion."""
    with call.tx() as ctx:
        record = records.load(ctx, ctx.obj("ContentVersion"), version_id)
    path = files.blob_path(call.service.blobs, record["Id"])
    if not path.exists():
        raise not_found()
    return FileResponse(path, media_type="application/octet-stream")
