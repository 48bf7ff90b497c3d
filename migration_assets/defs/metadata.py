"""Metadata helpers: the tables, schemas and lineage the Dagster UI shows for each asset.

A staged table's columns are described from the destination's catalog (standard columns) or the
spec's `schema:` section (custom columns, with their labels and options), and carry the spec's own
mapping of the column as YAML, so a person reads in the UI what the spec says, not a Python repr.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
import yaml

from migration_assets.defs.naming import asset_key
from migration_assets.engine.transform import EXT, SRC, compiled_columns
from migration_assets.spec.catalogs import destination_catalog
from migration_assets.spec.loader import LoadedSpec
from migration_assets.systems import system

AUDIT_COLUMNS = ("time", "operation", "outcome", "source_id", "destination_id", "error")


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


def column_schema(frame: pl.DataFrame, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    """The frame's columns and types, described where `descriptions` has the column."""
    described = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, str(dtype), description=described.get(name))
            for name, dtype in frame.schema.items()
        ]
    )


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


def flow_yaml(node: Any) -> str:
    """One spec node as one line of YAML flow style, e.g. `{op: trim, of: name}`."""
    dumped = node.model_dump(mode="json", by_alias=True, exclude_defaults=True) if hasattr(node, "model_dump") else node
    text = yaml.safe_dump(dumped, default_flow_style=True, sort_keys=False, width=10_000).strip()
    return text.removesuffix("...").strip()  # a plain scalar is dumped as a document: `id\n...`


def mapping_yaml(loaded: LoadedSpec, obj_name: str) -> str:
    """The object's section of the spec as YAML (and the value maps it names), as Markdown."""
    obj = loaded.spec.objects[obj_name]
    section = {obj_name: obj.model_dump(mode="json", by_alias=True, exclude_defaults=True)}
    text = yaml.safe_dump(section, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
    used = sorted(_value_maps(obj.fields.values()) & set(loaded.spec.value_maps))
    maps = {
        name: loaded.spec.value_maps[name].model_dump(mode="json", by_alias=True, exclude_defaults=True)
        for name in used
    }
    out = f"**{obj.source} → {obj.table}** (`{loaded.file}`, objects.{obj_name})\n\n```yaml\n{text}```\n"
    if maps:
        listed = yaml.safe_dump({"value_maps": maps}, sort_keys=False, default_flow_style=None, width=110)
        out += f"\nValue maps it uses:\n\n```yaml\n{listed}```\n"
    return out


def _value_maps(nodes) -> set[str]:
    """Names of the value maps an expression tree refers to (`{op: value_map, map: NAME}`)."""
    found: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("op") == "value_map" and isinstance(node.get("map"), str):
                found.add(node["map"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def column_descriptions(loaded: LoadedSpec, obj_name: str) -> dict[str, str]:
    """Per destination column of the object: what the destination says it is, and its mapping.

    Standard columns are described from the destination's catalog, custom ones from the spec's
    `schema:` (label, type, options); each ends with the spec's mapping as one line of YAML.
    """
    obj = loaded.spec.objects[obj_name]
    title = system(loaded.spec.destination).title
    standard = destination_catalog(loaded.spec.destination).get(obj.table, {})
    custom = loaded.spec.schema_.get(obj.table)
    out: dict[str, str] = {
        EXT: f"Staging: the record's external id, the key every write upserts by ({obj.external_id.column}).",
        SRC: f"Staging: the id of the {obj.source} record it comes from.",
    }

    def describe(column: str, mapping: str) -> str:
        declared = custom.columns.get(column) if custom else None
        if declared is not None:
            options = ", ".join(_option(o) for o in declared.options[:12])
            kind = "standard column, options added by the spec" if column in standard else "custom column"
            what = f"{declared.label or column} ({declared.type}, {kind} of {obj.table})"
            what += f"; options: {options}" if options else ""
        elif column in standard:
            what = f"{title} {obj.table}.{column} ({standard[column]}, standard column)"
        else:
            what = f"{title} {obj.table}.{column}"
        return f"{what}. Mapping: `{mapping}`"

    out[obj.external_id.column] = describe(obj.external_id.column, flow_yaml(obj.external_id.value)) + " (external id)"
    for column, node in obj.fields.items():
        out[column] = describe(column, flow_yaml(node))
    for column, lookup in obj.lookups.items():
        out[column] = describe(column, flow_yaml(lookup)) + f" (lookup to {lookup.object})"
    for column, owner in obj.owners.items():
        out[column] = describe(column, flow_yaml(owner)) + " (owner)"
    return out


def _option(option: Any) -> str:
    if isinstance(option, str):
        return option
    return f"{option.label}={option.value}" if option.value is not None else option.label


def declared_columns(loaded: LoadedSpec, obj_name: str) -> dg.TableSchema:
    """The staged table's destination columns as the definition declares them (before any run)."""
    obj = loaded.spec.objects[obj_name]
    standard = destination_catalog(loaded.spec.destination).get(obj.table, {})
    custom = loaded.spec.schema_.get(obj.table)
    columns = []
    for column, text in column_descriptions(loaded, obj_name).items():
        if column in (EXT, SRC):
            continue
        declared = custom.columns.get(column) if custom else None
        kind = declared.type if declared is not None else standard.get(column, "string")
        columns.append(dg.TableColumn(column, str(kind), description=text))
    return dg.TableSchema(columns=columns)


def audit_preview(audit: pl.DataFrame) -> dg.MetadataValue:
    """The latest ledger rows with short cells (times to the second, ids to 13 characters), so the
    UI's table keeps one row per line instead of wrapping GUIDs a character at a time."""
    if audit.height == 0:
        return dg.MetadataValue.md("_(none)_")
    rows = []
    for r in audit.iter_rows(named=True):
        when = r.get("recorded_at")
        rows.append(
            {
                "time": when.strftime("%H:%M:%S") if hasattr(when, "strftime") else str(when or "")[:19],
                "operation": str(r.get("operation") or ""),
                "outcome": str(r.get("outcome") or ""),
                "source_id": short_id(r.get("source_id")),
                "destination_id": short_id(r.get("destination_id")),
                "error": str(r.get("error") or "")[:60],
            }
        )
    return dg.MetadataValue.md(md_table(rows))


def short_id(value: Any) -> str:
    """An id cut in the middle to 13 characters (`db3ca1…a75cc8`): enough to tell rows apart."""
    text = "" if value is None else str(value)
    return text if len(text) <= 13 else f"{text[:6]}…{text[-6:]}"


def md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_(none)_"
    columns = list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(r.get(c, "")).replace("|", "\\|")[:120] for c in columns) + " |" for r in rows]
    return "\n".join(out)
