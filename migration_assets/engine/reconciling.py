"""Reconciliation of a migration: what the source had against what the destination holds now.

Scope: the `sample` phase alone, or, for full and delta phases, the cutover so far (the full phase
and every delta phase, each record counted once in its latest state). Per object it compares:
counts (source = loaded + quarantined + excluded, and loaded = present in the destination), the
distribution of every value-mapped column value by value, the population rate of every mapped
column, and linkage (every lookup resolves to the record it should; orphans are listed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector
from migration_assets.engine import lookup_targets, readback, routing
from migration_assets.engine.comparison import CreateOnly, filled, normalize
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


FATE = "_fate"
HELD_AT_STAGE = "select external_id from quarantine where _phase = $1 and object = $2 and step = 'stage'"
EXCLUDED = "select external_id from excluded where _phase = $1 and object = $2"


def _latest_state(conn, obj: str, phases: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Staged rows of the scope (latest phase wins per external id) and each id's fate (a frame of
    EXT and FATE: loaded, quarantined or excluded); columnar, so a large object costs no Python
    structure per record."""
    fate = pl.DataFrame(schema={EXT: pl.String, FATE: pl.String})
    frames = []
    for phase in phases:
        staged = db.read_slice(conn, stage_table(obj), phase)
        if staged.height:
            frames.append(staged)
            ok = pl.col(EXT).is_in(ledger.written_ok(conn, obj, phase).implode()).fill_null(False)
            verdict = pl.when(ok).then(pl.lit("loaded")).otherwise(pl.lit("quarantined"))
            fate = _settle(fate, staged.select(pl.col(EXT).cast(pl.String), verdict.alias(FATE)))
        held = _ids(conn, HELD_AT_STAGE, phase, obj)
        loaded = fate.filter(pl.col(FATE) == "loaded")[EXT].implode()
        held = held.filter(~pl.col(EXT).is_in(loaded).fill_null(False))  # a second copy of a loaded record
        fate = _settle(fate, held.with_columns(pl.lit("quarantined").alias(FATE)))
        skipped = _ids(conn, EXCLUDED, phase, obj)
        fate = _settle(fate, skipped.with_columns(pl.lit("excluded").alias(FATE)))
    return _latest_rows(frames), fate


