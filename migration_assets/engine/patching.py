"""The second pass that writes `deferred: true` lookups, after both sides of a lookup cycle exist.

A lookup cycle (e.g. account.primarycontactid → contact and contact.parentcustomerid → account)
has no load order; the spec breaks it by marking one side `deferred`. The loads write every
record without its deferred lookups, then this pass resolves them through the ledger crosswalk and
writes only those columns, by external id, with a before-image of the columns it changes (so a
rollback restores them) and a ledger row per record (operation `patched`). The read-back diff
compares deferred lookups like any other column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from migration_assets.connectors.base import DestinationConnector, LookupRef, UpsertRow
from migration_assets.engine.comparison import loaded_rows
from migration_assets.engine.transform import EXT, HASH, SRC
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import ledger

CHUNK = 100


@dataclass
class PatchSummary:
    object: str
    patched: int = 0
    unresolved: int = 0  # the target is not in the destination: the lookup stays empty, reported
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)


def deferred_columns(loaded: LoadedSpec, obj_name: str) -> dict[str, str]:
    """{lookup column: target object} of the object's deferred lookups."""
    return {c: lk.object for c, lk in loaded.spec.objects[obj_name].lookups.items() if lk.deferred}


async def patch_deferred(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    run_id: str,
    *,
    log: Callable[[str], None] = lambda _m: None,
) -> PatchSummary:
    """Write the deferred lookups of every record of `obj_name` the phase loaded."""
    columns = deferred_columns(loaded, obj_name)
    summary = PatchSummary(obj_name)
    rows = loaded_rows(conn, obj_name, phase)
    if not columns or rows.height == 0:
        return summary
    crosswalks = {target: ledger.crosswalk(conn, target) for target in set(columns.values())}
    ready = []
    for row in rows.iter_rows(named=True):
        refs = _refs(loaded, row, columns, crosswalks, summary)
        if refs:
            ready.append((row, UpsertRow(str(row[EXT]), {}, refs)))
    for i in range(0, len(ready), CHUNK):
        await _patch_batch(loaded, obj_name, phase, conn, dest, run_id, ready[i : i + CHUNK], summary)
    log(f"{obj_name}: {summary.patched} deferred lookup(s) patched, {summary.unresolved} without a target")
    return summary


def _refs(loaded, row: dict, columns: dict[str, str], crosswalks, summary: PatchSummary) -> dict[str, LookupRef]:
    refs = {}
    for column, target in columns.items():
        if row.get(column) is None:
            continue
        dest_id = crosswalks[target].get(str(row[column]))
        if dest_id is None:
            summary.unresolved += 1
            continue
        refs[column] = LookupRef(loaded.spec.objects[target].table, dest_id)
    return refs


async def _patch_batch(loaded, obj_name, phase, conn, dest, run_id, batch, summary: PatchSummary) -> None:
    obj = loaded.spec.objects[obj_name]
    key = obj.external_id.column
    ids = [up.external_id for _row, up in batch]
    before = await dest.read_back(obj.table, key, ids, list(deferred_columns(loaded, obj_name)))
    ledger.record(conn, [_entry(run_id, phase, obj_name, obj.table, row, None, "pending", before) for row, _ in batch])
    results = await dest.upsert(obj.table, key, [up for _row, up in batch])
    entries = []
    for (row, up), result in zip(batch, results, strict=True):
        entries.append(
            _entry(
                run_id,
                phase,
                obj_name,
                obj.table,
                row,
                result.destination_id,
                "ok" if result.ok else "failed",
                error=result.error,
            )
        )
        if result.ok:
            summary.patched += 1
        else:
            summary.failed += 1
            if len(summary.errors) < 20:
                summary.errors.append({"external_id": up.external_id, "error": str(result.error)})
    ledger.record(conn, entries)


def _entry(run_id, phase, obj_name, table, row, dest_id, outcome, before=None, error=None) -> ledger.Entry:
    image = (before or {}).get(str(row[EXT])) if before is not None else None
    return ledger.Entry(
        run_id,
        phase,
        obj_name,
        table,
        str(row[SRC]),
        str(row[EXT]),
        dest_id or (image or {}).get("id"),
        "patched" if outcome != "pending" else None,
        outcome,
        error,
        row[HASH],
        image,
    )
