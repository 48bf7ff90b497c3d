"""Record writes and reads shared by the single endpoints, upsert and bulk jobs.

Real (reference sections 3, 5-7 and 11): upsert matches on `unique_identifier` (`emails` for
contacts, `name` for accounts); `Email is not unique`, `Contact is not unique`; responses carry
`display_name`, `email` and the `emails` list for contacts, `custom_field` with every `cf_` field,
`created_at`/`updated_at` with the account's offset; `include=sales_accounts` side-loads a contact's
accounts. Our choices (unconfirmed): a custom field marked unique in the field settings works as an
upsert identifier, sent as `{"custom_field": {"cf_x": value}}`; `mobile_number` and `id` work too;
identifiers match case-insensitively; an account name is not unique, so upserting by a name that
several accounts share answers `Sales account is not unique`; a deal lists its `contact_ids` without
any `include`; deleting a record removes it from the deals, contacts and appointments linking to it
and deletes the tasks, notes, sales activities and documents attached to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from migration_assets.sandbox.freshsales import schema
from migration_assets.sandbox.freshsales.errors import invalid, not_found
from migration_assets.sandbox.freshsales.model import ENTITIES, EntityDef
from migration_assets.sandbox.freshsales.store import (
    add_counter,
    delete_record,
    find_ids,
    get_record,
    get_records,
    next_id,
    now_iso,
    put_record,
)
from migration_assets.sandbox.freshsales.users import get_user
from migration_assets.sandbox.freshsales.validate import prepare

# Links kept in the key index so a delete can find who points at a record.
_LINKS = {"deals": ("contact_ids",), "contacts": ("sales_accounts",), "appointments": ("appointment_attendees",)}
_DEPENDENTS = ("tasks", "notes", "sales_activities", "documents", "appointments")


def index_keys(ent: EntityDef, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Index field -> values for one record (see store.put_record)."""
    keys: dict[str, list[Any]] = {}
    for name in (*ent.indexed, *_LINKS.get(ent.name, ())):
        if name == "targetable":
            if values.get("targetable_type") and values.get("targetable_id") is not None:
                keys[name] = [f"{values['targetable_type']}:{values['targetable_id']}"]
        elif name == "end_date" and values.get(name):
            keys[name] = [utc_text(values[name])]
        else:
            keys[name] = _flat(values.get(name))
    for name, value in (values.get("custom_field") or {}).items():
        keys[name] = [value]
    return keys


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [v["value"] if isinstance(v, dict) and "value" in v else _target(v) for v in value]
    return [value]


