"""Field-level validation and type coercion of a write, shared by REST, Collections and Bulk.

The codes and messages follow reference §7 and the brief: INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE,
JSON_PARSER_ERROR (JSON bodies) / INVALID_TYPE_ON_FIELD_IN_RECORD (Bulk CSV cells), STRING_TOO_LONG,
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, REQUIRED_FIELD_MISSING, INVALID_CROSS_REFERENCE_KEY,
MALFORMED_ID, ENTITY_IS_DELETED, INVALID_EMAIL_ADDRESS, NUMBER_OUTSIDE_VALID_RANGE, INACTIVE_OWNER_OR_USER
(an inactive owner is allowed when `set_audit_fields` is on, as the real org setting that grants
"Update Records with Inactive Owners" comes with it). Values are stored
in the form the API returns them (datetimes as `2024-06-18T22:51:36.000+0000`, UTC).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, date, datetime
from typing import Any, Literal

from migration_assets.sandbox.salesforce.faults import SfError, invalid_field, json_parser_error
from migration_assets.sandbox.salesforce.ids import to18
from migration_assets.sandbox.salesforce.schema import NUMBER_TYPES, STRING_TYPES, FieldDef, ObjectDef
from migration_assets.sandbox.salesforce.store import find_by_key, get_record, option

Mode = Literal["insert", "update"]
Source = Literal["json", "csv"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def readonly_error(names: list[str]) -> SfError:
    """INVALID_FIELD_FOR_INSERT_UPDATE for fields the caller may not set."""
    return SfError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        names,
    )


def required_error(names: list[str]) -> SfError:
    """REQUIRED_FIELD_MISSING listing the missing fields."""
    return SfError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names)


def type_error(f: FieldDef, value: Any, source: Source) -> SfError:
    """The wrong-type error: JSON_PARSER_ERROR for JSON bodies, INVALID_TYPE_ON_FIELD_IN_RECORD for CSV."""
    if source == "json":
        kind = {
            "double": "double",
            "currency": "double",
            "percent": "double",
            "int": "int",
            "boolean": "boolean",
            "date": "date",
            "datetime": "datetime",
        }.get(f.type, "String")
        return json_parser_error(
            f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} "
            "or request may be missing a required field at [line:1, column:1]"
        )
    return SfError("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {value}", [f.name])


def normalize_datetime(text: str) -> str | None:
    """`2024-06-18T22:51:36.000+0000` (UTC) for an ISO datetime with Z/offset, or None when invalid."""
    if not _DATETIME.match(text):
        return None
    fixed = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", fixed):
        fixed = fixed[:-2] + ":" + fixed[-2:]
    try:
        moment = datetime.fromisoformat(fixed).astimezone(UTC)
    except ValueError:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _coerce_string(f: FieldDef, value: Any, source: Source) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = str(value)
    elif not isinstance(value, str):
        raise type_error(f, value, source)
    if f.length and len(value) > f.length:
        raise SfError(
            "STRING_TOO_LONG",
            f"{f.label}: data value too large: {value[:80]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and not _EMAIL.match(value):
        raise SfError("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
    if f.type in ("picklist", "multipicklist") and f.restricted:
        allowed = {p.value for p in f.picklist if p.active}
        for part in value.split(";") if f.type == "multipicklist" else [value]:
            if part not in allowed:
                raise SfError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {part}",
                    [f.name],
                )
    return value


def _coerce_number(f: FieldDef, value: Any, source: Source) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise type_error(f, value, source)
    try:
        number = float(value)
    except ValueError:
        raise type_error(f, value, source) from None
    if f.type == "int":
        if not number.is_integer():
            raise type_error(f, value, source)
        return int(number)
    if f.precision and abs(number) >= 10 ** (f.precision - f.scale):
        raise SfError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{f.label}: value outside of valid range on numeric field: {value}",
            [f.name],
        )
    rounded = round(number, f.scale)
    return int(rounded) if f.scale == 0 and rounded.is_integer() else rounded


def _coerce_boolean(f: FieldDef, value: Any, source: Source) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise type_error(f, value, source)


def _coerce_date(f: FieldDef, value: Any, source: Source) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise type_error(f, value, source)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise type_error(f, value, source) from None
    return value


def _coerce_datetime(f: FieldDef, value: Any, source: Source) -> str:
    normal = normalize_datetime(value) if isinstance(value, str) else None
    if normal is None:
        raise type_error(f, value, source)
    return normal


def check_reference(conn: sqlite3.Connection, f: FieldDef, value: Any, prefixes: dict[str, str]) -> str:
    """The 18-character id a lookup may point at.

    Args:
        conn: open transaction.
        f: the reference field.
        value: the id given by the caller.
        prefixes: key prefix -> object name of the org.

    Raises:
        SfError: MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY (missing or wrong type) or ENTITY_IS_DELETED.
    """
    full = to18(value) if isinstance(value, str) else None
    if full is None:
        raise SfError("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
    if prefixes.get(full[:3]) not in f.reference_to:
        raise SfError("INVALID_CROSS_REFERENCE_KEY", f"{f.label}: id value of incorrect type: {value}", [f.name])
    found = get_record(conn, full)
    if found is None:
        raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [f.name])
    if found[2]:
        raise SfError("ENTITY_IS_DELETED", "entity is deleted", [f.name])
    return full


def resolve_foreign_key(conn: sqlite3.Connection, target: ObjectDef, key: str, value: Any) -> str:
    """The id of the `target` record whose external-id/idLookup field `key` equals `value`.

    Raises:
        SfError: INVALID_FIELD when the field is not a key or no record matches; DUPLICATE_EXTERNAL_ID
            when several do.
    """
    f = target.field(key)
    if f is None or not (f.is_key or f.type == "id"):
        raise SfError("INVALID_FIELD", f"Field {key} is not an external id or idLookup field of {target.name}", [key])
    if f.type == "id":
        full = to18(str(value))
        found = get_record(conn, full) if full else None
        ids = [full] if found and found[0] == target.name and not found[2] else []
    else:
        ids = find_by_key(conn, target.name, f.name, value)
    if not ids:
        raise SfError(
            "INVALID_FIELD",
            f"Foreign key external ID: {value} not found for field {f.name} in entity {target.name}",
            [f.name],
        )
    if len(ids) > 1:
        raise SfError(
            "DUPLICATE_EXTERNAL_ID",
            f"Foreign key external ID: {value} matches more than one {target.name} record on {f.name}",
            [f.name],
        )
    return ids[0]


_COERCERS = {"boolean": _coerce_boolean, "date": _coerce_date, "datetime": _coerce_datetime}


def coerce_value(f: FieldDef, value: Any, source: Source) -> Any:
    """Check and convert one non-null value to its stored form (references are checked separately)."""
    if f.type in STRING_TYPES:
        return _coerce_string(f, value, source)
    if f.type in NUMBER_TYPES:
        return _coerce_number(f, value, source)
    if f.type in _COERCERS:
        return _COERCERS[f.type](f, value, source)
    if f.type in ("reference", "id", "base64") and not isinstance(value, str | bytes):
        raise type_error(f, value, source)
    return value


def check_permissions(obj: ObjectDef, names: list[str], mode: Mode) -> None:
    """Reject fields the caller may not set in this mode."""
    attr = "createable" if mode == "insert" else "updateable"
    blocked = [n for n in names if not getattr(obj.fields[n], attr)]
    if blocked:
        raise readonly_error(blocked)


def clean_values(
    conn: sqlite3.Connection,
    schema: dict[str, ObjectDef],
    obj: ObjectDef,
    values: dict[str, Any],
    *,
    mode: Mode,
    source: Source = "json",
) -> dict[str, Any]:
    """Validate a write and return the values by canonical field name.

    Args:
        conn: open transaction (lookups are checked against stored records).
        schema: the org schema.
        obj: the object written.
        values: field -> value as sent (may include `attributes` and nested external-id references).
        mode: insert or update; decides createable/updateable checks and required fields.
        source: json (REST, Collections) or csv (Bulk), for the wrong-type error code.

    Returns:
        The values to store (nulls kept as None).

    Raises:
        SfError: the first rule the write breaks.
    """
    prefixes = {o.key_prefix: o.name for o in schema.values()}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "attributes":
            continue
        f = obj.field(key)
        if f is None and isinstance(value, dict) and obj.relationship(key):
            f = obj.relationship(key)
            value = _nested_reference(conn, schema, f, value)
        if f is None:
            raise invalid_field(key, obj.name)
        if f.name == "Id" and mode == "insert":
            raise SfError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        if value is None:
            # Checkboxes are never null: clearing one stores false, as the real API does.
            out[f.name] = False if f.type == "boolean" else None
        else:
            out[f.name] = coerce_value(f, value, source)
    check_permissions(obj, [n for n in out if n != "Id"], mode)
    for name, value in out.items():
        f = obj.fields[name]
        if f.type == "reference" and value is not None:
            out[name] = check_reference(conn, f, value, prefixes)
    if out.get("OwnerId"):
        _check_active_owner(conn, out["OwnerId"])
    _check_required(obj, out, mode)
    return out


def _check_active_owner(conn: sqlite3.Connection, owner_id: str) -> None:
    """Owners must be active users unless the org lets the API user update records with inactive owners
    (the same org setting as set_audit_fields)."""
    found = get_record(conn, owner_id)
    if found and found[0] == "User" and not found[1].get("IsActive") and not option(conn, "set_audit_fields"):
        raise SfError("INACTIVE_OWNER_OR_USER", "operation performed with inactive user", ["OwnerId"])


def _nested_reference(
    conn: sqlite3.Connection, schema: dict[str, ObjectDef], f: FieldDef, value: dict[str, Any]
) -> str:
    """Resolve `"Account": {"Ext__c": "x"}` (optionally with attributes.type) to an id."""
    keys = [k for k in value if k != "attributes"]
    target_name = (value.get("attributes") or {}).get("type") or (f.reference_to[0] if f.reference_to else "")
    if len(keys) != 1 or target_name not in f.reference_to or target_name not in schema:
        raise SfError(
            "INVALID_FIELD", f"Invalid foreign key reference for relationship {f.relationship_name}", [f.name]
        )
    return resolve_foreign_key(conn, schema[target_name], keys[0], value[keys[0]])


def _check_required(obj: ObjectDef, out: dict[str, Any], mode: Mode) -> None:
    if mode == "insert":
        missing = [f.name for f in obj.fields.values() if f.required_on_create and out.get(f.name) in (None, "")]
    else:
        missing = [
            n
            for n, v in out.items()
            if v in (None, "") and not obj.fields[n].nillable and obj.fields[n].type != "boolean"
        ]
    if missing:
        raise required_error(missing)
