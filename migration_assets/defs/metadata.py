"""Metadata helpers: the tables and lineage the Dagster UI shows for each asset."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from migration_assets.defs.naming import asset_key
from migration_assets.engine.transform import compiled_columns
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging.tables import extract_table


def table_preview(frame: pl.DataFrame, limit: int = 20) -> dg.MetadataValue:
    """A table metadata value of the first rows, every value as text."""
    if frame.height == 0:
        return dg.MetadataValue.md("_(none)_")
    head = frame.head(limit)
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in head.columns])
    records = [
        dg.TableRecord({k: ("" if v is None else str(v)[:200]) for k, v in r.items()})
        for r in head.iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def column_schema(frame: pl.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


def column_lineage(loaded: LoadedSpec, obj_name: str) -> dg.TableColumnLineage:
    """Destination column -> the source fields it is computed from (from the spec)."""
    obj = loaded.spec.objects[obj_name]
    upstream = asset_key(loaded.pair, "extract", obj.source)
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column, compiled in compiled_columns(loaded, obj_name).items():
        deps[column] = [dg.TableColumnDep(asset_key=upstream, column_name=s) for s in sorted(compiled.sources)]
    ext = loaded.compile(obj_name, "external_id.value", obj.external_id.value)
    deps[obj.external_id.column] = [dg.TableColumnDep(asset_key=upstream, column_name=s) for s in sorted(ext.sources)]
    return dg.TableColumnLineage(deps_by_column=deps)


def mapping_markdown(loaded: LoadedSpec, obj_name: str) -> str:
    obj = loaded.spec.objects[obj_name]
    lines = [
        f"**{obj.source} → {obj.table}** ({extract_table(obj.source)})",
        "",
        "| destination | from |",
        "|---|---|",
    ]
    lines.append(f"| {obj.external_id.column} (external id) | `{obj.external_id.value}` |")
    for column, node in obj.fields.items():
        lines.append(f"| {column} | `{node}` |")
    for column, lookup in obj.lookups.items():
        lines.append(f"| {column} → {lookup.object} | `{lookup.value}` |")
    return "\n".join(lines)


def md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_(none)_"
    columns = list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(r.get(c, "")).replace("|", "\\|")[:120] for c in columns) + " |" for r in rows]
    return "\n".join(out)
