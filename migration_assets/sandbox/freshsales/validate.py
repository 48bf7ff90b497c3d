"""Validation of a record body: every field known, every value of its field's type, custom fields
defined in the field settings, required fields set, references existing.

Real (reference sections 3, 5 and 9): custom fields travel under `custom_field` with `cf_` names;
deals need `name` and `amount`; tasks need `title`, `due_date`, `owner_id` and a targetable; notes a
`description` and a targetable; targetable types are Contact, SalesAccount and Deal; the errors
envelope with status 400. Our choices (the real messages and rules are unconfirmed): the messages;
rejecting an unknown top-level attribute (a real server may ignore it); read-only attributes (`id`,
`created_at`, `display_name`...) being ignored; a dropdown custom field taking the option's value text
(not its id); a multi-select taking a list or a `;`-separated text; dates as `YYYY-MM-DD`; text at most
255 characters; a contact needing a last name, an email or a mobile number; a deal stage that must
belong to the deal's pipeline (the pipeline defaults to the stage's, the stage to the pipeline's
first); inactive users cannot own records.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime, timezone
from typing import Any

from migration_assets.sandbox.freshsales import schema
from migration_assets.sandbox.freshsales.errors import invalid
from migration_assets.sandbox.freshsales.model import TARGETABLE_TYPES, USER_ATTENDEE, EntityDef, FieldDef
from migration_assets.sandbox.freshsales.store import account_zone, get_record, iso, next_id
from migration_assets.sandbox.freshsales.users import get_user

READ_ONLY = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "display_name",
        "email",
        "is_deleted",
        "creater_id",
        "links",
        "appointment_attendees",
        "completed_date",
        "sales_account",
        "contacts",
        "owner",
    }
)
TEXT_MAX, TEXTAREA_MAX = 255, 65_535
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def prepare(
    conn: sqlite3.Connection, ent: EntityDef, body: Any, *, existing: dict[str, Any] | None, user_id: int
) -> dict[str, Any]:
    """The values to store for a create (`existing` None) or an update of `existing`.

    Raises:
        FsError: 400 with every problem found in the body.
    """
    if not isinstance(body, dict):
        raise invalid(f"The {ent.singular} must be a JSON object")
    fields = schema.fields_of(conn, ent)
    zone = account_zone(conn)
    values = dict(existing or {})
    custom = dict(values.get("custom_field") or {})
    problems: list[str] = []
    for key, raw in body.items():
        try:
            if key == "custom_field":
                custom.update(_custom_values(conn, fields, raw, zone))
            elif key in READ_ONLY:
                continue
            elif key in fields and fields[key].custom:
                problems.append(f"{key}: custom fields must be sent under custom_field")
            elif key not in fields:
                problems.append(f"Unknown attribute: {key}")
            else:
                values[key] = standard_value(conn, ent, fields[key], raw, zone)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise invalid(*problems)
    if ent.custom_fields:
        values["custom_field"] = {f.name: custom.get(f.name) for f in fields.values() if f.custom}
    if existing is None:
        _defaults(conn, ent, values, user_id)
    _relations(conn, ent, values, set(body))
    _required(ent, fields, values, creating=existing is None)
    return values


def _custom_values(conn: sqlite3.Connection, fields: dict[str, FieldDef], raw: Any, zone: timezone) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("custom_field must be an object of cf_ names and values")
    out, problems = {}, []
    for name, value in raw.items():
        f = fields.get(name)
        if f is None or not f.custom:
            problems.append(f"Invalid custom field: {name}")
            continue
        try:
            out[name] = check_value(f, value, zone)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return out


def check_value(f: FieldDef, value: Any, zone: timezone) -> Any:
    """The stored form of a custom or simple standard value.

    Raises:
        ValueError: the value is not of the field's type (or not one of its choices).
    """
    if value is None:
        return None
    kind = f.type
    if kind in ("text", "textarea", "email"):
        limit = TEXTAREA_MAX if kind == "textarea" else TEXT_MAX
        if not isinstance(value, str):
            raise ValueError(f"{f.name}: {f.label} must be text")
        if len(value) > limit:
            raise ValueError(f"{f.name}: {f.label} is longer than {limit} characters")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{f.name}: {f.label} must be a number")
        return value
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise ValueError(f"{f.name}: {f.label} must be true or false")
        return value
    if kind == "date":
        return _date(f, value)
    if kind == "datetime":
        return iso(_datetime(f, value, zone), zone)
    if kind == "dropdown":
        if not isinstance(value, str) or value not in f.choices:
            raise ValueError(f"{f.name}: {value!r} is not a valid choice for {f.label}")
        return value
    if kind == "multi_select_dropdown":
        items = value.split(";") if isinstance(value, str) else value
        if not isinstance(items, list) or any(not isinstance(i, str) or i.strip() not in f.choices for i in items):
            raise ValueError(f"{f.name}: {value!r} is not a list of valid choices for {f.label}")
        return ";".join(i.strip() for i in items)
    raise ValueError(f"{f.name}: {f.label} cannot be written")


def _date(f: FieldDef, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"{f.name}: {f.label} must be a date (YYYY-MM-DD)")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{f.name}: {f.label} must be a date (YYYY-MM-DD)") from None
    return value


def _datetime(f: FieldDef, value: Any, zone: timezone) -> datetime:
    if not isinstance(value, str) or len(value) < 16:
        raise ValueError(f"{f.name}: {f.label} must be a date-time (ISO 8601)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{f.name}: {f.label} must be a date-time (ISO 8601)") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _integer_id(f: FieldDef, value: Any) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ValueError(f"{f.name}: {f.label} must be an id")
    return int(value)


def standard_value(conn: sqlite3.Connection, ent: EntityDef, f: FieldDef, value: Any, zone: timezone) -> Any:
    """The stored form of a standard field's value (ids checked against their targets)."""
    if f.name == "emails":
        return _emails(conn, value)
    if f.type == "association":
        return _association(conn, f, value)
    if value is None or (value == "" and f.type in ("lookup", "dropdown")):
        return None
    if f.choices_from:
        choice = _integer_id(f, value)
        if choice not in schema.choice_names(conn, f.choices_from):
            raise ValueError(f"{f.name}: {value!r} is not a valid {f.label}")
        return choice
    if f.type == "lookup":
        return _lookup(conn, f, value)
    if f.name == "targetable_type":
        if value not in TARGETABLE_TYPES:
            raise ValueError(f"The type for targetable is invalid: {value!r} (Contact, SalesAccount or Deal)")
        return value
    return check_value(f, value, zone)


