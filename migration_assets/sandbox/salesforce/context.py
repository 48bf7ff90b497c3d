"""What every write shares: the request context, defaults of a new record, the key index.

`Ctx` carries the open transaction, the org schema, the acting user and the blob folder. `save` stores a
full record after the unique / external-id duplicate check (DUPLICATE_VALUE, real message).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.ids import next_id
from migration_assets.sandbox.salesforce.schema import ObjectDef
from migration_assets.sandbox.salesforce.store import find_by_key, get_record, now_iso, put_record

INTEGRATION_USERNAME = "integration@salesforce.sandbox"


@dataclass
class Ctx:
    """What a write needs: the open transaction, the schema, the acting user and the blob folder."""

    conn: sqlite3.Connection
    schema: dict[str, ObjectDef]
    user_id: str
    blobs: Path

    def obj(self, name: str) -> ObjectDef:
        return self.schema[name]


# Lookups the org follows on every write (relations, cascades): indexed like external ids.
_FOLLOWED = {
    "AccountContactRelation": ["AccountId", "ContactId"],
    "ContentVersion": ["ContentDocumentId"],
    "ContentDocumentLink": ["ContentDocumentId"],
}


def key_fields(obj: ObjectDef) -> list[str]:
    """Fields indexed in `record_keys`: external id / unique / idLookup plus followed lookups."""
    return [f.name for f in obj.fields.values() if f.is_key] + _FOLLOWED.get(obj.name, [])


def records_where(ctx: Ctx, sobject: str, field: str, value: str) -> list[dict[str, Any]]:
    """Live `sobject` records whose followed lookup `field` is `value`."""
    found = (get_record(ctx.conn, i) for i in find_by_key(ctx.conn, sobject, field, value))
    return [f[1] for f in found if f and not f[2]]


def save(ctx: Ctx, obj: ObjectDef, values: dict[str, Any]) -> None:
    """Store a full record after checking unique / external-id duplicates."""
    for f in obj.fields.values():
        if f.unique and values.get(f.name) is not None:
            others = [i for i in find_by_key(ctx.conn, obj.name, f.name, values[f.name]) if i != values["Id"]]
            if others:
                raise SfError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {f.name} duplicates value on record with id: {others[0]}",
                    [f.name],
                )
    put_record(ctx.conn, obj.name, values, key_fields(obj))


def defaults(ctx: Ctx, obj: ObjectDef) -> dict[str, Any]:
    """Field values of a new record before the caller's values: defaults, system fields, owner."""
    now = now_iso()
    out: dict[str, Any] = {}
    for f in obj.fields.values():
        if f.type == "boolean":
            out[f.name] = bool(f.default)
        elif f.type == "picklist" and f.defaulted:
            out[f.name] = f.picklist_default()
        else:
            out[f.name] = None
    out |= {"IsDeleted": False, "CreatedDate": now, "CreatedById": ctx.user_id, "SystemModstamp": now}
    if "OwnerId" in obj.fields:
        out["OwnerId"] = ctx.user_id
    if obj.name == "ContentVersion":
        out |= {"IsLatest": True, "VersionNumber": "1"}
    return out


def new_row(ctx: Ctx, obj: ObjectDef, values: dict[str, Any]) -> dict[str, Any]:
    """A complete record created by the org itself (no validation: the values come from checked writes)."""
    row = defaults(ctx, obj) | values | {"Id": next_id(ctx.conn, obj.key_prefix)}
    row["LastModifiedDate"], row["LastModifiedById"] = row["CreatedDate"], row["CreatedById"]
    return row
