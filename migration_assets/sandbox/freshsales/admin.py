"""The schema setup an admin does in the Freshsales UI, applied from a plan (our sandbox surface).

Custom fields and pipelines cannot be created through the public API (the reference marks it
unconfirmed and seed 002 has the admin execute the plan), so the sandbox applies the connector's
setup checklist items directly: `seed.apply_field_plan(state_path, plan)` and the admin-only route
`POST /crm/sales/api/sandbox/field_plan` (ours, not a Freshsales endpoint).

Items (the `to_create` items of the connector's `plan_schema`):
    {"kind": "field", "entity": "deals", "label": "Matter Stage", "name": "cf_matter_stage",
     "type": "dropdown", "choices": ["Active", "Closed"], "unique": false}
    {"kind": "choices", "entity": "deals", "name": "cf_matter_stage", "choices": ["On-Hold"]}
    {"kind": "unique", "entity": "deals", "name": "cf_source_system_id"}
    {"kind": "pipeline", "name": "Matters", "stages": ["Intake", "Active"]}
`entity` may be given as the connector's table name instead (`"table": "deal"`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import ok
from migration_assets.sandbox.freshsales import schema
from migration_assets.sandbox.freshsales.api import Call
from migration_assets.sandbox.freshsales.errors import FsError, invalid
from migration_assets.sandbox.freshsales.model import ENTITIES

_BY_SINGULAR = {e.singular: e.name for e in ENTITIES.values()}


def plan_items(plan: Any) -> list[Mapping[str, Any]]:
    """The items of a plan given as a SchemaPlan, a `{"to_create": [...]}` mapping or a list."""
    if hasattr(plan, "to_create"):
        return list(plan.to_create)
    if isinstance(plan, Mapping):
        return list(plan.get("to_create") or [])
    return list(plan)


def _entity(item: Mapping[str, Any]) -> str:
    entity = item.get("entity") or _BY_SINGULAR.get(str(item.get("table")))
    if entity not in ENTITIES:
        raise ValueError(f"item {dict(item)} names no entity with custom fields")
    return str(entity)


def apply_items(conn: sqlite3.Connection, items: Iterable[Mapping[str, Any]]) -> list[str]:
    """Apply setup items (idempotent: what exists already is left as is).

    Returns:
        One line per change made.

    Raises:
        ValueError: an unknown kind, a field that exists with another type, a label that does not
            produce the expected cf_ name.
    """
    done: list[str] = []
    for item in items:
        kind = item.get("kind")
        if kind == "pipeline":
            done += schema.ensure_pipeline(conn, str(item["name"]), tuple(item.get("stages") or ()))
        elif kind == "field":
            done += _field(conn, _entity(item), item)
        elif kind == "choices":
            added = schema.add_choices(conn, _entity(item), str(item["name"]), tuple(item.get("choices") or ()))
            done += [f"{_entity(item)}.{item['name']}: choice {c!r}" for c in added]
        elif kind == "unique":
            schema.mark_unique(conn, _entity(item), str(item["name"]))
            done.append(f"{_entity(item)}.{item['name']}: unique")
        else:
            raise ValueError(f"unknown plan item kind {kind!r} (known: field, choices, unique, pipeline)")
    return done


def _field(conn: sqlite3.Connection, entity: str, item: Mapping[str, Any]) -> list[str]:
    name = item.get("name") or schema.cf_name(str(item["label"]))
    existing = {f.name: f for f in schema.custom_fields(conn, entity)}.get(str(name))
    choices = tuple(item.get("choices") or ())
    if existing is None:
        schema.create_custom_field(
            conn,
            entity,
            str(item["label"]),
            str(item["type"]),
            choices=choices,
            unique=bool(item.get("unique")),
            name=name,
        )
        return [f"{entity}.{name}: {item['type']} field {item['label']!r}"]
    if existing.type != item["type"]:
        raise ValueError(f"{entity}.{name} exists as {existing.type}, the plan wants {item['type']}")
    done = (
        [f"{entity}.{name}: choice {c!r}" for c in schema.add_choices(conn, entity, str(name), choices)]
        if choices
        else []
    )
    if item.get("unique") and not existing.unique:
        schema.mark_unique(conn, entity, str(name))
        done.append(f"{entity}.{name}: unique")
    return done


async def field_plan_route(request: Request, call: Call) -> Response:
    """`POST /crm/sales/api/sandbox/field_plan` (ours; admin users only)."""
    if not call.user.get("is_admin"):
        raise FsError(403, "You are not authorised to perform this operation.")
    body = await call.json()
    try:
        with call.tx() as conn:
            done = apply_items(conn, plan_items(body))
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid(f"The field plan cannot be applied: {exc}") from None
    return ok({"applied": done})
