"""Documents (files attached to contacts, accounts and deals).

Real (reference section 10): `POST /documents` as multipart/form-data with the parts `file`,
`file_name`, `is_shared` (`true`/`false`), `targetable_id` and `targetable_type`; files listed per
record through `GET /<entity>/{id}/document_associations`; storage quotas vary by plan (seed 002).
Our choices (the response shape and limits are unconfirmed): 201 `{"document": {id, file_name,
content_file_name, content_file_size, content_content_type, is_shared, targetable_type,
targetable_id, creater_id, created_at, updated_at, url}}`; the list as `{"documents": [...], "meta"}`;
`GET /documents/{id}` and the download `GET /documents/{id}/download` (the real API hands out a
storage URL instead); a file above the per-file limit (option `max_file_bytes`, default 20 MB) is
answered 413, an upload that would pass the plan's storage (option `storage_limit_bytes`; by plan
sprout 1 GB, blossom 2 GB, garden 5 GB, estate 10 GB, forest 20 GB) 400, both in the errors envelope;
`Product` targetables are not served.
"""

from __future__ import annotations

import functools

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import no_content, ok
from migration_assets.sandbox.freshsales import records
from migration_assets.sandbox.freshsales.api import Call, endpoint, meta
from migration_assets.sandbox.freshsales.errors import FsError, invalid
from migration_assets.sandbox.freshsales.model import DOCUMENTS, ENTITIES, EntityDef
from migration_assets.sandbox.freshsales.store import (
    add_counter,
    counter,
    get_records,
    next_id,
    now_iso,
    options,
    page_ids,
)
from migration_assets.sandbox.freshsales.validate import prepare

MB, GB = 1024 * 1024, 1024 * 1024 * 1024
MAX_FILE_BYTES = 20 * MB
PLAN_STORAGE = {"sprout": 1 * GB, "blossom": 2 * GB, "garden": 5 * GB, "estate": 10 * GB, "forest": 20 * GB}


def render(conn, values: dict) -> dict:
    out = records.render(conn, DOCUMENTS, values)
    out["url"] = f"/crm/sales/api/documents/{values['id']}/download"
    return out


def _form_fields(form, file: UploadFile) -> dict:
    shared = form.get("is_shared", "false")
    if shared not in ("true", "false"):
        raise invalid("is_shared must be true or false")
    target = form.get("targetable_id")
    if not isinstance(target, str) or not target.isdigit():
        raise invalid("targetable_id must be a record id")
    return {
        "file_name": form.get("file_name") or file.filename,
        "is_shared": shared == "true",
        "targetable_type": form.get("targetable_type"),
        "targetable_id": int(target),
    }


def _check_room(conn, size: int) -> None:
    opts = options(conn)
    per_file = int(opts.get("max_file_bytes") or MAX_FILE_BYTES)
    storage = int(opts.get("storage_limit_bytes") or PLAN_STORAGE.get(str(opts.get("plan")), PLAN_STORAGE["garden"]))
    if size > per_file:
        raise FsError(413, f"The file is {size} bytes; files can be at most {per_file} bytes")
    used = counter(conn, "storage_bytes")
    if used + size > storage:
        raise invalid(f"Not enough storage left for this file: {used} of {storage} bytes used, the file needs {size}")


async def upload(request: Request, call: Call) -> Response:
    """`POST /documents` (multipart)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("Documents are uploaded as multipart/form-data")
    async with request.form(max_part_size=1 * MB) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise invalid("file is required")
        fields = _form_fields(form, file)
        size = int(file.size or 0)
        with call.tx() as conn:
            _check_room(conn, size)
            values = prepare(conn, DOCUMENTS, fields, existing=None, user_id=call.user_id)
            now = now_iso(conn)
            values = {"id": next_id(conn), **values} | {
                "content_file_name": file.filename,
                "content_file_size": size,
                "content_content_type": file.content_type or "application/octet-stream",
                "created_at": now,
                "updated_at": now,
            }
            records.save(conn, DOCUMENTS, values)
            file.file.seek(0)
            conn.execute("insert into blobs(id, content) values (?, ?)", (values["id"], file.file.read()))
            add_counter(conn, "storage_bytes", size)
            body = {"document": render(conn, values)}
    return ok(body, 201)


async def document(request: Request, call: Call) -> Response:
    """`GET` or `DELETE /documents/{id}`."""
    with call.tx() as conn:
        values = records.load(conn, DOCUMENTS, request.path_params["record_id"])
        if request.method == "DELETE":
            records.remove(conn, DOCUMENTS, int(values["id"]))
            return no_content()
        return ok({"document": render(conn, values)})


async def download(request: Request, call: Call) -> Response:
    with call.tx() as conn:
        values = records.load(conn, DOCUMENTS, request.path_params["record_id"])
        row = conn.execute("select content from blobs where id = ?", (values["id"],)).fetchone()
    headers = {"Content-Disposition": f'attachment; filename="{values["content_file_name"]}"'}
    return Response(bytes(row["content"]), media_type=values["content_content_type"], headers=headers)


async def associations(request: Request, call: Call, ent: EntityDef) -> Response:
    """`GET /<entity>/{id}/document_associations`."""
    page, per_page = call.paging()
    with call.tx() as conn:
        parent = records.load(conn, ent, request.path_params["record_id"])
        ids, total = page_ids(
            conn, "documents", [("targetable", "in", [f"{ent.model}:{parent['id']}"])], page, per_page
        )
        found = {int(v["id"]): v for v in get_records(conn, "documents", ids)}
        items = [render(conn, found[i]) for i in ids if i in found]
    return ok({"documents": items, "meta": meta(total, per_page)})


def document_routes(prefix: str) -> list[Route]:
    every = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route(f"{prefix}/documents", endpoint(upload, allowed=("POST",)), methods=every),
        Route(f"{prefix}/documents/{{record_id}}/download", endpoint(download, allowed=("GET",)), methods=every),
        Route(f"{prefix}/documents/{{record_id}}", endpoint(document, allowed=("GET", "DELETE")), methods=every),
    ]
    for ent in ENTITIES.values():
        if ent.model in ("Contact", "SalesAccount", "Deal"):
            handler = endpoint(functools.partial(associations, ent=ent), allowed=("GET",))
            routes.append(Route(f"{prefix}/{ent.name}/{{record_id}}/document_associations", handler, methods=every))
    return routes
