"""`migrate quarantine` and `migrate corrections import`: the held-back rows as a workflow.

migrate quarantine PAIR [--phase full] [--csv | --json]   # list, grouped by reason and root cause
migrate corrections import PAIR FILE.csv --by you@firm    # the same CSV with fix_value filled in
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.table import Table

from migration_assets.engine import planning
from migration_assets.errors import MigrationError
from migration_assets.settings import default_paths, default_spec_dir
from migration_assets.spec import corrections
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import quarantine

CSV_COLUMNS = (
    "object",
    "source_object",
    "source_id",
    "external_id",
    "step",
    "reason",
    "root_cause",
    "field",
    "value",
    "fix_value",
)


def held_back(spec: LoadedSpec, phase: str | None) -> pl.DataFrame:
    """The held-back rows of `phase` (every phase when None), with each object's source object."""
    path = default_paths().staging_db(spec.pair)
    if not path.exists():
        raise MigrationError(f"{spec.pair} has not run yet: nothing is held back")
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = quarantine.rows(conn, phase)
    sources = {name: obj.source for name, obj in spec.spec.objects.items()}
    return rows.with_columns(pl.col("object").replace_strict(sources, default=None).alias("source_object"))


def cmd_quarantine(args, console: Console) -> int:
    spec = _spec(args.pair)
    rows = held_back(spec, args.phase)
    if args.csv:
        sys.stdout.write(rows.select(CSV_COLUMNS).write_csv())
        return 0
    summary = quarantine.summary(rows)
    if args.json:
        print(
            json.dumps(
                {"pair": spec.pair, "phase": args.phase, **summary, "rows": rows.select(CSV_COLUMNS).to_dicts()},
                indent=2,
                default=str,
            )
        )
        return 0
    _print(console, spec, args.phase, rows, summary)
    return 0


def _print(console: Console, spec: LoadedSpec, phase: str | None, rows: pl.DataFrame, summary: dict) -> None:
    scope = phase or "every phase"
    if not summary["total"]:
        console.print(f"{spec.pair} · {scope}: nothing is held back.")
        return
    console.print(f"{spec.pair} · {scope}: {summary['total']} record(s) held back.")
    table = Table(title="root causes (each with the records it holds back)")
    for column in ("root cause", "records", "by object"):
        table.add_column(column, justify="right" if column == "records" else "left")
    for node in summary["tree"][:15]:
        table.add_row(node["root"], str(node["records"]), ", ".join(f"{o} {n}" for o, n in node["objects"].items()))
    console.print(table)
    console.print(
        f"Fix them: `migrate quarantine {spec.pair} --phase {phase or 'full'} --csv > fixes.csv`, fill in "
        f"fix_value for the rows held back by their own field, then `migrate corrections import {spec.pair} "
        "fixes.csv --by <you>`, approve the sample again and run the phase again."
    )


def cmd_corrections(args, console: Console) -> int:
    spec = _spec(args.pair)
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"cannot read {path}: {exc}") from None
    rows = corrections.read_csv(text, path.name)
    if not rows:
        raise MigrationError(f"{path.name}: no row has a fix_value; fill in the column for the rows to correct")
    fields = {name: {f.name for f in obj.fields} for name, obj in spec.source_catalog.items()}
    corrections.validate(rows, path.name, fields, _extracted_ids(spec, {r.source_object for r in rows}))
    new = corrections.from_rows(rows, args.by, args.note or "")
    spec_dir = default_spec_dir()
    saved = corrections.save(spec_dir, spec.pair, corrections.merge(corrections.load(spec_dir, spec.pair), new))
    console.print(
        f"[green]✓[/] {len(new)} correction(s) stored in {saved}. The spec's hash changed: run "
        f"`migrate run {spec.pair} --phase sample`, review it and approve again before the full run."
    )
    return 0


def _extracted_ids(spec: LoadedSpec, source_objects: set[str]) -> dict[str, set[str]]:
    path = default_paths().staging_db(spec.pair)
    if not path.exists():
        raise MigrationError(f"{spec.pair} has not run yet: no extracted records to correct")
    with duckdb.connect(str(path), read_only=True) as conn:
        out = {}
        for source in source_objects:
            if source not in spec.source_catalog:
                continue
            frame = planning.latest_records(conn, spec, source)
            id_field = spec.source_catalog[source].id_field
            out[source] = set(frame[id_field].cast(pl.String).to_list()) if frame.height else set()
    return out


def _spec(pair: str) -> LoadedSpec:
    from migration_assets.cli import _spec as find

    return find(pair)
