"""sObject REST resources: global and object describe, create, read, update, delete, upsert.

Real (reference §3, §4): 201 `{id, success, errors}` on create; GET with `attributes {type,url}` and
`?fields=`; PATCH 204; DELETE 204; upsert by external id 201 `created:true` / 200 `created:false` /
300 with the matching record URLs / 404 NOT_FOUND for a field that is not an external id;
`?updateOnly=true`; 405 METHOD_NOT_ALLOWED bodies. Invented: a body that repeats the URL's external id
with another value is refused with INVALID_FIELD (the real behaviour is unconfirmed).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox._common import no_content, ok
from migration_assets.sandbox.salesforce import files_api, records
from migration_assets.sandbox.salesforce.api import ALL_METHODS, Call, endpoint
from migration_assets.sandbox.salesforce.describe import describe_object, describe_summary, find_object
from migration_assets.sandbox.salesforce.faults import (
    SfError,
    invalid_field,
    json_parser_error,
    method_not_allowed,
    not_found,
)
from migration_assets.sandbox.salesforce.records import Ctx
from migration_assets.sandbox.salesforce.render import render_record
from migration_assets.sandbox.salesforce.schema import ObjectDef
from migration_assets.sandbox.salesforce.store import find_by_key


def object_or_404(ctx: Ctx, name: str) -> ObjectDef:
    """The object named `name`, or 404 NOT_FOUND."""
    obj = find_object(ctx.schema, name)
    if obj is None:
        raise not_found()
    return obj


async def body_object(call: Call) -> dict:
    """The JSON body, which must be an object (else JSON_PARSER_ERROR)."""
    body = await call.json()
    if not isinstance(body, dict):
        raise json_parser_error("Can not deserialize SObject out of non-object JSON")
    return body


async def global_describe(request: Request, call: Call) -> Response:
    """`GET /sobjects`: every object of the org."""
    if request.method != "GET":
        raise method_not_allowed(request.method, "GET,HEAD")
    with call.tx() as ctx:
        objects = [describe_summary(o, f"v{call.version}") for o in ctx.schema.values()]
    return ok({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})


async def sobject_root(request: Request, call: Call) -> Response:
    """`GET /sobjects/<O>` (basic info) and `POST /sobjects/<O>` (create)."""
    name = request.path_params["sobject"]
    if request.method == "GET":
        with call.tx() as ctx:
            obj = object_or_404(ctx, name)
            return ok({"objectDescribe": describe_summary(obj, f"v{call.version}"), "recentItems": []})
    if request.method != "POST":
        raise method_not_allowed(request.method, "GET,HEAD,POST")
    if name.lower() == "contentversion" and request.headers.get("content-type", "").startswith("multipart/"):
        return await files_api.create_multipart(request, call)
    body = await body_object(call)
    with call.tx() as ctx:
        new_id = records.insert(ctx, object_or_404(ctx, name), body)
    return ok({"id": new_id, "success": True, "errors": []}, 201)


async def describe(request: Request, call: Call) -> Response:
    """`GET /sobjects/<O>/describe`."""
    if request.method != "GET":
        raise method_not_allowed(request.method, "GET,HEAD")
    with call.tx() as ctx:
        obj = object_or_404(ctx, request.path_params["sobject"])
        return ok(describe_object(ctx.schema, obj, f"v{call.version}"))


async def record(request: Request, call: Call) -> Response:
    """`GET|PATCH|DELETE /sobjects/<O>/<id>`; `POST /sobjects/<O>/Id` creates (v37.0+)."""
    name, record_id = request.path_params["sobject"], request.path_params["record_id"]
    if request.method == "GET":
        fields = request.query_params.get("fields")
        with call.tx() as ctx:
            obj = object_or_404(ctx, name)
            values = records.load(ctx, obj, record_id)
            return ok(render_record(obj, values, call.version, _field_list(obj, fields)))
    if request.method == "POST" and record_id.lower() == "id":
        body = await body_object(call)
        with call.tx() as ctx:
            new_id = records.insert(ctx, object_or_404(ctx, name), body)
        return ok({"id": new_id, "success": True, "errors": [], "created": True}, 201)
    if request.method == "PATCH":
        body = await body_object(call)
        with call.tx() as ctx:
            records.update(ctx, object_or_404(ctx, name), record_id, body)
        return no_content()
    if request.method == "DELETE":
        with call.tx() as ctx:
            records.delete(ctx, object_or_404(ctx, name), record_id)
        return no_content()
    raise method_not_allowed(request.method, "GET,HEAD,PATCH,DELETE")


def _field_list(obj: ObjectDef, fields: str | None) -> list[str] | None:
    if not fields:
        return None
    names = []
    for raw in fields.split(","):
        f = obj.field(raw.strip())
        if f is None:
            raise invalid_field(raw.strip(), obj.name)
        names.append(f.name)
    return ["Id", *[n for n in names if n != "Id"]]


async def by_external_id(request: Request, call: Call) -> Response:
    """`PATCH /sobjects/<O>/<ExtField>/<value>` (upsert), `GET` of the same (read), VersionData bytes."""
    name, field, value = (request.path_params[k] for k in ("sobject", "field", "value"))
    if request.method == "GET" and value == "VersionData" and name.lower() == "contentversion":
        return await files_api.version_data(call, field)
    if request.method == "GET":
        with call.tx() as ctx:
            obj = object_or_404(ctx, name)
            f = records.external_id_field(obj, field)
            ids = find_by_key(ctx.conn, obj.name, f.name, value)
            if len(ids) != 1:
                raise (not_found() if not ids else SfError("DUPLICATE_EXTERNAL_ID", "more than one record", status=300))
            return ok(render_record(obj, records.load(ctx, obj, ids[0]), call.version))
    if request.method != "PATCH":
        raise method_not_allowed(request.method, "GET,HEAD,PATCH")
    body = await body_object(call)
    update_only = request.query_params.get("updateOnly", "false").lower() == "true"
    try:
        with call.tx() as ctx:
            obj = object_or_404(ctx, name)
            record_id, created = records.upsert(ctx, obj, field, value, body, update_only=update_only)
    except SfError as err:
        if err.status == 300:
            return _multiple_choices(call, name, field, value)
        raise
    body_out = {"id": record_id, "success": True, "errors": [], "created": created}
    return ok(body_out, 201 if created else 200)


def _multiple_choices(call: Call, name: str, field: str, value: str) -> Response:
    """300 with the URLs of every record matching the external id."""
    with call.tx() as ctx:
        obj = object_or_404(ctx, name)
        ids = find_by_key(ctx.conn, obj.name, records.external_id_field(obj, field).name, value)
    return JSONResponse([call.url(f"sobjects/{obj.name}/{i}") for i in ids], status_code=300)


ROUTES = [
    ("/sobjects", endpoint(global_describe), ALL_METHODS),
    ("/sobjects/{sobject}", endpoint(sobject_root), ALL_METHODS),
    ("/sobjects/{sobject}/describe", endpoint(describe), ALL_METHODS),
    ("/sobjects/{sobject}/{record_id}", endpoint(record), ALL_METHODS),
    (
        "/sobjects/{sobject}/{field}/{value:path}",
        endpoint(by_external_id),
        ["GET", "POST", "PATCH", "PUT", "DELETE"],
    ),
]
