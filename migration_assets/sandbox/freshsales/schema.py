"""Field settings, custom fields, deal pipelines and stages, and the selectors built from them.

Real (reference sections 4 and 9): `GET /settings/<entity>/fields` answers `{"fields": [{id, name,
label, type, required, visible, choices: [{id, value}]}]}`; custom field names start with `cf_`;
`/selector/deal_pipelines` embeds each pipeline's `deal_stages`. Our choices: the `unique` flag in
each field's settings; `cf_` names derived from the label as the admin UI does (lower case, runs of
other characters become `_`); the admin functions here (create a field, add choices, mark unique,
create a pipeline or stages) stand for the admin UI, since the public API cannot create fields.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from migration_assets.sandbox.freshsales.model import (
    DEFAULT_PIPELINE,
    ENTITIES,
    STATIC_SELECTORS,
    EntityDef,
    FieldDef,
)
from migration_assets.sandbox.freshsales.store import next_id
from migration_assets.sandbox.freshsales.users import owners

CUSTOM_TYPES = ("text", "textarea", "number", "dropdown", "multi_select_dropdown", "checkbox", "date", "datetime")
_FIELD_ID_BASE = 70_000_010_000


def cf_name(label: str) -> str:
    """The API name the admin UI gives a custom field with this label: "Matter Stage" -> cf_matter_stage."""
    return "cf_" + re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


# -- fields -----------------------------------------------------------------------------------
def custom_fields(conn: sqlite3.Connection, entity: str) -> list[FieldDef]:
    rows = conn.execute("select * from custom_fields where entity = ? order by position, id", (entity,))
    return [
        FieldDef(
            r["name"],
            r["label"],
            r["type"],
            required=bool(r["required"]),
            choices=tuple(json.loads(r["choices"])),
            unique=bool(r["is_unique"]),
            field_id=int(r["id"]),
        )
        for r in rows
    ]


def fields_of(conn: sqlite3.Connection, ent: EntityDef) -> dict[str, FieldDef]:
    """Standard and custom fields of `ent` by name."""
    out = dict(ent.fields_by_name)
    if ent.custom_fields:
        out |= {f.name: f for f in custom_fields(conn, ent.name)}
    return out


def field_settings(conn: sqlite3.Connection, ent: EntityDef) -> list[dict[str, Any]]:
    """The `fields` list of `GET /settings/<entity>/fields`."""
    entity_index = list(ENTITIES).index(ent.name)
    out = []
    for position, f in enumerate(fields_of(conn, ent).values(), 1):
        if f.custom:
            choices = [{"id": i, "value": v} for i, v in enumerate(f.choices, 1)]
        elif f.choices_from:
            choices = [{"id": i, "value": name} for i, name in choice_names(conn, f.choices_from).items()]
        else:
            choices = []
        out.append(
            {
                "id": f.field_id or _FIELD_ID_BASE + entity_index * 100 + position,
                "name": f.name,
                "label": f.label,
                "type": "lookup" if f.type == "association" else f.type,
                "required": f.required,
                "visible": True,
                "base_model": ent.model,
                "position": position,
                "unique": f.unique,
                "choices": choices,
            }
        )
    return out


def create_custom_field(
    conn: sqlite3.Connection,
    entity: str,
    label: str,
    type_: str,
    *,
    choices: tuple[str, ...] = (),
    unique: bool = False,
    name: str | None = None,
) -> FieldDef:
    """Add a custom field as an admin would in the UI.

    Args:
        entity: plural entity with custom fields ("deals").
        label: the label; the API name is derived from it.
        type_: one of CUSTOM_TYPES.
        choices: dropdown / multi-select options.
        unique: mark the field unique.
        name: the cf_ name the caller expects; must match the derived one.

    Returns:
        The new field.

    Raises:
        ValueError: unknown entity or type, a name that the label does not produce, a duplicate.
    """
    ent = ENTITIES.get(entity)
    if ent is None or not ent.custom_fields:
        raise ValueError(
            f"{entity!r} has no custom fields (entities: contacts, sales_accounts, deals, sales_activities)"
        )
    if type_ not in CUSTOM_TYPES:
        raise ValueError(f"unknown custom field type {type_!r} (known: {', '.join(CUSTOM_TYPES)})")
    derived = cf_name(label)
    if name is not None and name != derived:
        raise ValueError(f"label {label!r} creates {derived!r}, not {name!r}")
    if (
        derived in ent.fields_by_name
        or conn.execute("select 1 from custom_fields where entity = ? and name = ?", (entity, derived)).fetchone()
    ):
        raise ValueError(f"{entity}.{derived} already exists")
    if type_ in ("dropdown", "multi_select_dropdown") and not choices:
        raise ValueError(f"{entity}.{derived}: a {type_} needs choices")
    field_id = next_id(conn)
    position = conn.execute("select count(*) from custom_fields where entity = ?", (entity,)).fetchone()[0] + 1
    conn.execute(
        "insert into custom_fields(id, entity, name, label, type, choices, is_unique, required, position)"
        " values (?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (field_id, entity, derived, label, type_, json.dumps(list(dict.fromkeys(choices))), int(unique), position),
    )
    return FieldDef(derived, label, type_, choices=tuple(choices), unique=unique, field_id=field_id)


def add_choices(conn: sqlite3.Connection, entity: str, name: str, choices: tuple[str, ...]) -> list[str]:
    """Append missing options to a custom dropdown; returns the options added.

    Raises:
        ValueError: no such dropdown field.
    """
    row = conn.execute(
        "select type, choices from custom_fields where entity = ? and name = ?", (entity, name)
    ).fetchone()
    if row is None or row["type"] not in ("dropdown", "multi_select_dropdown"):
        raise ValueError(f"{entity}.{name} is not a custom dropdown")
    current = json.loads(row["choices"])
    added = [c for c in dict.fromkeys(choices) if c not in current]
    conn.execute(
        "update custom_fields set choices = ? where entity = ? and name = ?",
        (json.dumps(current + added), entity, name),
    )
    return added


def mark_unique(conn: sqlite3.Connection, entity: str, name: str) -> None:
    """Mark a custom field unique.

    Raises:
        ValueError: no such field, or two records already share a value.
    """
    if not conn.execute("select 1 from custom_fields where entity = ? and name = ?", (entity, name)).fetchone():
        raise ValueError(f"{entity}.{name} does not exist")
    shared = conn.execute(
        "select value from record_keys where entity = ? and field = ? group by value having count(*) > 1 limit 1",
        (entity, name),
    ).fetchone()
    if shared:
        raise ValueError(f"{entity}.{name}: several records share the value {shared['value']!r}")
    conn.execute("update custom_fields set is_unique = 1 where entity = ? and name = ?", (entity, name))


# -- pipelines and stages ------------------------------------------------------------------------
def ensure_pipeline(
    conn: sqlite3.Connection, name: str, stages: tuple[str, ...], *, default: bool = False
) -> list[str]:
    """Create the pipeline and any missing stage (appended in order); returns what was created."""
    done = []
    row = conn.execute("select id from pipelines where name = ?", (name,)).fetchone()
    if row is None:
        pipeline_id = next_id(conn)
        position = conn.execute("select count(*) from pipelines").fetchone()[0] + 1
        conn.execute("insert into pipelines values (?, ?, ?, ?)", (pipeline_id, name, int(default), position))
        done.append(f"pipeline {name!r}")
    else:
        pipeline_id = int(row["id"])
    existing = {r["name"] for r in conn.execute("select name from stages where pipeline_id = ?", (pipeline_id,))}
    for stage in stages:
        if stage in existing:
            continue
        position = conn.execute("select count(*) from stages where pipeline_id = ?", (pipeline_id,)).fetchone()[0] + 1
        conn.execute("insert into stages values (?, ?, ?, ?)", (next_id(conn), pipeline_id, stage, position))
        existing.add(stage)
        done.append(f"stage {name!r}/{stage!r}")
    return done


def ensure_defaults(conn: sqlite3.Connection) -> None:
    """The default pipeline every account starts with."""
    if not conn.execute("select 1 from pipelines limit 1").fetchone():
        ensure_pipeline(conn, DEFAULT_PIPELINE[0], DEFAULT_PIPELINE[1], default=True)


def pipelines(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """`/selector/deal_pipelines` items, each with its `deal_stages`."""
    out = []
    for p in conn.execute("select * from pipelines order by position"):
        stages = conn.execute("select * from stages where pipeline_id = ? order by position", (p["id"],))
        out.append(
            {
                "id": p["id"],
                "name": p["name"],
                "is_default": bool(p["is_default"]),
                "position": p["position"],
                "deal_stages": [_stage(s) for s in stages],
            }
        )
    return out


def _stage(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "position": row["position"], "deal_pipeline_id": row["pipeline_id"]}


def stage(conn: sqlite3.Connection, stage_id: int) -> dict[str, Any] | None:
    row = conn.execute("select * from stages where id = ?", (stage_id,)).fetchone()
    return _stage(row) if row else None


def first_stage(conn: sqlite3.Connection, pipeline_id: int) -> int:
    row = conn.execute(
        "select id from stages where pipeline_id = ? order by position limit 1", (pipeline_id,)
    ).fetchone()
    return int(row["id"])


def default_pipeline(conn: sqlite3.Connection) -> int:
    row = conn.execute("select id from pipelines order by is_default desc, position limit 1").fetchone()
    return int(row["id"])


# -- selectors ----------------------------------------------------------------------------------
# Served under /selector/ (task statuses are internal: the choices of a task's `status`).
SELECTORS = ("owners", "deal_pipelines", "deal_stages", "sales_activity_types", "industry_types", "business_types")
SELECTOR_KEYS = {"owners": "users"}


def selector(conn: sqlite3.Connection, name: str) -> list[dict[str, Any]]:
    """Items of `/selector/<name>` (the list key is `SELECTOR_KEYS.get(name, name)`)."""
    if name == "owners":
        return owners(conn)
    if name == "deal_pipelines":
        return pipelines(conn)
    if name == "deal_stages":
        return [_stage(s) for s in conn.execute("select * from stages order by pipeline_id, position")]
    return [dict(item) for item in STATIC_SELECTORS[name]]


def choice_names(conn: sqlite3.Connection, selector_name: str) -> dict[int, str]:
    """{id: name} of a selector used as a standard dropdown's choices."""
    return {int(item["id"]): str(item["name"]) for item in selector(conn, selector_name)}
