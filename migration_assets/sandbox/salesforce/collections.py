"""sObject Collections: create, update, upsert by external id, delete and retrieve up to 200 records.

Real (reference §6): 200 with results in request order; per-item errors use `statusCode`; allOrNone
rolls everything back and other items report ALL_OR_NONE_OPERATION_ROLLED_BACK; more than 200 records
is a 400 EXCEEDED_ID_LIMIT; more than 10 contiguous same-type chunks is a 400 (code
EXCEEDED_MAX_TYPES_LIMIT, from memory); upsert results carry `created`; a body that cannot be deserialised
(JSON_PARSER_ERROR, e.g. text in a number field) fails the whole request with 400.
Invented (exact real behaviour unconfirmed): a record without `attributes.type` fails the whole request
with 400 INVALID_TYPE; a type other than the URL's in an upsert is a per-item INVALID_TYPE; the same
external id twice in one upsert request fails both items with DUPLICATE_EXTERNAL_ID.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import ok, savepoint
from migration_assets.sandbox.salesforce import records
from migration_assets.sandbox.salesforce.api import ALL_METHODS, Call, endpoint
from migration_assets.sandbox.salesforce.describe import find_object, object_for_prefix
from migration_assets.sandbox.salesforce.faults import SfError, json_parser_error, method_not_allowed
from migration_assets.sandbox.salesforce.ids import to18
from migration_assets.sandbox.salesforce.records import Ctx
from migration_assets.sandbox.salesforce.render import render_record
from migration_assets.sandbox.salesforce.store import get_record

MAX_RECORDS = 200
MAX_CHUNKS = 10  # contiguous runs of one type in a mixed create
ROLLED_BACK = SfError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)

Operation = Callable[[Ctx, dict[str, Any]], dict[str, Any]]


def too_many() -> SfError:
    """400 EXCEEDED_ID_LIMIT for more than 200 records or ids."""
    return SfError(
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
    )


async def _request(call: Call) -> tuple[bool, list[dict[str, Any]]]:
    """(allOrNone, records) of a collections body, with the whole-request checks."""
    body = await call.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise json_parser_error("Body must be an object with a records array")
    items = body["records"]
    if len(items) > MAX_RECORDS:
        raise too_many()
    for item in items:
        if not isinstance(item, dict) or not isinstance((item.get("attributes") or {}).get("type"), str):
            raise SfError("INVALID_TYPE", "Must send a concrete entity type.")
    types = [item["attributes"]["type"].lower() for item in items]
    chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
    if chunks > MAX_CHUNKS:
        raise SfError(
            "EXCEEDED_MAX_TYPES_LIMIT",
            "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking.",
        )
    return bool(body.get("allOrNone", False)), items


def _obj(ctx: Ctx, item: dict[str, Any]):
    obj = find_object(ctx.schema, item["attributes"]["type"])
    if obj is None:
        raise SfError("INVALID_TYPE", f"sObject type '{item['attributes']['type']}' is not supported.")
    return obj


def run_items(
    ctx: Ctx,
    items: list[Any],
    all_or_none: bool,
    operation: Operation,
    pre_errors: dict[int, SfError] | None = None,
) -> list[dict[str, Any]]:
    """Apply `operation` to each item in its own savepoint; allOrNone rolls back the lot on any failure.

    Raises:
        SfError: JSON_PARSER_ERROR from any item (the whole request fails, as deserialisation does).
    """
    results: list[dict[str, Any]] = []
    failed = False
    ctx.conn.execute("savepoint batch")
    for index, item in enumerate(items):
        try:
            if pre_errors and index in pre_errors:
                raise pre_errors[index]
            with savepoint(ctx.conn, "item"):
                results.append(operation(ctx, item))
        except SfError as err:
            if err.code == "JSON_PARSER_ERROR":
                ctx.conn.execute("rollback to batch")
                raise
            failed = True
            results.append({"id": None, "success": False, "errors": [err.item_error()]})
    if all_or_none and failed:
        ctx.conn.execute("rollback to batch")
        results = [
            r if not r["success"] else {"id": None, "success": False, "errors": [ROLLED_BACK.item_error()]}
            for r in results
        ]
    ctx.conn.execute("release batch")
    return results


def _create(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    return {"id": records.insert(ctx, _obj(ctx, item), item), "success": True, "errors": []}


def _update(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    record_id = next((v for k, v in item.items() if k.lower() == "id"), None)
    if not record_id:
        raise SfError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    return {"id": records.update(ctx, _obj(ctx, item), str(record_id), item), "success": True, "errors": []}


async def composite_sobjects(request: Request, call: Call) -> Response:
    """`POST` (create), `PATCH` (update by Id), `DELETE ?ids=` and `GET` (retrieve) on /composite/sobjects."""
    if request.method == "DELETE":
        return await _delete(request, call)
    if request.method not in ("POST", "PATCH"):
        raise method_not_allowed(request.method, "POST,PATCH,DELETE")
    all_or_none, items = await _request(call)
    with call.tx() as ctx:
        results = run_items(ctx, items, all_or_none, _create if request.method == "POST" else _update)
    return ok(results)


async def _delete(request: Request, call: Call) -> Response:
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if not ids:
        raise SfError("MISSING_ARGUMENT", "ids parameter is required", ["ids"])
    if len(ids) > MAX_RECORDS:
        raise too_many()
    all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

    def remove(ctx: Ctx, record_id: str) -> dict[str, Any]:
        full = to18(record_id)
        if full is None:
            raise SfError("MALFORMED_ID", f"malformed id {record_id}")
        obj = object_for_prefix(ctx.schema, full[:3])
        found = get_record(ctx.conn, full)
        if obj is None or found is None:
            raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if found[2]:
            raise SfError("ENTITY_IS_DELETED", "entity is deleted")
        return {"id": records.delete(ctx, obj, full), "success": True, "errors": []}

    with call.tx() as ctx:
        return ok(run_items(ctx, ids, all_or_none, remove))


async def composite_upsert(request: Request, call: Call) -> Response:
    """`PATCH /composite/sobjects/<O>/<ExtField>`: upsert up to 200 records of one type."""
    if request.method != "PATCH":
        raise method_not_allowed(request.method, "PATCH")
    all_or_none, items = await _request(call)
    with call.tx() as ctx:
        obj = find_object(ctx.schema, request.path_params["sobject"])
        if obj is None:
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        ext = records.external_id_field(obj, request.path_params["field"])
        keys = [next((v for k, v in item.items() if k.lower() == ext.name.lower()), None) for item in items]
        repeated = {k for k, n in Counter(str(k).lower() for k in keys if k is not None).items() if n > 1}
        pre_errors = {
            i: SfError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {keys[i]}", [ext.name])
            for i in range(len(items))
            if keys[i] is not None and str(keys[i]).lower() in repeated
        }

        def upsert(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
            if _obj(ctx, item).name != obj.name:
                raise SfError("INVALID_TYPE", f"Record type must be {obj.name}")
            key = next((v for k, v in item.items() if k.lower() == ext.name.lower()), None)
            if key in (None, ""):
                raise SfError("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name])
            try:
                record_id, created = records.upsert(ctx, obj, ext.name, key, item)
            except SfError as err:
                if err.status == 300:
                    raise SfError(
                        "DUPLICATE_EXTERNAL_ID",
                        f"{ext.name}: more than one record found for external id field: {key}",
                        [ext.name],
                    ) from None
                raise
            return {"id": record_id, "success": True, "errors": [], "created": created}

        return ok(run_items(ctx, items, all_or_none, upsert, pre_errors))


async def composite_retrieve(request: Request, call: Call) -> Response:
    """`GET /composite/sobjects/<O>?ids=...&fields=...`: records in order, null where not found."""
    ids = [i for i in request.query_params.get("ids", "").split(",") if i]
    if len(ids) > 2000:
        raise too_many()
    with call.tx() as ctx:
        obj = find_object(ctx.schema, request.path_params["sobject"])
        if obj is None:
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        names = None
        if request.query_params.get("fields"):
            names = ["Id"] + [
                records.require_field(obj, n).name
                for n in request.query_params["fields"].split(",")
                if n.strip().lower() != "id"
            ]
        out = []
        for record_id in ids:
            try:
                out.append(render_record(obj, records.load(ctx, obj, record_id), call.version, names))
            except SfError:
                out.append(None)
    return ok(out)


async def composite_object(request: Request, call: Call) -> Response:
    """`/composite/sobjects/<O>`: only GET (retrieve) exists."""
    if request.method == "GET":
        return await composite_retrieve(request, call)
    raise method_not_allowed(request.method, "GET")


ROUTES = [
    ("/composite/sobjects", endpoint(composite_sobjects), ALL_METHODS),
    ("/composite/sobjects/{sobject}", endpoint(composite_object), ALL_METHODS),
    ("/composite/sobjects/{sobject}/{field}", endpoint(composite_upsert), ALL_METHODS),
]
