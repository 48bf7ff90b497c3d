"""Record routes: create, retrieve, upsert (PATCH) and delete of one record (checklist 8-9).

Real: 204 + OData-EntityId (201/200 with `Prefer: return=representation`, which here also keeps
OData-EntityId so `$n` batch references work), PATCH creates a missing record unless `If-Match`,
`If-Match: *` → 404 when missing, `If-None-Match: *` → 412 when present, stale `If-Match: W/"n"`
→ 412, key columns in a key-addressed body must equal the URL values, case-sensitive entity sets
(404 0x8006088a), activitypointer is read-only.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, not_found_segment
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.odata import is_guid, normalize, parse_key
from migration_assets.sandbox.dataverse.references import DUPLICATE_KEY, find_by_key, missing
from migration_assets.sandbox.dataverse.render import render
from migration_assets.sandbox.dataverse.writes import check_privilege, save


def entity_for_set(ctx: Ctx, name: str) -> Entity:
    """The table behind an entity set name (case-sensitive), or 404 0x8006088a."""
    entity = ctx.catalog.by_set.get(name)
    if entity is None:
        raise not_found_segment(name)
    return entity


def locate(ctx: Ctx, entity: Entity, args: str) -> tuple[str | None, dict[str, Any]]:
    """Record id addressed by `(<guid>)` or `(key=value,…)` (None when absent) and key values."""
    key = parse_key(args)
    if isinstance(key, str):
        return (key if store.get_record(ctx.conn, entity.logical_name, key) else None), {entity.primary_id: key}
    return find_by_key(ctx, entity, key)


def create(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """POST /<set>: 204 + OData-EntityId, or 201 + record with return=representation."""
    if entity.logical_name == "activitypointer":
        raise ODataError(405, "0x80040800", "The 'Create' method does not support entities of type 'activitypointer'.")
    body = call.json()
    record_id = body.get(entity.primary_id) if isinstance(body, dict) else None
    if record_id is not None and not (isinstance(record_id, str) and is_guid(record_id)):
        raise ODataError(
            400, "0x80048d19", f"Cannot convert the literal '{record_id}' to the expected type 'Edm.Guid'."
        )
    record_id = (record_id or store.new_record_id()).lower()
    if store.get_record(ctx.conn, entity.logical_name, record_id):
        raise ODataError(412, "0x80040237", DUPLICATE_KEY)
    saved = save(ctx, entity, record_id, body, None)
    return written(ctx, entity, record_id, saved, call, 201)


def written(
    ctx: Ctx, entity: Entity, record_id: str, saved: tuple[dict[str, Any], int] | None, call: Call, status: int
) -> Result:
    headers = {"OData-EntityId": ctx.entity_url(entity.entity_set, record_id)}
    if saved is not None and call.prefers("return=representation"):
        context = {"@odata.context": f"{ctx.base_url}/$metadata#{entity.entity_set}/$entity"}
        body = {**context, **render(ctx, entity, saved[0], saved[1], call)}
        # OData-EntityId is kept so that `$n` references in a batch work after a representation part.
        headers.update({"Preference-Applied": "return=representation", "ETag": body["@odata.etag"]})
        return Result(status, body, headers)
    return Result(204, None, headers)


def upsert(ctx: Ctx, entity: Entity, args: str, call: Call) -> Result:
    """PATCH /<set>(id|keys): update, or create when missing unless If-Match forbids it."""
    record_id, key_values = locate(ctx, entity, args)
    body = call.json()
    if not isinstance(body, dict):
        raise ODataError(
            400, "0x80048d19", "Error identified in Payload provided by the user: a JSON object is expected."
        )
    for name, value in key_values.items():
        stored = value["id"] if isinstance(value, dict) else value
        if name in body and normalize(body[name]) != normalize(stored):
            raise ODataError(
                400,
                "0x80040203",
                f"The value of key attribute '{name}' in the body does not match the value in the URL.",
            )
    if_match, if_none_match = call.headers.get("if-match"), call.headers.get("if-none-match")
    existing = store.get_record(ctx.conn, entity.logical_name, record_id) if record_id else None
    if if_none_match == "*" and existing:
        raise ODataError(412, "0x80040237", DUPLICATE_KEY)
    if if_match and existing is None:
        raise missing(entity, record_id or args)
    if if_match and if_match != "*" and if_match != f'W/"{existing[1]}"':
        raise ODataError(
            412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
        )
    if existing:
        saved = save(ctx, entity, record_id, body, existing[0])
        return written(ctx, entity, record_id, saved, call, 200)
    record_id = record_id or key_values.get(entity.primary_id) or store.new_record_id()
    key_body = {k: v for k, v in key_values.items() if k != entity.primary_id and not isinstance(v, dict)}
    merged = {**body, **key_body}
    for name, value in key_values.items():
        if isinstance(value, dict):
            target = entity.attributes[name].targets[0]
            merged[f"{name}@odata.bind"] = f"/{ctx.catalog.entities[target].entity_set}({value['id']})"
    if entity.primary_id in merged:
        merged.pop(entity.primary_id)
    if entity.logical_name == "activitypointer":
        raise ODataError(405, "0x80040800", "The 'Create' method does not support entities of type 'activitypointer'.")
    saved = save(ctx, entity, record_id, merged, None)
    return written(ctx, entity, record_id, saved, call, 201)


def retrieve(ctx: Ctx, entity: Entity, args: str, call: Call) -> Result:
    record_id, _ = locate(ctx, entity, args)
    found = load_one(ctx, entity, record_id) if record_id else None
    if found is None:
        raise missing(entity, record_id or args)
    if call.headers.get("if-none-match") == f'W/"{found[1]}"':
        return Result(304)
    body = {
        "@odata.context": f"{ctx.base_url}/$metadata#{entity.entity_set}/$entity",
        **render(ctx, entity, found[0], found[1], call),
    }
    return Result(200, body, {"ETag": body["@odata.etag"]})


def load_one(ctx: Ctx, entity: Entity, record_id: str) -> tuple[dict[str, Any], int] | None:
    if entity.logical_name != "activitypointer":
        return store.get_record(ctx.conn, entity.logical_name, record_id)
    for table in activity_tables(ctx):
        found = store.get_record(ctx.conn, table, record_id)
        if found:
            return found
    return None


def activity_tables(ctx: Ctx) -> list[str]:
    return [
        e.logical_name for e in ctx.catalog.entities.values() if e.is_activity and e.logical_name != "activitypointer"
    ]


def delete(ctx: Ctx, entity: Entity, args: str, call: Call) -> Result:
    check_privilege(ctx, entity, "delete")
    record_id, _ = locate(ctx, entity, args)
    found = store.get_record(ctx.conn, entity.logical_name, record_id) if record_id else None
    if found is None:
        raise missing(entity, record_id or args)
    if_match = call.headers.get("if-match")
    if if_match and if_match != "*" and if_match != f'W/"{found[1]}"':
        raise ODataError(
            412, "0x80060882", "The version of the existing record doesn't match the RowVersion property provided."
        )
    store.delete_record(ctx.conn, entity.logical_name, record_id)
    return Result(204)


__all__ = ["create", "delete", "entity_for_set", "locate", "missing", "retrieve", "upsert"]
