"""Describe the account's tables and turn a schema comparison into a setup checklist.

Reading uses the real `GET /settings/<entity>/fields` (contacts, sales accounts, deals, sales
activities) and `/selector/deal_pipelines`; tasks, appointments, notes and documents have no field
settings endpoint, so their columns come from the connector's catalog. Custom fields and pipelines
cannot be created through the public API, so the plan's `to_create` items are a checklist for the
account's admin, each carrying everything needed to do it by hand (entity, label, the `cf_` name the
label produces, type, choices, unique flag) and a sentence in `detail`; the sandbox applies the same
items with `seed.apply_field_plan`.

Pipelines: a requirement column `deal_pipeline_id` lists pipeline names; `deal_stage_id` lists stage
names of the pipeline named by its `label` (the default pipeline without a label).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from migration_assets.connectors.base import (
    COMPATIBLE_TYPES,
    ColumnInfo,
    ColumnRequirement,
    SchemaPlan,
    TableInfo,
    TableRequirement,
)
from migration_assets.connectors.freshsales.rows import split_position
from migration_assets.connectors.freshsales.settings import (
    ASSOCIATIONS,
    CREATE_TYPES,
    FIELD_TYPES,
    ID_DROPDOWNS,
    LOOKUP_TARGETS,
    STATIC_REQUIRED,
    TABLES,
    TEXT_MAX,
    UI_TYPE_NAMES,
    TableDef,
)

CATALOG = Path(__file__).with_name("catalog.yaml")
# field settings name -> our column name (associations are exposed as numbered lookup columns)
_RENAMED = {("contact", "sales_accounts"): "sales_account_id"}
_HIDDEN = {"targetable_type"}  # folded into the targetable_id lookup
CHECKLIST = "the setup checklist of plan/schema_diff (to_create items)"


@cache
def catalog() -> dict[str, dict[str, str]]:
    """{table: {column: type}} of the standard schema (catalog.yaml beside this module)."""
    return dict(yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["tables"])


def cf_name(label: str) -> str:
    """The `cf_` name Freshsales derives from a label: "Matter Stage" -> cf_matter_stage."""
    return "cf_" + re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


def label_for(column: str) -> str:
    """A label that produces `column`: cf_source_system_id -> "Source System Id"."""
    return column.removeprefix("cf_").replace("_", " ").title()


# -- describing --------------------------------------------------------------------------------
def to_column(table: str, field: Mapping[str, Any]) -> ColumnInfo:
    """One field settings item as a ColumnInfo (dropdown options are the choice values)."""
    name = _RENAMED.get((table, field["name"]), field["name"])
    kind = FIELD_TYPES.get(str(field.get("type")), str(field.get("type")))
    if name in ID_DROPDOWNS:
        kind = "picklist"
    options = (
        tuple(str(c["value"]) for c in field.get("choices") or []) if kind in ("picklist", "multipicklist") else ()
    )
    return ColumnInfo(
        name=name,
        type=kind,
        required=bool(field.get("required")),
        max_length=TEXT_MAX if kind == "string" else None,
        options=options,
        targets=LOOKUP_TARGETS.get(name, ()) if kind == "lookup" else (),
        custom=name.startswith("cf_"),
    )


def table_from_settings(tdef: TableDef, fields: Sequence[Mapping[str, Any]]) -> TableInfo:
    """A table with field settings; an association field also gives the numbered columns of the
    catalog (`contact_ids_2`, ...: one more link each)."""
    columns = {c.name: c for c in (to_column(tdef.table, f) for f in fields) if c.name not in _HIDDEN}
    for name in catalog().get(tdef.table, {}):
        base, position = split_position(name)
        if position and (tdef.table, base) in ASSOCIATIONS and base in columns:
            columns[name] = replace(columns[base], name=name, required=False)
    keys = {f["name"]: (f["name"],) for f in fields if f.get("unique") and str(f["name"]).startswith("cf_")}
    return TableInfo(tdef.table, columns, keys=keys, activity=tdef.model is None, primary_id="id")


def table_from_catalog(
    tdef: TableDef, options: Mapping[str, tuple[str, ...]], keys: Sequence[str] = ()
) -> TableInfo:
    """A table without field settings: its catalog columns (options of id dropdowns from selectors),
    plus the external-id columns `keys` where the connector keeps them outside any field (the
    description line of tasks, appointments and notes; nowhere for documents)."""
    required = STATIC_REQUIRED.get(tdef.table, frozenset())
    columns = {
        name: ColumnInfo(
            name,
            kind,
            required=name in required,
            max_length=TEXT_MAX if kind == "string" else None,
            options=options.get(name, ()),
            targets=LOOKUP_TARGETS.get(name.rsplit("_", 1)[0] if name[-1].isdigit() else name, ()),
        )
        for name, kind in catalog()[tdef.table].items()
    }
    kept = [k for k in keys if k not in columns] if tdef.key_in_description or tdef.key_not_stored else []
    columns |= {k: ColumnInfo(k, "string", max_length=TEXT_MAX) for k in kept}
    activity = tdef.table in ("task", "appointment", "note")
    return TableInfo(tdef.table, columns, keys={k: (k,) for k in kept}, activity=activity, primary_id="id")


# -- planning ----------------------------------------------------------------------------------
def _item(kind: str, tdef: TableDef, name: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "table": tdef.table, "entity": tdef.entity, "name": name, **extra, "detail": detail}


def field_item(tdef: TableDef, column: ColumnRequirement, unique: bool) -> dict[str, Any]:
    """The checklist item creating a custom field for `column`."""
    kind = CREATE_TYPES[column.type]
    if kind == "text" and (column.max_length or 0) > TEXT_MAX:
        kind = "textarea"
    label = column.label or label_for(column.name)
    choices = list(column.options) if kind in ("dropdown", "multi_select_dropdown") else []
    detail = (
        f"Admin Settings > {tdef.entity.replace('_', ' ').title()} > Fields: add a field of type "
        f"{UI_TYPE_NAMES[kind]} labelled {label!r} (API name {column.name})"
        + (f" with the choices {', '.join(choices)}" if choices else "")
        + (", marked unique" if unique else "")
    )
    return _item("field", tdef, column.name, detail, label=label, type=kind, choices=choices, unique=unique)


def compare_column(
    tdef: TableDef, table: TableInfo | None, column: ColumnRequirement, unique: bool, key: bool
) -> tuple[str, dict[str, Any]]:
    """("existing" | "to_create" | "conflicting", item) for one required column."""
    base, position = split_position(column.name)
    name = base if position and (tdef.table, base) in ASSOCIATIONS else column.name
    existing = table.columns.get(name) if table else None
    if existing is None:
        return _missing(tdef, column, unique, key)
    if column.type not in (existing.type, "lookup") and existing.type not in COMPATIBLE_TYPES.get(column.type, ()):
        detail = f"{tdef.entity}.{column.name} is {existing.type}, the spec needs {column.type}"
        return "conflicting", _item("column", tdef, column.name, detail)
    missing = [o for o in column.options if o not in existing.options] if existing.options else []
    if missing and column.name.startswith("cf_"):
        detail = f"Admin Settings > {tdef.entity} > Fields > {column.name}: add the choices {', '.join(missing)}"
        return "to_create", _item("choices", tdef, column.name, detail, choices=missing)
    if missing:
        detail = f"{tdef.entity}.{column.name} has no option(s) {', '.join(missing)} and standard options are fixed"
        return "conflicting", _item("options", tdef, column.name, detail)
    if unique and column.name not in table.keys:
        detail = f"Admin Settings > {tdef.entity} > Fields > {column.name}: mark the field unique (the upsert key)"
        return "to_create", _item("unique", tdef, column.name, detail)
    return "existing", _item("column", tdef, column.name, "")


def _missing(tdef: TableDef, column: ColumnRequirement, unique: bool, key: bool) -> tuple[str, dict[str, Any]]:
    name = column.name
    if not name.startswith("cf_"):
        detail = f"{tdef.entity} has no field {name!r}; custom fields are named cf_<label>"
        return "conflicting", _item("column", tdef, name, detail)
    if not tdef.settings:
        if key and tdef.key_in_description:
            return "existing", _item("column", tdef, name, "kept as the last line of the description")
        if key and tdef.key_not_stored:
            detail = "not stored (documents have no fields): an upload is found again by record, name and size"
            return "existing", _item("column", tdef, name, detail)
        return "conflicting", _item("column", tdef, name, f"{tdef.entity} have no custom fields in Freshsales")
    if column.type not in CREATE_TYPES:
        return "conflicting", _item("column", tdef, name, f"a {column.type} custom field cannot be created here")
    if column.label and cf_name(column.label) != name:
        detail = f"the label {column.label!r} would create {cf_name(column.label)}, not {name}"
        return "conflicting", _item("column", tdef, name, detail)
    return "to_create", field_item(tdef, column, unique)


def compare_pipelines(
    column: ColumnRequirement, pipelines: Sequence[Mapping[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """Pipelines (`deal_pipeline_id`) or stages of one pipeline (`deal_stage_id`) the spec needs."""
    deal = TABLES["deal"]
    by_name = {p["name"]: p for p in pipelines}
    if column.name == "deal_pipeline_id":
        return [
            ("existing", _item("pipeline", deal, name, ""))
            if name in by_name
            else (
                "to_create",
                _item("pipeline", deal, name, f"Admin Settings > Deal pipelines: add {name!r}", stages=[]),
            )
            for name in column.options
        ]
    default = next((p for p in pipelines if p.get("is_default")), pipelines[0] if pipelines else {"name": ""})
    pipeline = column.label or default["name"]
    stages = [s["name"] for s in (by_name.get(pipeline) or {}).get("deal_stages") or []]
    missing = [o for o in column.options if o not in stages]
    if not missing:
        return [("existing", _item("pipeline", deal, pipeline, ""))]
    detail = f"Admin Settings > Deal pipelines > {pipeline}: add the stage(s) {', '.join(missing)} in this order"
    return [("to_create", _item("pipeline", deal, pipeline, detail, stages=missing))]


def plan(
    required: Sequence[TableRequirement],
    tables: Mapping[str, TableInfo],
    pipelines: Sequence[Mapping[str, Any]],
    facts: Mapping[str, Any],
) -> SchemaPlan:
    """Compare requirements with the described tables (nothing is changed)."""
    out: dict[str, list[dict[str, Any]]] = {"existing": [], "to_create": [], "conflicting": []}
    for requirement in required:
        tdef = TABLES.get(requirement.name)
        if tdef is None:
            detail = f"Freshsales has no table {requirement.name!r} (known: {', '.join(TABLES)})"
            out["conflicting"].append(
                {"kind": "table", "table": requirement.name, "name": requirement.name, "detail": detail}
            )
            continue
        keys = {c for columns in requirement.keys.values() for c in columns}
        columns = {c.name: c for c in requirement.columns}
        columns |= {k: ColumnRequirement(k, "string") for k in keys if k not in columns}
        for column in columns.values():
            if column.name in ("deal_pipeline_id", "deal_stage_id") and tdef.table == "deal" and column.options:
                found = compare_pipelines(column, pipelines)
            else:
                found = [compare_column(tdef, tables.get(tdef.table), column, column.name in keys, column.name in keys)]
            for state, item in found:
                out[state].append(item)
    return SchemaPlan(out["existing"], out["to_create"], out["conflicting"], dict(facts))


def missing_message(schema_plan: SchemaPlan) -> str:
    """The error text of `apply_schema` when the account is not set up yet."""
    lines = [f"- {i['table']}.{i['name']}: {i['detail']}" for i in (*schema_plan.conflicting, *schema_plan.to_create)]
    return (
        "freshsales: the account is not set up for this spec, and custom fields and pipelines can only be"
        f" created by an admin in the Freshsales UI. Follow {CHECKLIST}, then run again:\n" + "\n".join(lines)
    )


def removal_steps(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """What an admin removes by hand in the Freshsales UI to undo checklist items (the API cannot
    delete custom fields): one sentence per field, choice set or unique mark."""
    steps = []
    for item in items:
        entity = str(item.get("entity") or item.get("table") or "").replace("_", " ").title()
        name, kind = item.get("name"), item.get("kind")
        where = f"Admin Settings > {entity} > Fields > {name}"
        if kind == "field":
            label = item.get("label") or name
            steps.append(f"field {item.get('table')}.{name}: {where}: delete the field {label!r}")
        elif kind == "choices":
            steps.append(
                f"choices of {item.get('table')}.{name}: {where}: delete {', '.join(item.get('choices') or ())}"
            )
        elif kind == "unique":
            steps.append(f"unique mark of {item.get('table')}.{name}: {where}: clear 'unique'")
        else:
            steps.append(f"{kind} {item.get('table')}.{name}: {where}: remove it")
    return steps
