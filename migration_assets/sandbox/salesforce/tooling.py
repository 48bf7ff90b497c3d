"""Custom schema through Tooling-shaped endpoints (shared Salesforce brief).

Real in shape: Tooling sObjects `CustomObject`, `CustomField`, `StandardValueSet` with `FullName` +
`Metadata` bodies (Metadata API types), create 201 `{id, success, errors, warnings, infos}`, PATCH 204,
`DUPLICATE_DEVELOPER_NAME` for an existing name, ids with the real prefixes 01I / 00N.
Deletes (real resources, Tooling sObject DELETE → 204): `DELETE /tooling/sobjects/CustomField/<id>`
removes the field and its data; `DELETE /tooling/sobjects/CustomObject/<id>` removes the object with
its fields and records. Standard objects and fields have no CustomObject/CustomField id, so they
cannot be deleted (404 NOT_FOUND). Invented/unconfirmed: deleting is immediate and final (a real
org keeps deleted fields and objects restorable for 15 days); an object that a lookup field of
another object points at is refused with DELETE_FAILED until that field is deleted.
Invented: everything is deployed synchronously and visible to describe/SOQL/writes at once; PATCH of a
CustomField must keep its type; `GET /tooling/sobjects/StandardValueSet/<Name>` returns only Metadata;
an unknown object in FullName is refused with INVALID_CROSS_REFERENCE_KEY; the key prefix of custom
objects is a0<n>.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import no_content, ok
from migration_assets.sandbox.salesforce.api import ALL_METHODS, Call, endpoint
from migration_assets.sandbox.salesforce.custom import field_from_metadata, object_from_metadata
from migration_assets.sandbox.salesforce.describe import find_object
from migration_assets.sandbox.salesforce.faults import SfError, json_parser_error, method_not_allowed, not_found
from migration_assets.sandbox.salesforce.ids import next_counter, next_id
from migration_assets.sandbox.salesforce.records import Ctx
from migration_assets.sandbox.salesforce.standard import STANDARD_VALUE_SETS

_API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _created(new_id: str) -> Response:
    return ok({"id": new_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201)


async def _body(call: Call) -> dict[str, Any]:
    body = await call.json()
    if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
        raise json_parser_error("Body must be an object with a Metadata object")
    return body


def _check_name(name: str) -> None:
    if not _API_NAME.match(name):
        raise SfError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"Invalid API name: {name} (letters, digits, single underscores, ending in __c)",
            ["FullName"],
        )


async def create_custom_object(request: Request, call: Call) -> Response:
    """`POST /tooling/sobjects/CustomObject`."""
    if request.method != "POST":
        raise method_not_allowed(request.method, "POST")
    body = await _body(call)
    name = str(body.get("FullName") or "")
    _check_name(name)
    with call.tx() as ctx:
        if find_object(ctx.schema, name):
            raise SfError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name}.", ["FullName"])
        tooling_id = next_id(ctx.conn, "01I")
        n = next_counter(ctx.conn, "custom_object_prefix", 0)
        prefix = "a0" + _BASE62[n % 62] if n < 62 else "a1" + _BASE62[n % 62]
        meta = dict(body["Metadata"]) | {"keyPrefix": prefix}
        object_from_metadata(name, meta, prefix, tooling_id)  # validates before storing
        ctx.conn.execute(
            "insert into custom_objects(name, id, definition) values (?, ?, ?)",
            (name, tooling_id, json.dumps(meta)),
        )
    return _created(tooling_id)


def _split_full_name(ctx: Ctx, full_name: str) -> tuple[str, str]:
    sobject, _, field = full_name.partition(".")
    obj = find_object(ctx.schema, sobject)
    if obj is None:
        raise SfError("INVALID_CROSS_REFERENCE_KEY", f"no such entity: {sobject}", ["FullName"])
    _check_name(field)
    return obj.name, field


async def custom_field(request: Request, call: Call) -> Response:
    """`POST /tooling/sobjects/CustomField`."""
    if request.method != "POST":
        raise method_not_allowed(request.method, "POST")
    body = await _body(call)
    with call.tx() as ctx:
        sobject, name = _split_full_name(ctx, str(body.get("FullName") or ""))
        if ctx.schema[sobject].field(name):
            raise SfError(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a field named {name.removesuffix('__c')} on {sobject}.",
                ["FullName"],
            )
        field_from_metadata(name, body["Metadata"], ctx.schema)  # validates before storing
        new_id = next_id(ctx.conn, "00N")
        ctx.conn.execute(
            "insert into custom_fields(id, sobject, name, definition) values (?, ?, ?, ?)",
            (new_id, sobject, name, json.dumps(body["Metadata"])),
        )
    return _created(new_id)


def _field_row(ctx: Ctx, field_id: str) -> Any:
    row = ctx.conn.execute("select * from custom_fields where id = ?", (field_id,)).fetchone()
    if row is None:
        raise not_found()
    return row


def field_view(ctx: Ctx, row: Any) -> dict[str, Any]:
    """A CustomField as the Tooling API shows it (Id, DeveloperName, TableEnumOrId, FullName, Metadata)."""
    obj = ctx.schema[row["sobject"]]
    return {
        "attributes": {"type": "CustomField"},
        "Id": row["id"],
        "DeveloperName": row["name"][:-3],
        "TableEnumOrId": obj.tooling_id or obj.name,
        "FullName": f"{row['sobject']}.{row['name']}",
        "Metadata": json.loads(row["definition"]),
    }


async def custom_field_by_id(request: Request, call: Call) -> Response:
    """`GET|PATCH|DELETE /tooling/sobjects/CustomField/<id>` (PATCH replaces the whole Metadata)."""
    field_id = request.path_params["field_id"]
    if request.method == "GET":
        with call.tx() as ctx:
            return ok(field_view(ctx, _field_row(ctx, field_id)))
    if request.method == "DELETE":
        with call.tx() as ctx:
            row = _field_row(ctx, field_id)
            ctx.conn.execute("delete from custom_fields where id = ?", (field_id,))
            _strip_field(ctx, row["sobject"], row["name"])
        return no_content()
    if request.method != "PATCH":
        raise method_not_allowed(request.method, "GET,PATCH,DELETE")
    body = await _body(call)
    with call.tx() as ctx:
        row = _field_row(ctx, field_id)
        old_type = json.loads(row["definition"]).get("type")
        if body["Metadata"].get("type") != old_type:
            raise SfError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Cannot change the type of {row['name']} from {old_type}",
                ["type"],
            )
        field_from_metadata(row["name"], body["Metadata"], ctx.schema)
        ctx.conn.execute(
            "update custom_fields set definition = ? where id = ?", (json.dumps(body["Metadata"]), field_id)
        )
    return no_content()


def _strip_field(ctx: Ctx, sobject: str, name: str) -> None:
    """A deleted field's data goes with it (records of every state) and so does its key index."""
    rows = ctx.conn.execute("select id, data from records where sobject = ?", (sobject,)).fetchall()
    for row in rows:
        data = json.loads(row["data"])
        if name in data:
            data.pop(name)
            ctx.conn.execute("update records set data = ? where id = ?", (json.dumps(data), row["id"]))
    ctx.conn.execute("delete from record_keys where sobject = ? and field = ?", (sobject, name))