def utc_text(value: str) -> str:
    """An ISO timestamp with offset as UTC text that sorts in time order."""
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load(conn: sqlite3.Connection, ent: EntityDef, record_id: Any) -> dict[str, Any]:
    """A stored record by id.

    Raises:
        FsError: 404 for an unknown id (or one that is not an integer).
    """
    try:
        found = get_record(conn, ent.name, int(record_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise not_found(ent.model.replace("SalesAccount", "Sales account"))
    return found


def save(conn: sqlite3.Connection, ent: EntityDef, values: dict[str, Any]) -> None:
    """Store a prepared record after the uniqueness checks (emails, unique custom fields)."""
    record_id = values["id"]
    emails = (values.get("emails") or []) if ent.name == "contacts" else []
    for email in emails:
        if any(i != record_id for i in find_ids(conn, "contacts", "emails", email["value"])):
            raise invalid("Email is not unique")
    custom = values.get("custom_field") or {}
    for f in schema.custom_fields(conn, ent.name) if ent.custom_fields else []:
        value = custom.get(f.name)
        if (
            f.unique
            and value not in (None, "")
            and any(i != record_id for i in find_ids(conn, ent.name, f.name, value))
        ):
            raise invalid(f"{f.label} is not unique")
    put_record(conn, ent.name, values, index_keys(ent, values))


def create(conn: sqlite3.Connection, ent: EntityDef, body: Any, user_id: int) -> dict[str, Any]:
    """Validate and store a new record; returns its stored values."""
    values = prepare(conn, ent, body, existing=None, user_id=user_id)
    now = now_iso(conn)
    values = {"id": next_id(conn), **values, "created_at": now, "updated_at": now}
    save(conn, ent, values)
    return values


def update(conn: sqlite3.Connection, ent: EntityDef, existing: dict[str, Any], body: Any, user_id: int) -> dict:
    """Validate and store changes to an existing record; returns its stored values."""
    values = prepare(conn, ent, body, existing=existing, user_id=user_id)
    values["updated_at"] = now_iso(conn)
    save(conn, ent, values)
    return values


def identify(conn: sqlite3.Connection, ent: EntityDef, identifier: Any) -> tuple[str, Any, list[int]]:
    """(field, value, matching ids) of an upsert identifier.

    Raises:
        FsError: 400 for anything but one known identifier (a custom one must be marked unique).
    """
    if not isinstance(identifier, dict) or len(identifier) != 1:
        raise invalid("unique_identifier must name exactly one field")
    ((name, value),) = identifier.items()
    if name == "custom_field":
        if not isinstance(value, dict) or len(value) != 1:
            raise invalid("unique_identifier.custom_field must name exactly one custom field")
        ((name, value),) = value.items()
        f = {c.name: c for c in schema.custom_fields(conn, ent.name)}.get(name) if ent.custom_fields else None
        if f is None:
            raise invalid(f"Invalid custom field: {name}")
        if not f.unique:
            raise invalid(f"{name} is not a unique field and cannot identify a {ent.singular}")
    elif name != "id" and name not in ent.identifiers:
        known = ", ".join(("id", *ent.identifiers, "custom_field (a unique cf_ field)"))
        raise invalid(f"{name} cannot identify a {ent.singular} (use {known})")
    if value in (None, "") or isinstance(value, dict | list):
        raise invalid(f"unique_identifier {name} needs a value")
    if name == "id":
        return name, value, [int(value)] if str(value).isdigit() and get_record(conn, ent.name, int(value)) else []
    return name, value, find_ids(conn, ent.name, name, value)


def upsert(
    conn: sqlite3.Connection, ent: EntityDef, identifier: Any, body: Any, user_id: int
) -> tuple[dict[str, Any], bool]:
    """Update the record the identifier names, or create it; returns (values, created)."""
    name, value, ids = identify(conn, ent, identifier)
    if len(ids) > 1:
        raise invalid(f"{ent.model.replace('SalesAccount', 'Sales account')} is not unique")
    if not isinstance(body, dict):
        raise invalid(f"The {ent.singular} must be a JSON object")
    data = dict(body)
    if name.startswith("cf_"):
        data["custom_field"] = {**(data.get("custom_field") or {}), name: value}
    elif name != "id":
        data.setdefault(name, value)
    if ids:
        return update(conn, ent, load(conn, ent, ids[0]), data, user_id), False
    if name == "id":
        raise not_found(ent.model)
    return create(conn, ent, data, user_id), True


def remove(conn: sqlite3.Connection, ent: EntityDef, record_id: int) -> None:
    """Delete a record, unlink it from the records pointing at it and delete what hangs off it."""
    if ent.name == "documents":
        values = get_record(conn, "documents", record_id) or {}
        add_counter(conn, "storage_bytes", -int(values.get("content_file_size") or 0))
        conn.execute("delete from blobs where id = ?", (record_id,))
    delete_record(conn, record_id)
    _unlink(conn, ent, record_id)
    if ent.model in ("Contact", "SalesAccount", "Deal"):
        for child in _DEPENDENTS:
            for child_id in find_ids(conn, child, "targetable", f"{ent.model}:{record_id}"):
                remove(conn, ENTITIES[child], child_id)


def _unlink(conn: sqlite3.Connection, ent: EntityDef, record_id: int) -> None:
    links = {
        "contacts": [("deals", "contact_ids"), ("appointments", "appointment_attendees")],
        "sales_accounts": [("contacts", "sales_accounts"), ("deals", "sales_account_id")],
    }
    for entity, field in links.get(ent.name, []):
        for values in get_records(conn, entity, find_ids(conn, entity, field, record_id)):
            current = values.get(field)
            values[field] = [v for v in current if _target(v) != record_id] if isinstance(current, list) else None
            put_record(conn, entity, values, index_keys(ENTITIES[entity], values))


def _target(link: Any) -> Any:
    """The record id a link holds: a bare id, an account link or an attendee."""
    if isinstance(link, dict):
        return link.get("attendee_id", link.get("id"))
    return link


# -- rendering --------------------------------------------------------------------------------
def render(conn: sqlite3.Connection, ent: EntityDef, values: dict[str, Any], include: Iterable[str] = ()) -> dict:
    """The record as the API returns it under its singular key."""
    include = set(include)
    out = dict(values)
    for f in ent.fields:  # unset standard fields are listed as null (lists as empty), like the API does
        if f.name not in ("sales_accounts", "appointment_attendees_attributes", "emails"):
            out.setdefault(f.name, [] if f.type == "association" else None)
    if ent.name == "contacts":
        emails = out.get("emails") or []
        out["email"] = next((e["value"] for e in emails if e["is_primary"]), None)
        names = f"{out.get('first_name') or ''} {out.get('last_name') or ''}".strip()
        out["display_name"] = names or out["email"] or out.get("mobile_number")
        links = out.pop("sales_accounts", None) or []
        if "sales_accounts" in include:
            accounts = {a["id"]: a for a in get_records(conn, "sales_accounts", [link["id"] for link in links])}
            out["sales_accounts"] = [
                {
                    "id": link["id"],
                    "name": accounts.get(link["id"], {}).get("name"),
                    "is_primary": link["is_primary"],
                    "partial": True,
                }
                for link in links
            ]
    if "owner" in include and out.get("owner_id"):
        user = get_user(conn, int(out["owner_id"])) or {}
        out["owner"] = {"id": user.get("id"), "display_name": user.get("display_name"), "email": user.get("email")}
    out["is_deleted"] = False
    return out


def thin(ent: EntityDef, values: dict[str, Any]) -> dict[str, Any]:
    """A filtered-search hit: identity fields only, no `custom_field` (search results are thin)."""
    out = {k: values.get(k) for k in ("id", "owner_id", "created_at", "updated_at")}
    if ent.name == "contacts":
        emails = values.get("emails") or []
        out["emails"] = [{"value": e["value"], "is_primary": e["is_primary"]} for e in emails]
        out["display_name"] = f"{values.get('first_name') or ''} {values.get('last_name') or ''}".strip()
    else:
        out["name"] = values.get("name")
    return out