def _latest_rows(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The staged rows of the scope's phases, the latest phase's copy of an id kept. A full phase
    alone (each id staged once) is returned as it is: a copy of it was the reconciliation's largest
    allocation at 1M records."""
    if not frames:
        return pl.DataFrame()
    if len(frames) == 1 and frames[0][EXT].n_unique() == frames[0].height:
        return frames[0]
    return pl.concat(frames, how="diagonal_relaxed").unique(EXT, keep="last")


def _loaded_only(rows: pl.DataFrame, fate: pl.DataFrame) -> pl.DataFrame:
    """`rows` whose id's fate is loaded: `rows` itself, not a copy, when every one of them is."""
    if not rows.height:
        return rows
    loaded = rows[EXT].cast(pl.String).is_in(fate.filter(pl.col(FATE) == "loaded")[EXT].implode())
    return rows if loaded.all() else rows.filter(loaded)


def _ids(conn, sql: str, *params: str) -> pl.DataFrame:
    return conn.sql(sql, params=list(params)).pl().select(pl.col("external_id").cast(pl.String).alias(EXT))


def _settle(fate: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """`fate` with the ids of `new` given their fate in `new` (a later verdict replaces an earlier one)."""
    new = new.unique(EXT, keep="last")
    return pl.concat([fate.join(new, on=EXT, how="anti", nulls_equal=True), new])


def tally(fate: pl.DataFrame) -> Counter[str]:
    """Records per fate."""
    return Counter(dict(fate.group_by(FATE).len().iter_rows()))


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
    taken from the diff's read where it is still current (engine/readback.py), the rest read, one
    group at a time (what was read is tallied and dropped, so memory does not grow with the object)."""
    spec_obj = loaded.spec.objects[obj]
    result = ObjectReconciliation(obj)
    rows, fate = _latest_state(conn, obj, phases)
    fates = tally(fate)
    loaded_rows = _loaded_only(rows, fate)
    del rows  # (the staged rows not loaded are counted in `fate`)
    columns = [*spec_obj.fields, *spec_obj.lookups]
    skip = CreateOnly(dest.create_only_columns(spec_obj.table), ledger.preexisting(conn, obj))
    seen = _Tally(loaded, obj, columns, skip, lookup_targets.crosswalks(conn, loaded, obj))
    async for chunk, remote in _read_groups(loaded, obj, conn, dest, loaded_rows, columns, timer):
        seen.add(chunk, remote)
    if spec_obj.kind == "file":
        destination_count = seen.present
    else:
        destination_count = await dest.count(spec_obj.table, spec_obj.external_id.column)
        destination_count -= routing.shared_table_records(loaded, obj, conn)  # other objects' records of it
    if fate.height != sum(fates.values()):
        result.problem("counts_reconcile", "source records are unaccounted for")
    result.counts = {
        "source": fate.height,
        "loaded": fates["loaded"],
        "quarantined": fates["quarantined"],
        "excluded": fates["excluded"],
        "present": seen.present,
        "destination_count": destination_count,
    }
    missing = loaded_rows.height - seen.present
    extra = destination_count - seen.present
    if missing:
        result.problem("counts_reconcile", f"{missing} loaded record(s) missing from the destination")
    if extra and phases != ["sample"]:
        result.problem(
            "counts_reconcile",
            f"{extra} destination record(s) carry a {spec_obj.external_id.column} outside this scope",
        )
    if found := routing.route_of(loaded, obj):
        members = {m: fates if m == obj else tally(_latest_state(conn, m, phases)[1]) for m in found[1].members}
        result.route = routing.route_summary(loaded, obj, members)
    seen.finish(result, loaded_rows.height)
    return result


async def _read_groups(
    loaded: LoadedSpec, obj: str, conn, dest: DestinationConnector, rows: pl.DataFrame, columns, timer
) -> AsyncIterator[tuple[pl.DataFrame, dict[str, dict]]]:
    """The loaded rows in groups of READ_GROUP, each with what the destination holds of them."""
    spec_obj = loaded.spec.objects[obj]
    if spec_obj.kind == "file":  # a document store is read through the ledger's ids, not by key, at once
        from migration_assets.engine.file_verify import remote_files

        ids = rows[EXT].to_list() if rows.height else []
        stored = await remote_files(loaded, obj, conn, dest, ids, timer, reuse=True)
        for chunk in rows.iter_slices(readback.READ_GROUP):
            yield chunk, {e: stored[e] for e in chunk[EXT].to_list() if e in stored}
        return
    key = spec_obj.external_id.column
    for chunk in rows.iter_slices(readback.READ_GROUP):
        ids = chunk[EXT].to_list()
        yield chunk, await readback.read_or_reuse(conn, dest, obj, spec_obj.table, key, ids, columns, timer)


class _Tally:
    """What the groups of loaded records add up to: records present, value distributions on both
    sides, filled columns on both sides, and lookups resolved or orphaned."""

    def __init__(self, loaded: LoadedSpec, obj: str, columns: list[str], skip: CreateOnly, walks) -> None:
        self.loaded, self.obj, self.columns, self.skip, self.walks = loaded, obj, columns, skip, walks
        self.present = 0
        self.mapped = value_mapped_columns(loaded, obj)
        self.expected: dict[str, Counter[str]] = {c: Counter() for c in self.mapped}
        self.actual: dict[str, Counter[str]] = {c: Counter() for c in self.mapped}
        self.staged_filled: Counter[str] = Counter()
        self.dest_filled: Counter[str] = Counter()
        self.lookups = loaded.spec.objects[obj].lookups
        self.resolved: Counter[str] = Counter()
        self.orphans: dict[str, list[dict[str, Any]]] = {c: [] for c in self.lookups}
        self.orphan_count: Counter[str] = Counter()

    def add(self, rows: pl.DataFrame, remote: dict[str, dict]) -> None:
        self.present += len(remote)
        for column in self.mapped:
            self.expected[column].update(str(normalize(v)) for v in rows[column].to_list())
            self.actual[column].update(str(normalize(r.get(column))) for r in remote.values())
        sent = {
            column: [
                lookup_targets.resolve(self.loaded, lookup, column, r, self.walks).destination_id
                for r in rows.iter_rows(named=True)
            ]
            for column, lookup in self.lookups.items()
        }
        self._population(_as_sent(rows, sent), remote)
        self._linkage(rows[EXT].to_list(), sent, remote)

    def _population(self, rows: pl.DataFrame, remote: dict[str, dict]) -> None:
        for column in self.columns:
            kept = {e for e in self.skip.preexisting if e in remote} if column in self.skip.columns else set()
            values = rows.filter(~pl.col(EXT).is_in(list(kept))) if kept else rows
            self.staged_filled[column] += sum(1 for v in values[column].to_list() if filled(v))
            self.staged_filled[column] += sum(1 for e in kept if filled(remote[e].get(column)))
            self.dest_filled[column] += sum(1 for r in remote.values() if filled(r.get(column)))

    def _linkage(self, ids: list[str], sent: dict[str, list], remote: dict[str, dict]) -> None:
        for column in self.lookups:
            for ext, want in zip(ids, sent[column], strict=True):
                got = (remote.get(ext) or {}).get(column)
                if want is None and got is None:
                    continue
                if got == want:
                    self.resolved[column] += 1
                    continue
                self.orphan_count[column] += 1
                if len(self.orphans[column]) < 50:
                    self.orphans[column].append({"external_id": ext, "expected": want, "destination": got})

    def finish(self, result: ObjectReconciliation, staged: int) -> None:
        """The distributions, population and linkage of `result`, with their problems."""
        for column in self.mapped:
            expected, actual = self.expected[column], self.actual[column]
            values = sorted(set(expected) | set(actual))
            result.distributions[column] = {v: {"staged": expected[v], "destination": actual[v]} for v in values}
            for v in values:
                if expected[v] != actual[v]:
                    result.problem(
                        "distributions_match", f"{column}={v}: {expected[v]} staged, {actual[v]} in the destination"
                    )
        for column in self.columns:
            filled, present = self.staged_filled[column], self.dest_filled[column]
            result.population[column] = {
                "staged": round(filled / max(staged, 1), 4),
                "destination": round(present / max(self.present, 1), 4),
            }
            if staged and self.present == staged and filled != present:
                result.problem(
                    "population_matches", f"{column}: filled in {filled} staged rows, {present} destination records"
                )
        for column, lookup in self.lookups.items():
            count = self.orphan_count[column]
            result.linkage[column] = {
                "target": lookup.object,
                "resolved": self.resolved[column],
                "orphans": self.orphans[column],
                "orphan_count": count,
            }
            if count:
                result.problem("lookups_resolved", f"{column}: {count} record(s) not linked to their {lookup.object}")


def _as_sent(rows: pl.DataFrame, sent: dict[str, list]) -> pl.DataFrame:
    """Lookup columns as the loader sent them: the target's destination id, or null when the target
    was never loaded and the lookup's `on_missing` is null (so such a row is not a population gap)."""
    present = [pl.Series(c, values, dtype=pl.String) for c, values in sent.items() if c in rows.columns]
    return rows.with_columns(present) if present else rows