async def custom_object_by_id(request: Request, call: Call) -> Response:
    """`GET|DELETE /tooling/sobjects/CustomObject/<id>`."""
    object_id = request.path_params["object_id"]
    with call.tx() as ctx:
        row = ctx.conn.execute("select name, id, definition from custom_objects where id = ?", (object_id,)).fetchone()
        if row is None:
            raise not_found()
        name = row["name"]
        if request.method == "GET":
            view = {"Id": row["id"], "DeveloperName": name[:-3], "FullName": name}
            return ok({"attributes": {"type": "CustomObject"}, **view, "Metadata": json.loads(row["definition"])})
        if request.method != "DELETE":
            raise method_not_allowed(request.method, "GET,DELETE")
        for other in ctx.schema.values():
            if other.name == name:
                continue
            for f in other.fields.values():
                if f.custom and name in (f.reference_to or ()):
                    raise SfError(
                        "DELETE_FAILED",
                        f"Cannot delete {name}: the lookup field {other.name}.{f.name} refers to it. "
                        "Delete that field first.",
                    )
        ids = [r["id"] for r in ctx.conn.execute("select id from records where sobject = ?", (name,))]
        ctx.conn.execute("delete from records where sobject = ?", (name,))
        ctx.conn.executemany("delete from record_keys where id = ?", [(i,) for i in ids])
        ctx.conn.execute("delete from custom_fields where sobject = ?", (name,))
        ctx.conn.execute("delete from picklist_overrides where sobject = ?", (name,))
        ctx.conn.execute("delete from custom_objects where id = ?", (object_id,))
    return no_content()


def _standard_values(meta: dict[str, Any]) -> list[dict[str, Any]]:
    raw = meta.get("standardValue")
    if not isinstance(raw, list) or not raw:
        raise SfError("FIELD_INTEGRITY_EXCEPTION", "standardValue must list at least one value", ["standardValue"])
    values = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("fullName"), str) or not entry["fullName"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "every standardValue needs a fullName", ["standardValue"])
        values.append(
            {
                "value": entry["fullName"],
                "label": str(entry.get("label") or entry["fullName"]),
                "default": bool(entry.get("default", False)),
                "closed": bool(entry.get("closed", False)),
            }
        )
    if sum(v["default"] for v in values) > 1:
        raise SfError("FIELD_INTEGRITY_EXCEPTION", "only one value can be the default", ["standardValue"])
    return values


async def standard_value_set(request: Request, call: Call) -> Response:
    """`GET|PATCH /tooling/sobjects/StandardValueSet/<Name>`: the full list replaces the old one."""
    name = request.path_params["name"]
    if name not in STANDARD_VALUE_SETS:
        raise not_found()
    sobject, field = STANDARD_VALUE_SETS[name]
    if request.method == "GET":
        with call.tx() as ctx:
            values = ctx.schema[sobject].fields[field].picklist
        return ok(
            {
                "attributes": {"type": "StandardValueSet"},
                "MasterLabel": name,
                "Metadata": {
                    "standardValue": [
                        {"fullName": p.value, "label": p.label, "default": p.default, "closed": p.closed}
                        for p in values
                    ]
                },
            }
        )
    if request.method != "PATCH":
        raise method_not_allowed(request.method, "GET,PATCH")
    values = _standard_values((await _body(call))["Metadata"])
    with call.tx() as ctx:
        ctx.conn.execute(
            "insert into picklist_overrides(sobject, field, vals) values (?, ?, ?) on conflict"
            "(sobject, field) do update set vals = excluded.vals",
            (sobject, field, json.dumps(values)),
        )
    return no_content()


ROUTES = [
    ("/tooling/sobjects/CustomObject", endpoint(create_custom_object), ALL_METHODS),
    ("/tooling/sobjects/CustomObject/{object_id}", endpoint(custom_object_by_id), ALL_METHODS),
    ("/tooling/sobjects/CustomField", endpoint(custom_field), ALL_METHODS),
    ("/tooling/sobjects/CustomField/{field_id}", endpoint(custom_field_by_id), ALL_METHODS),
    ("/tooling/sobjects/StandardValueSet/{name}", endpoint(standard_value_set), ALL_METHODS),
]