def _lookup(conn: sqlite3.Connection, f: FieldDef, value: Any) -> int:
    target_id = _integer_id(f, value)
    if f.target == "users":
        user = get_user(conn, target_id)
        if user is None or not user["is_active"]:
            raise ValueError(f"{f.name}: user {target_id} does not exist or is inactive")
    elif f.target != "targetable" and get_record(conn, str(f.target), target_id) is None:
        raise ValueError(f"{f.name}: {f.label} {target_id} does not exist")
    return target_id


def _emails(conn: sqlite3.Connection, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("emails: must be an email, a list of emails or of {value, is_primary}")
    out = []
    for item in items:
        text = item.get("value") if isinstance(item, dict) else item
        if not isinstance(text, str) or not _EMAIL.match(text.strip()):
            raise ValueError(f"emails: {text!r} is not a valid email")
        primary = bool(item.get("is_primary")) if isinstance(item, dict) else False
        out.append(
            {"id": next_id(conn), "value": text.strip(), "is_primary": primary, "label": None, "_destroy": False}
        )
    if out and not any(e["is_primary"] for e in out):
        out[0]["is_primary"] = True
    return out


def _association(conn: sqlite3.Connection, f: FieldDef, value: Any) -> list[dict[str, Any]] | list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{f.name}: {f.label} must be a list")
    if f.name == "contact_ids":
        ids = [_integer_id(f, v) for v in value]
        missing = [i for i in ids if get_record(conn, "contacts", i) is None]
        if missing:
            raise ValueError(f"contact_ids: contacts {missing} do not exist")
        return list(dict.fromkeys(ids))
    if f.name == "sales_accounts":
        return _account_links(conn, f, value)
    return _attendees(conn, f, value)


def _account_links(conn: sqlite3.Connection, f: FieldDef, value: list) -> list[dict[str, Any]]:
    links = []
    for item in value:
        if not isinstance(item, dict) or "id" not in item:
            raise ValueError("The type for sales_accounts is invalid.")
        account_id = _integer_id(f, item["id"])
        if get_record(conn, "sales_accounts", account_id) is None:
            raise ValueError(f"sales_accounts: sales account {account_id} does not exist")
        links.append({"id": account_id, "is_primary": bool(item.get("is_primary"))})
    if sum(link["is_primary"] for link in links) > 1:
        raise ValueError("sales_accounts: only one account can be primary")
    if links and not any(link["is_primary"] for link in links):
        links[0]["is_primary"] = True
    return links


def _attendees(conn: sqlite3.Connection, f: FieldDef, value: list) -> list[dict[str, Any]]:
    out = []
    for item in value:
        kind = item.get("attendee_type") if isinstance(item, dict) else None
        if kind not in ("Contact", USER_ATTENDEE):
            raise ValueError(f"appointment_attendees_attributes: attendee_type must be Contact or {USER_ATTENDEE}")
        target = _integer_id(f, item.get("attendee_id"))
        exists = get_record(conn, "contacts", target) if kind == "Contact" else get_user(conn, target)
        if exists is None:
            raise ValueError(f"appointment_attendees_attributes: {kind} {target} does not exist")
        out.append({"id": next_id(conn), "attendee_type": kind, "attendee_id": target})
    return out


def _defaults(conn: sqlite3.Connection, ent: EntityDef, values: dict[str, Any], user_id: int) -> None:
    if "owner_id" in ent.fields_by_name and ent.name != "tasks" and values.get("owner_id") is None:
        values["owner_id"] = user_id
    if ent.name == "tasks":
        values.setdefault("status", 0)
    if ent.name == "documents":
        values.setdefault("is_shared", False)
    if ent.name in ("appointments", "notes", "tasks", "sales_activities", "documents"):
        values["creater_id"] = user_id


def _relations(conn: sqlite3.Connection, ent: EntityDef, values: dict[str, Any], given: set[str]) -> None:
    if ent.name == "deals":
        _pipeline_and_stage(conn, values, given)
    if "targetable_id" in ent.fields_by_name:
        _targetable(conn, values)
    if ent.name == "appointments":
        if "appointment_attendees_attributes" in values:
            values["appointment_attendees"] = values.pop("appointment_attendees_attributes") or []
        values.setdefault("appointment_attendees", [])
        start, end = values.get("from_date"), values.get("end_date")
        if start and end and datetime.fromisoformat(end) < datetime.fromisoformat(start):
            raise invalid("End date should be after the start date")


def _pipeline_and_stage(conn: sqlite3.Connection, values: dict[str, Any], given: set[str]) -> None:
    """Stage and pipeline agree: a stage alone brings its pipeline, a pipeline alone its first stage
    (unless the current stage is in it), neither on create the default pipeline."""
    pipeline_id, stage_id = values.get("deal_pipeline_id"), values.get("deal_stage_id")
    pipeline_given = "deal_pipeline_id" in given and pipeline_id is not None
    stage_given = "deal_stage_id" in given and stage_id is not None
    current = schema.stage(conn, stage_id) if stage_id is not None else None
    if stage_given and not pipeline_given:
        pipeline_id = current["deal_pipeline_id"] if current else None
    elif pipeline_id is None:
        pipeline_id = schema.default_pipeline(conn)
    if current is None or (pipeline_given and not stage_given and current["deal_pipeline_id"] != pipeline_id):
        stage_id = schema.first_stage(conn, pipeline_id)
        current = schema.stage(conn, stage_id)
    assert current is not None  # ids were checked against the selectors already
    if current["deal_pipeline_id"] != pipeline_id:
        raise invalid(f"Deal stage {stage_id} does not belong to the deal pipeline {pipeline_id}")
    values["deal_pipeline_id"], values["deal_stage_id"] = pipeline_id, stage_id


def _targetable(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    kind, target = values.get("targetable_type"), values.get("targetable_id")
    if kind is None and target is None:
        return
    if kind is None or target is None:
        raise invalid("targetable_type and targetable_id go together")
    if get_record(conn, TARGETABLE_TYPES[kind], int(target)) is None:
        raise invalid(f"{kind} {target} does not exist")


def _required(ent: EntityDef, fields: dict[str, FieldDef], values: dict[str, Any], *, creating: bool) -> None:
    custom = values.get("custom_field") or {}
    missing = [
        f.label
        for f in fields.values()
        if f.required and (custom.get(f.name) if f.custom else values.get(f.name)) in (None, "", [])
    ]
    if missing:
        raise invalid(*(f"{label} can't be blank" for label in missing))
    if creating and ent.one_of and all(values.get(name) in (None, "", []) for name in ent.one_of):
        labels = [ent.fields_by_name[n].label.lower() for n in ent.one_of]
        raise invalid(f"Please provide at least one of: {', '.join(labels)}")
