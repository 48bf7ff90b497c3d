"""Load one destination object's staged rows for one phase: idempotent, resumable, audited.

For each batch: resolve lookups through the ledger's crosswalk, read the current destination
records (before-images), write `pending` ledger rows, upsert by external id, then write the
outcomes. Rows already confirmed in this phase with the same content hash are skipped, so a run
killed at any point and started again redoes nothing and duplicates nothing. Rejected rows and rows
whose lookup target is not in the destination are quarantined with the reason.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector, LookupRef, UpsertRow, WriteResult
from migration_assets.engine import lookup_targets
from migration_assets.engine.transform import EXT, HASH, SRC, field_columns
from migration_assets.errors import BudgetExhausted
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap
from migration_assets.staging import db, ledger, quarantine
from migration_assets.staging.tables import stage_table


@dataclass
class LoadSummary:
    object: str
    staged: int = 0
    skipped: int = 0  # already confirmed in the ledger with the same content
    created: int = 0
    updated: int = 0
    failed: int = 0  # rejected by the destination
    unresolved: int = 0  # lookup target not in the destination
    batches: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    requests: dict[str, float] = field(default_factory=dict)  # HTTP statistics of the destination
    estimate: dict[str, Any] = field(default_factory=dict)  # API calls this load needs vs the budget left
    stopped: BudgetExhausted | None = None  # the daily budget ran out: the rest waits for the next run

    @property
    def written(self) -> int:
        return self.created + self.updated


def json_value(value: Any) -> Any:
    """A staged Polars value as the JSON the connectors send (UTC timestamps with Z)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


@dataclass(frozen=True)
class Missing:
    """A row whose lookup target is not in the destination."""

    row: dict
    column: str
    target: str  # the target object
    target_ext: str
    hold: bool = True  # quarantine the row (on_missing: quarantine), else load it without the lookup


def _build_rows(
    loaded: LoadedSpec, obj_name: str, frame: pl.DataFrame, crosswalks: dict[str, dict[str, str]], user_table: str
) -> tuple[list[tuple[dict, UpsertRow]], list[Missing]]:
    """UpsertRows for rows whose lookups resolve; the rows whose lookup target is missing."""
    obj = loaded.spec.objects[obj_name]
    fields = field_columns(obj, frame.columns)
    ready: list[tuple[dict, UpsertRow]] = []
    missing: list[Missing] = []
    for row in frame.iter_rows(named=True):
        lookups: dict[str, LookupRef] = {}
        problem: Missing | None = None
        notes: list[Missing] = []
        for column, lookup in obj.lookups.items():
            if lookup.deferred:
                continue
            found = lookup_targets.resolve(loaded, lookup, column, row, crosswalks)
            if not found.named:
                continue
            if found.destination_id is None:
                target, target_ext = found.named[0]
                problem = Missing(row, column, target, target_ext, hold=lookup.on_missing == "quarantine")
                if problem.hold:
                    break
                notes.append(problem)
                problem = None
            elif found.table is not None:
                lookups[column] = LookupRef(found.table, found.destination_id)
        missing += notes  # loaded without these lookups (on_missing: null): reported, not silent
        if problem:
            missing.append(problem)
            continue
        for column in obj.owners:  # already destination user ids (plan/owners, stage)
            if row.get(column) is not None:
                lookups[column] = LookupRef(user_table, str(row[column]))
        values = {c: json_value(row[c]) for c in fields}
        ready.append((row, UpsertRow(str(row[EXT]), values, lookups)))
    return ready, missing


def quarantine_missing(conn, phase: str, obj_name: str, run_id: str, missing: list[Missing]) -> list[tuple[dict, str]]:
    """Hold back rows whose parent is not in the destination, each with the parent's root cause.

    Returns:
        (row, reason) of each.
    """
    by_target: dict[str, list[Missing]] = {}
    for m in missing:
        by_target.setdefault(m.target, []).append(m)
    held, found, loaded_without = [], [], []
    for target, items in by_target.items():
        known = quarantine.roots(conn, target, [m.target_ext for m in items])
        for m in items:
            reason, root = quarantine.missing_parent(obj_name, m.column, target, m.target_ext, known.get(m.target_ext))
            if m.hold:
                held.append((m.row, reason))
                found.append(root)
            else:
                loaded_without.append((m.row, m.column, f"loaded without it: {reason}"))
    quarantine_rows(conn, phase, obj_name, run_id, held, roots=found)
    quarantine.note_substitutions(conn, phase, obj_name, run_id, loaded_without)
    return held


def written_columns(obj: ObjectMap, staged_columns: list[str]) -> list[str]:
    """Every destination column a load writes (before-images and read-back cover exactly these)."""
    lookups = [c for c, lk in obj.lookups.items() if not lk.deferred]
    return [*field_columns(obj, staged_columns), *lookups, *obj.owners]


