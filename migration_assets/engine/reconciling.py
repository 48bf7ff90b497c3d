"""Reconciliation of a migration: what the source had against what the destination holds now.

Scope: the `sample` phase alone, or, for full and delta phases, the cutover so far (the full phase
and every delta phase, each record counted once in its latest state). Per object it compares:
counts (source = loaded + quarantined + excluded, and loaded = present in the destination), the
distribution of every value-mapped column value by value, the population rate of every mapped
column, and linkage (every lookup resolves to the record it should; orphans are listed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector
from migration_assets.engine import lookup_targets, readback, routing
from migration_assets.engine.comparison import CreateOnly, normalize
from migration_assets.engine.transform import EXT
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, ledger
from migration_assets.staging.tables import stage_table


@dataclass
class ObjectReconciliation:
    object: str
    counts: dict[str, int] = field(default_factory=dict)
    distributions: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # column -> value -> side
    population: dict[str, dict[str, float]] = field(default_factory=dict)  # column -> {staged, destination}
    linkage: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # check name -> unexplained differences
    route: dict[str, Any] = field(default_factory=dict)  # how a routed object's source split (routing.py)

    def problem(self, check: str, message: str) -> None:
        self.problems.setdefault(check, []).append(message)


def scope_phases(conn: duckdb.DuckDBPyConnection, phase: str) -> list[str]:
    if phase == "sample":
        return ["sample"]
    rows = conn.execute("select distinct phase from stage_runs where phase = 'full' or phase like 'delta-%'").fetchall()
    return sorted({r[0] for r in rows}, key=lambda p: (p != "full", p))


def _latest_state(conn, loaded: LoadedSpec, obj: str, phases: list[str]) -> tuple[pl.DataFrame, dict[str, str]]:
    """Staged rows of the scope (latest phase wins per external id) and each id's fate."""
    fate: dict[str, str] = {}
    frames = []
    for phase in phases:
        staged = db.read_slice(conn, stage_table(obj), phase)
        outcomes = ledger.phase_outcomes(conn, obj, phase)
        if staged.height:
            frames.append(staged)
            for ext in staged[EXT].to_list():
                fate[ext] = "loaded" if outcomes.get(ext) == "ok" else "quarantined"
        for (ext,) in conn.execute(
            "select external_id from quarantine where _phase = ? and object = ? and step = 'stage'", [phase, obj]
        ).fetchall():
            if fate.get(ext) != "loaded":  # a second copy of a loaded record is held back, not the record
                fate[ext] = "quarantined"
        for (ext,) in conn.execute(
            "select external_id from excluded where _phase = ? and object = ?", [phase, obj]
        ).fetchall():
            fate[ext] = "excluded"
    rows = pl.concat(frames, how="diagonal_relaxed").unique(EXT, keep="last") if frames else pl.DataFrame()
    return rows, fate


def value_mapped_columns(loaded: LoadedSpec, obj: str) -> list[str]:
    fields = loaded.spec.objects[obj].fields
    return [c for c, node in fields.items() if isinstance(node, dict) and node.get("op") == "value_map"]


async def reconcile_object(
    loaded: LoadedSpec,
    obj: str,
    phases: list[str],
    conn,
    dest: DestinationConnector,
    timer: readback.ReadTimer | None = None,
) -> ObjectReconciliation:
    """Counts, distributions, population and linkage of `obj` over `phases`; the loaded records are
    taken from the diff's read where it is still current (engine/readback.py), the rest read."""
    spec_obj = loaded.spec.objects[obj]
    result = ObjectReconciliation(obj)
    rows, fate = _latest_state(conn, loaded, obj, phases)
    tally = Counter(fate.values())
    loaded_rows = rows.filter(pl.col(EXT).is_in([e for e, f in fate.items() if f == "loaded"])) if rows.height else rows
    columns = [*spec_obj.fields, *spec_obj.lookups]
    remote: dict[str, dict] = {}
    ids = loaded_rows[EXT].to_list() if loaded_rows.height else []
    if spec_obj.kind == "file":  # a document store is read through the ledger's ids, not by key
        from migration_assets.engine.file_verify import remote_files

        remote = await remote_files(loaded, obj, conn, dest, ids, timer, reuse=True)
        destination_count = len(remote)
    else:
        key = spec_obj.external_id.column
        remote = await readback.read_or_reuse(conn, dest, obj, spec_obj.table, key, ids, columns, timer)
        destination_count = await dest.count(spec_obj.table, spec_obj.external_id.column)
        destination_count -= routing.shared_table_records(loaded, obj, conn)  # other objects' records of it
    if len(fate) != sum(tally.values()):
        result.problem("counts_reconcile", "source records are unaccounted for")
    result.counts = {
        "source": len(fate),
        "loaded": tally["loaded"],
        "quarantined": tally["quarantined"],
        "excluded": tally["excluded"],
        "present": len(remote),
        "destination_count": destination_count,
    }
    missing = len(ids) - len(remote)
    extra = destination_count - len(remote)
    if missing:
        result.problem("counts_reconcile", f"{missing} loaded record(s) missing from the destination")
    if extra and phases != ["sample"]:
        result.problem(
            "counts_reconcile",
            f"{extra} destination record(s) carry a {spec_obj.external_id.column} outside this scope",
        )
    if found := routing.route_of(loaded, obj):
        fates = {m: fate if m == obj else _latest_state(conn, loaded, m, phases)[1] for m in found[1].members}
        result.route = routing.route_summary(loaded, obj, fates)
    _distributions(loaded, obj, loaded_rows, remote, result)
    skip = CreateOnly(dest.create_only_columns(spec_obj.table), ledger.preexisting(conn, obj))
    _population(columns, _as_sent(loaded, obj, conn, loaded_rows), remote, result, skip)
    _linkage(loaded, obj, conn, loaded_rows, remote, result)
    return result


