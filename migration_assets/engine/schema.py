"""Apply the destination schema a spec needs, then check that every column it writes exists."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from migration_assets.connectors.base import DestinationConnector, TableInfo
from migration_assets.engine import planning
from migration_assets.engine.custom_fields import CustomField
from migration_assets.spec.loader import LoadedSpec


def missing_columns(
    loaded: LoadedSpec, tables: Mapping[str, TableInfo], fields: tuple[CustomField, ...] = ()
) -> list[str]:
    """Spec columns (mapped, lookups, owners, keys, discovered custom fields) absent from the
    described destination schema."""
    missing = []
    for name, obj in loaded.spec.objects.items():
        info = tables.get(obj.table)
        if info is None:
            missing.append(f"table {obj.table} (object {name})")
            continue
        texts = [o.text_column for o in obj.owners.values() if o.text_column]
        custom = [f.column for f in fields if f.object == name]
        key = [] if info.association else [obj.external_id.column]  # a relationship is keyed by its sides
        for column in [*key, *obj.fields, *obj.lookups, *obj.owners, *texts, *custom]:
            if column not in info.columns:
                missing.append(f"{obj.table}.{column}")
    return missing


@dataclass
class SchemaApplied:
    actions: list[str]  # what the destination says it did
    created: list[dict[str, Any]]  # the plan's `to_create` items it did them for (what a rollback may remove)
    missing: list[str]  # spec columns still absent afterwards


async def apply_schema_and_check(
    dest: DestinationConnector, loaded: LoadedSpec, fields: tuple[CustomField, ...]
) -> SchemaApplied:
    """Create what the spec needs and check every column exists; closes `dest`."""
    try:
        required = planning.schema_requirements(loaded, fields)
        plan = await dest.plan_schema(required)
        actions = await dest.apply_schema(required)
        tables = {o.table for o in loaded.spec.objects.values()}
        schema = await dest.describe(sorted(tables))
        return SchemaApplied(actions, plan.to_create if actions else [], missing_columns(loaded, schema.tables, fields))
    finally:
        await dest.aclose()


SCHEMA_DDL = """create table if not exists schema_changes (run_id varchar, phase varchar, items varchar,
    recorded_at timestamptz, removed_at timestamptz)"""


def record_created(conn: duckdb.DuckDBPyConnection, run_id: str, phase: str, items: list[dict[str, Any]]) -> None:
    """Keep what a schema_apply created, for the rollback report and `rollback --schema`."""
    conn.execute(SCHEMA_DDL)
    if items:
        conn.execute(
            "insert into schema_changes values (?, ?, ?, ?, null)",
            [run_id, phase, json.dumps(items, default=str), datetime.now(UTC)],
        )


def created_items(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every schema item the migration created and no rollback removed yet, oldest first."""
    conn.execute(SCHEMA_DDL)
    rows = conn.execute("select items from schema_changes where removed_at is null order by recorded_at").fetchall()
    return [item for (items,) in rows for item in json.loads(items)]


def mark_removed(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA_DDL)
    conn.execute("update schema_changes set removed_at = ? where removed_at is null", [datetime.now(UTC)])