def pending_rows(conn: duckdb.DuckDBPyConnection, obj_name: str, phase: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(staged slice, rows still to write): rows confirmed in this phase with the same content hash
    are done. Clears the load step's quarantine of the phase, which this load writes anew."""
    staged = db.read_slice(conn, stage_table(obj_name), phase)
    db.replace_rows(
        conn, "quarantine", pl.DataFrame(), "_phase = ? and object = ? and step = 'load'", [phase, obj_name]
    )
    if staged.height == 0:
        return staged, staged
    done = ledger.confirmed(conn, obj_name, phase)
    is_done = pl.struct(EXT, HASH).map_elements(lambda r: done.get(r[EXT]) == r[HASH], return_dtype=pl.Boolean)
    return staged, staged.filter(~is_done)


async def load_object(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    run_id: str,
    *,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadSummary:
    """Load the staged `phase` slice of `obj_name` into the destination."""
    spec = loaded.spec
    obj = spec.objects[obj_name]
    started = asyncio.get_running_loop().time()
    staged, todo = pending_rows(conn, obj_name, phase)
    summary = LoadSummary(obj_name, staged=staged.height)
    summary.skipped = staged.height - todo.height
    crosswalks = lookup_targets.crosswalks(conn, loaded, obj_name)
    ready, missing = _build_rows(loaded, obj_name, todo, crosswalks, dest.user_table)
    summary.unresolved = sum(1 for m in missing if m.hold)
    quarantine_missing(conn, phase, obj_name, run_id, missing)
    columns = written_columns(obj, staged.columns)
    size = spec.options.load.batch_size
    batches = [ready[i : i + size] for i in range(0, len(ready), size)]
    semaphore = asyncio.Semaphore(spec.options.load.concurrency)
    summary.estimate = await estimate_load(dest, obj.table, [len(b) for b in batches])
    if summary.estimate:
        log(f"{obj_name}: estimate {summary.estimate}")

    async def run_batch(batch: list[tuple[dict, UpsertRow]]) -> None:
        async with semaphore:
            if summary.stopped:
                return  # out of daily budget: later batches wait for the next run
            try:
                await _load_batch(loaded, obj_name, phase, conn, dest, run_id, batch, columns, summary)
            except BudgetExhausted as exc:
                # batches in flight finish; the rows of this one stay pending and are redone next run
                summary.stopped = summary.stopped or exc
                return
            summary.batches += 1
            if summary.batches % 10 == 0 or summary.batches == len(batches):
                log(f"{obj_name}: {summary.batches}/{len(batches)} batches, {summary.written} written")

    await asyncio.gather(*(run_batch(b) for b in batches))
    summary.seconds = asyncio.get_running_loop().time() - started
    return summary


async def estimate_load(dest: DestinationConnector, table: str, batch_rows: list[int]) -> dict[str, Any]:
    """What the destination says this load will cost against its daily API budget (empty for
    systems without a daily budget)."""
    return dict(await dest.estimate_load(table, batch_rows)) if batch_rows else {}


async def _load_batch(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn,
    dest: DestinationConnector,
    run_id: str,
    batch: list[tuple[dict, UpsertRow]],
    columns: list[str],
    summary: LoadSummary,
) -> None:
    obj = loaded.spec.objects[obj_name]
    key = obj.external_id.column
    ext_ids = [r.external_id for _row, r in batch]
    before = await dest.read_back(obj.table, key, ext_ids, columns)
    ledger.record(
        conn,
        [
            ledger.Entry(
                run_id,
                phase,
                obj_name,
                obj.table,
                str(row[SRC]),
                up.external_id,
                (before.get(up.external_id) or {}).get("id"),
                None,
                "pending",
                row_hash=row[HASH],
                before_image=before.get(up.external_id),
            )
            for row, up in batch
        ],
    )
    results = await dest.upsert(obj.table, key, [up for _row, up in batch])
    entries, failures = [], []
    for (row, up), result in zip(batch, results, strict=True):
        entries.append(outcome_entry(run_id, phase, obj_name, obj.table, row, result))
        if result.ok:
            summary.created += result.operation == "created"
            summary.updated += result.operation == "updated"
        else:
            summary.failed += 1
            failures.append((row, f"rejected by {dest.system}: {result.error}"))
            if len(summary.errors) < 20:
                summary.errors.append({"external_id": up.external_id, "error": str(result.error)})
    ledger.record(conn, entries)
    quarantine_rows(conn, phase, obj_name, run_id, failures)


def outcome_entry(run_id: str, phase: str, obj_name: str, table: str, row: dict, result: WriteResult) -> ledger.Entry:
    """The ledger row of one write's outcome (records and files alike)."""
    return ledger.Entry(
        run_id,
        phase,
        obj_name,
        table,
        str(row[SRC]),
        str(row[EXT]),
        result.destination_id,
        result.operation,
        "ok" if result.ok else "failed",
        result.error,
        row[HASH],
    )


def quarantine_rows(
    conn, phase: str, obj_name: str, run_id: str, rows: list[tuple[dict, str]], *, roots: list | None = None
) -> None:
    """Record rows held back at load, with their root causes when they are cascades."""
    if not rows:
        return
    root_list = roots or [None] * len(rows)
    frame = pl.DataFrame(  # noqa: F841 - scanned by name below
        {
            "_phase": [phase] * len(rows),
            "object": [obj_name] * len(rows),
            "external_id": [str(r[EXT]) for r, _ in rows],
            "source_id": [str(r[SRC]) for r, _ in rows],
            "step": ["load"] * len(rows),
            "reason": [reason for _, reason in rows],
            "row_json": [json.dumps({k: json_value(v) for k, v in r.items()}, default=str) for r, _ in rows],
            "run_id": [run_id] * len(rows),
            "root_object": [x.object if x else None for x in root_list],
            "root_source_id": [x.source_id if x else None for x in root_list],
            "root_reason": [x.reason if x else None for x in root_list],
        },
        schema_overrides={c: pl.String for c in ("root_object", "root_source_id", "root_reason")},
    )
    conn.execute("insert into quarantine by name select * from frame")
