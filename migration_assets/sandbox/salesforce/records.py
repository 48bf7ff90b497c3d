"""Record writes with the side effects of a real org: insert, update, upsert, delete.

Real: system and audit fields, upsert outcomes (created / updated / several matches -> 300), NOT_FOUND
and ENTITY_IS_DELETED, soft delete to the recycle bin (hard delete for Bulk hardDelete), deleting a
ContentDocument removing its versions and links, ContentVersion not deletable. From memory, emulated as
such: deleting a Contact or Account removes its AccountContactRelations, and the direct relation itself
cannot be deleted (INVALID_OPERATION). Derived fields and side records are in effects.py.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.salesforce.context import (
    INTEGRATION_USERNAME,
    Ctx,
    defaults,
    records_where,
    save,
)
from migration_assets.sandbox.salesforce.effects import after_write, before_insert, derive
from migration_assets.sandbox.salesforce.faults import SfError, invalid_field, not_found
from migration_assets.sandbox.salesforce.ids import next_id, to18
from migration_assets.sandbox.salesforce.schema import ObjectDef
from migration_assets.sandbox.salesforce.store import find_by_key, get_record, mark_deleted, now_iso, put_record
from migration_assets.sandbox.salesforce.validate import Source, clean_values, required_error

__all__ = [
    "INTEGRATION_USERNAME",
    "Ctx",
    "delete",
    "external_id_field",
    "insert",
    "load",
    "require_field",
    "save",
    "update",
    "upsert",
]


def insert(ctx: Ctx, obj: ObjectDef, values: dict[str, Any], *, source: Source = "json", blob: Any = None) -> str:
    """Create a record.

    Args:
        ctx: request context.
        obj: the object.
        values: fields as sent by the caller.
        source: json or csv (decides the wrong-type error code).
        blob: ContentVersion bytes or stream when sent as a multipart part.

    Returns:
        The new record's 18-character id.

    Raises:
        SfError: validation failures, or INVALID_TYPE_FOR_OPERATION when the object is not createable.
    """
    if not obj.createable:
        raise SfError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert")
    clean = clean_values(ctx.conn, ctx.schema, obj, values, mode="insert", source=source)
    record = defaults(ctx, obj)
    # An explicit null on a defaulted field (a picklist with a default) keeps the default.
    record |= {k: v for k, v in clean.items() if v is not None or record.get(k) is None}
    record["Id"] = next_id(ctx.conn, obj.key_prefix)
    for name in ("CreatedDate", "CreatedById"):
        record[name] = clean.get(name) or record[name]
    record["LastModifiedDate"] = clean.get("LastModifiedDate") or record["CreatedDate"]
    record["LastModifiedById"] = clean.get("LastModifiedById") or record["CreatedById"]
    derive(ctx, obj, record, None)
    before_insert(ctx, obj, record, blob)
    save(ctx, obj, record)
    after_write(ctx, obj, record, None)
    return record["Id"]


def load(ctx: Ctx, obj: ObjectDef, record_id: str) -> dict[str, Any]:
    """The live record `record_id` of `obj`.

    Raises:
        SfError: 404 NOT_FOUND for an unknown id or another object's id, ENTITY_IS_DELETED when deleted.
    """
    full = to18(record_id)
    found = get_record(ctx.conn, full) if full else None
    if found is None or found[0] != obj.name:
        raise not_found()
    if found[2]:
        raise SfError("ENTITY_IS_DELETED", "entity is deleted", status=404)
    return found[1]


def update(ctx: Ctx, obj: ObjectDef, record_id: str, values: dict[str, Any], *, source: Source = "json") -> str:
    """Update fields of an existing record (absent fields are untouched).

    Returns:
        The record's 18-character id.

    Raises:
        SfError: NOT_FOUND, ENTITY_IS_DELETED, validation failures.
    """
    current = load(ctx, obj, record_id)
    if not obj.updateable:
        raise SfError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support update")
    values = {k: v for k, v in values.items() if k.lower() != "id"}
    clean = clean_values(ctx.conn, ctx.schema, obj, values, mode="update", source=source)
    before = dict(current)
    record = current | clean | {"LastModifiedDate": now_iso(), "LastModifiedById": ctx.user_id}
    record["SystemModstamp"] = record["LastModifiedDate"]
    derive(ctx, obj, record, before)
    save(ctx, obj, record)
    after_write(ctx, obj, record, before)
    return record["Id"]


def upsert(
    ctx: Ctx,
    obj: ObjectDef,
    ext_field: str,
    ext_value: Any,
    values: dict[str, Any],
    *,
    source: Source = "json",
    update_only: bool = False,
) -> tuple[str, bool]:
    """Create or update the record whose external-id field `ext_field` equals `ext_value`.

    Returns:
        (id, created).

    Raises:
        SfError: 404 NOT_FOUND when `ext_field` is not an external-id field; status 300
            DUPLICATE_EXTERNAL_ID when several records match; validation failures.
    """
    f = external_id_field(obj, ext_field)
    body_value = next((v for k, v in values.items() if k.lower() == f.name.lower()), None)
    if body_value is not None and ext_value not in (None, "") and str(body_value) != str(ext_value):
        raise SfError(
            "INVALID_FIELD",
            f"The field {f.name} is specified in both the URL and the body with different values",
            [f.name],
        )
    key = ext_value if ext_value not in (None, "") else body_value
    if f.type == "id":
        if key in (None, ""):
            return insert(ctx, obj, values, source=source), True
        return update(ctx, obj, str(key), values, source=source), False
    matches = find_by_key(ctx.conn, obj.name, f.name, key) if key not in (None, "") else []
    if len(matches) > 1:
        raise SfError(
            "DUPLICATE_EXTERNAL_ID",
            f"The external ID value {key} on {f.name} matches more than one record",
            [f.name],
            status=300,
        )
    rest = {k: v for k, v in values.items() if k.lower() != f.name.lower()}
    if matches:
        return update(ctx, obj, matches[0], rest, source=source), False
    if update_only:
        raise not_found()
    if key in (None, ""):
        raise required_error([f.name])
    return insert(ctx, obj, rest | {f.name: key}, source=source), True


def external_id_field(obj: ObjectDef, name: str):
    """The external-id field (or Id) used in an upsert URL.

    Raises:
        SfError: 404 NOT_FOUND when the field is unknown or not an external id.
    """
    f = obj.field(name)
    if f is None or not (f.external_id or f.type == "id"):
        raise SfError(
            "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}", status=404
        )
    return f


def require_field(obj: ObjectDef, name: str):
    """The field `name` of `obj`.

    Raises:
        SfError: INVALID_FIELD when it does not exist.
    """
    f = obj.field(name.strip())
    if f is None:
        raise invalid_field(name.strip(), obj.name)
    return f


def delete(ctx: Ctx, obj: ObjectDef, record_id: str, *, hard: bool = False) -> str:
    """Delete a record (to the recycle bin unless `hard`), with the org's cascades.

    Raises:
        SfError: NOT_FOUND, ENTITY_IS_DELETED, INVALID_TYPE_FOR_OPERATION (not deletable).
    """
    record = load(ctx, obj, record_id)
    if not obj.deletable:
        raise SfError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete")
    if obj.name == "AccountContactRelation" and record.get("IsDirect"):
        raise SfError(
            "INVALID_OPERATION",
            "You can't delete the direct relationship between a contact and its primary account",
        )
    _remove(ctx, obj, record, hard)
    for child_obj, child_field in _cascades(obj.name):
        for child in records_where(ctx, child_obj, child_field, record["Id"]):
            _remove(ctx, ctx.obj(child_obj), child, hard)
    return record["Id"]


def _remove(ctx: Ctx, obj: ObjectDef, record: dict[str, Any], hard: bool) -> None:
    record = record | {"IsDeleted": True, "SystemModstamp": now_iso()}
    put_record(ctx.conn, obj.name, record, [])
    mark_deleted(ctx.conn, record["Id"], hard=hard)


def _cascades(name: str) -> list[tuple[str, str]]:
    return {
        "Contact": [("AccountContactRelation", "ContactId")],
        "Account": [("AccountContactRelation", "AccountId")],
        "ContentDocument": [
            ("ContentVersion", "ContentDocumentId"),
            ("ContentDocumentLink", "ContentDocumentId"),
        ],
    }.get(name, [])