def _distributions(loaded, obj, rows: pl.DataFrame, remote: dict, result: ObjectReconciliation) -> None:
    for column in value_mapped_columns(loaded, obj):
        expected = Counter(str(normalize(v)) for v in rows[column].to_list()) if rows.height else Counter()
        actual = Counter(str(normalize(r.get(column))) for r in remote.values())
        values = sorted(set(expected) | set(actual))
        result.distributions[column] = {v: {"staged": expected[v], "destination": actual[v]} for v in values}
        for v in values:
            if expected[v] != actual[v]:
                result.problem(
                    "distributions_match", f"{column}={v}: {expected[v]} staged, {actual[v]} in the destination"
                )


def _as_sent(loaded: LoadedSpec, obj: str, conn, rows: pl.DataFrame) -> pl.DataFrame:
    """Lookup columns as the loader sent them: the target's destination id, or null when the target
    was never loaded and the lookup's `on_missing` is null (so such a row is not a population gap)."""
    walks = lookup_targets.crosswalks(conn, loaded, obj)
    for column, lookup in loaded.spec.objects[obj].lookups.items():
        if rows.height and column in rows.columns:
            sent = [
                lookup_targets.resolve(loaded, lookup, column, r, walks).destination_id
                for r in rows.iter_rows(named=True)
            ]
            rows = rows.with_columns(pl.Series(column, sent, dtype=pl.String))
    return rows


def _population(
    columns: list[str], rows: pl.DataFrame, remote: dict, result: ObjectReconciliation, skip: CreateOnly
) -> None:
    n = max(rows.height, 1)
    for column in columns:
        kept = {e for e in skip.preexisting if e in remote} if column in skip.columns else set()
        values = rows.filter(~pl.col(EXT).is_in(list(kept))) if kept and rows.height else rows
        staged = sum(1 for v in values[column].to_list() if normalize(v) is not None) if values.height else 0
        staged += sum(1 for e in kept if normalize(remote[e].get(column)) is not None)
        present = sum(1 for r in remote.values() if normalize(r.get(column)) is not None)
        result.population[column] = {
            "staged": round(staged / n, 4),
            "destination": round(present / max(len(remote), 1), 4),
        }
        if rows.height and len(remote) == rows.height and staged != present:
            result.problem(
                "population_matches", f"{column}: filled in {staged} staged rows, {present} destination records"
            )


def _linkage(loaded, obj, conn, rows: pl.DataFrame, remote: dict, result: ObjectReconciliation) -> None:
    spec_obj = loaded.spec.objects[obj]
    walks = lookup_targets.crosswalks(conn, loaded, obj)
    for column, lookup in spec_obj.lookups.items():
        expected = {
            r[EXT]: lookup_targets.resolve(loaded, lookup, column, r, walks).destination_id
            for r in rows.iter_rows(named=True)
        }
        orphans = []
        resolved = 0
        for ext, want in expected.items():
            got = (remote.get(ext) or {}).get(column)
            if want is None and got is None:
                continue
            if got == want:
                resolved += 1
            else:
                orphans.append({"external_id": ext, "expected": want, "destination": got})
        result.linkage[column] = {
            "target": lookup.object,
            "resolved": resolved,
            "orphans": orphans[:50],
            "orphan_count": len(orphans),
        }
        if orphans:
            result.problem(
                "lookups_resolved", f"{column}: {len(orphans)} record(s) not linked to their {lookup.object}"
            )
