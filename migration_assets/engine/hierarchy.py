"""Placeholder targets for lookups, and loops broken in hierarchies (a lookup of an object to itself).

Both run in the stage step of the lookup's target object, after `transform.stage_frame`:

- Placeholders (`lookups.<column>.placeholder`, on any object's lookup to this object): every
  external id such a lookup names (over the referring object's rows of the phase that its
  exclusions keep) that is neither a source record of this object in the phase nor a real record
  staged in another phase gets a placeholder record, staged by this object's own mapping from a
  synthetic source row (`Placeholder.fields`, `{id}` = the missing id). Its external id and source
  id are the missing id, so the lookup resolves, and a real record arriving later (an archived
  company restored) overwrites it by the same key. A self lookup must be `deferred`, so the
  placeholder exists before any record points at it.
- Loops (`break_loops: true`): the parent chains of the object's records (this phase's rows over
  the latest staging of other phases) are followed; every cycle (A→A, A→B→A, ...) is broken by
  leaving the lookup empty on one record of this phase in the cycle (the lowest source id), whose
  content hash is recomputed.

Every placeholder and every broken loop is one row of the object's report (`REPORT_SCHEMA`), kept in
the StageResult, written to the staging table `hierarchy_report` by `record` and counted in the stage
counts (`placeholders`, `loops_broken`). A placeholder counts as a record of the object (`source` =
loaded + quarantined + excluded still holds). In the sample phase the report covers the whole
extract; only the sampled records (placeholders their lookups need included) are loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import duckdb
import polars as pl

from migration_assets.engine import planning
from migration_assets.engine.transform import (
    EXT,
    HASH,
    SRC,
    StageInputs,
    StageResult,
    explode_rows,
    join_rows,
    stage_frame,
)
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import LookupMap
from migration_assets.staging import db
from migration_assets.staging.tables import extract_table, stage_table

REPORT_SCHEMA = {
    "external_id": pl.String,
    "source_id": pl.String,
    "column": pl.String,
    "action": pl.String,  # placeholder | loop_broken
    "detail": pl.String,
}
REPORT_DDL = """create table if not exists hierarchy_report (_phase varchar, object varchar, external_id varchar,
    source_id varchar, "column" varchar, action varchar, detail varchar)"""


def referring_lookups(loaded: LoadedSpec, obj_name: str) -> list[tuple[str, str, LookupMap]]:
    """(referring object, column, lookup) of every lookup that makes placeholders of `obj_name`."""
    return [
        (name, column, lookup)
        for name, obj in loaded.spec.objects.items()
        for column, lookup in obj.lookups.items()
        if lookup.object == obj_name and lookup.placeholder is not None
    ]


def extra_sources(loaded: LoadedSpec, obj_name: str) -> list[str]:
    """Source objects the stage step of `obj_name` reads beyond its own (for its asset deps)."""
    names = {r for r, _c, _lk in referring_lookups(loaded, obj_name)}
    objects = [loaded.spec.objects[n] for n in names]
    return sorted({o.source for o in objects} | {j.source for o in objects for j in o.join.values()})


def apply(
    conn: duckdb.DuckDBPyConnection,
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    result: StageResult,
    raw: pl.DataFrame,
    inputs: StageInputs,
) -> StageResult:
    """`result` with the object's placeholders added and its hierarchy loops broken (module docstring).

    Args:
        conn: the pair's staging connection (other phases' staging, the phase's extracts).
        loaded: the spec (with the phase's variant).
        obj_name: the object staged.
        phase: the phase.
        result: what `stage_frame` made of the phase's raw rows.
        raw: those raw rows.
        inputs: the stage inputs `stage_frame` had.

    Returns:
        The StageResult to write, `hierarchy` holding the report rows.
    """
    lookups = loaded.spec.objects[obj_name].lookups
    if not referring_lookups(loaded, obj_name) and not any(lk.break_loops for lk in lookups.values()):
        return result
    others = _other_phases(conn, obj_name, phase)
    result, report = _add_placeholders(conn, loaded, obj_name, phase, result, raw, inputs, others)
    for column, lookup in lookups.items():
        if lookup.break_loops:
            result, broken = _break_loops(column, result, others)
            report = pl.concat([report, broken])
    return replace(result, hierarchy=report)


def counts(result: StageResult) -> dict[str, int]:
    """Placeholders made and loops broken, for the stage counts."""
    report = result.hierarchy
    if report.height == 0:
        return {"placeholders": 0, "loops_broken": 0}
    return {
        "placeholders": report.filter(pl.col("action") == "placeholder").height,
        "loops_broken": report.filter(pl.col("action") == "loop_broken").height,
    }


def record(conn: duckdb.DuckDBPyConnection, phase: str, obj_name: str, result: StageResult) -> None:
    """Replace the object's report rows of the phase in `hierarchy_report`."""
    conn.execute(REPORT_DDL)
    conn.execute("delete from hierarchy_report where _phase = ? and object = ?", [phase, obj_name])
    report = result.hierarchy
    if report.height:
        frame = report.select(pl.lit(phase).alias("_phase"), pl.lit(obj_name).alias("object"), *REPORT_SCHEMA)
        conn.register("hierarchy_rows", frame)
        conn.execute("insert into hierarchy_report by name select * from hierarchy_rows")
        conn.unregister("hierarchy_rows")


# -- other phases ----------------------------------------------------------------------------------
def _phase_order(phase: str) -> tuple[int, str]:
    return ({"sample": 0, "full": 1}.get(phase, 2), phase)


def _other_phases(conn: duckdb.DuckDBPyConnection, obj_name: str, phase: str) -> pl.DataFrame:
    """The latest staged row of every real (not placeholder) record of the object in other phases."""
    table = stage_table(obj_name)
    if not db.table_exists(conn, table):
        return pl.DataFrame()
    phases = sorted(
        (p for (p,) in conn.execute(f"select distinct _phase from {db.ident(table)}").fetchall()), key=_phase_order
    )
    frames = [db.read_slice(conn, table, p).with_columns(pl.lit(p).alias("_from")) for p in phases if p != phase]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame()
    staged = pl.concat(frames, how="diagonal_relaxed")
    conn.execute(REPORT_DDL)
    made = conn.execute(
        "select _phase, external_id from hierarchy_report where object = ? and action = 'placeholder'", [obj_name]
    ).fetchall()
    placeholders = pl.DataFrame(made, schema={"_from": pl.String, EXT: pl.String}, orient="row")
    real = staged.join(placeholders, on=["_from", EXT], how="anti")
    return real.unique(EXT, keep="last", maintain_order=True)


# -- placeholders ------------------------------------------------------------------------------------
def _present(result: StageResult) -> set[str]:
    frames = (result.staged, result.quarantined, result.excluded)
    return {e for f in frames if f.height and EXT in f.columns for e in f[EXT].to_list() if e is not None}


def _named(
    conn, loaded: LoadedSpec, referrer: str, column: str, phase: str, raw: pl.DataFrame, own: bool
) -> pl.DataFrame:
    """(value, source id) of the rows of `referrer` in the phase that its exclusions keep."""
    obj = loaded.spec.objects[referrer]
    rows = raw if own else db.read_slice(conn, extract_table(obj.source), phase)
    if rows.height == 0:
        return pl.DataFrame(schema={"value": pl.String, "source_id": pl.String})
    rows = join_rows(
        loaded, referrer, explode_rows(loaded, referrer, rows), planning.joined_sources(conn, loaded, referrer)
    )
    value = loaded.compile(referrer, f"lookups.{column}.value", obj.lookups[column].value).expr.cast(pl.String)
    id_field = loaded.source_catalog[obj.source].id_field
    rules = [
        loaded.compile(referrer, f"exclude[{i}].when", r.when).expr.fill_null(False) for i, r in enumerate(obj.exclude)
    ]
    kept = rows.filter(~pl.any_horizontal(rules)) if rules else rows
    return kept.select(value.alias("value"), pl.col(id_field).cast(pl.String).alias("source_id")).filter(
        pl.col("value").is_not_null() & (pl.col("value").str.strip_chars() != "")
    )


def _synthetic_rows(
    loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame, wanted: dict[str, dict[str, str]]
) -> pl.DataFrame:
    obj = loaded.spec.objects[obj_name]
    catalog = loaded.source_catalog[obj.source]
    columns = list(dict.fromkeys([*(f.name for f in catalog.fields), *raw.columns]))
    rows = []
    for ext, fields in wanted.items():
        row: dict[str, Any] = dict.fromkeys(columns)
        row[catalog.id_field] = ext
        row[str(obj.external_id.value)] = ext
        row |= fields
        rows.append(row)
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def _add_placeholders(
    conn, loaded: LoadedSpec, obj_name: str, phase: str, result: StageResult, raw: pl.DataFrame, inputs, others
) -> tuple[StageResult, pl.DataFrame]:
    known = _present(result) | (set(others[EXT].to_list()) if others.height else set())
    wanted: dict[str, dict[str, str]] = {}
    report = []
    for referrer, column, lookup in referring_lookups(loaded, obj_name):
        named = _named(conn, loaded, referrer, column, phase, raw, referrer == obj_name)
        missing = named.filter(~pl.col("value").is_in(list(known | set(wanted))))
        for (value,), group in missing.group_by("value", maintain_order=True):
            assert lookup.placeholder is not None
            wanted[str(value)] = lookup.placeholder.for_id(str(value))
            first = group["source_id"].sort()[0]
            detail = f"named by {referrer}.{column} of {group.height} record(s), e.g. source record {first}"
            report.append({"external_id": str(value), "source_id": str(value), "column": column,
                           "action": "placeholder", "detail": detail})  # fmt: skip
    if not wanted:
        return result, pl.DataFrame(schema=REPORT_SCHEMA)
    made = stage_frame(loaded, obj_name, _synthetic_rows(loaded, obj_name, raw, wanted), inputs)
    staged = pl.concat([result.staged, made.staged], how="vertical_relaxed") if result.staged.height else made.staged
    quarantined = pl.concat([result.quarantined, made.quarantined], how="diagonal_relaxed")
    merged = replace(result, staged=staged, quarantined=quarantined, source=result.source + len(wanted))
    return merged, pl.DataFrame(report, schema=REPORT_SCHEMA)


# -- loops ---------------------------------------------------------------------------------------------
def _order(source_id: str) -> tuple[int, str]:
    return (len(source_id), source_id)


def _break_loops(column: str, result: StageResult, others: pl.DataFrame) -> tuple[StageResult, pl.DataFrame]:
    staged = result.staged
    if staged.height == 0 or column not in staged.columns:
        return result, pl.DataFrame(schema=REPORT_SCHEMA)
    parent: dict[str, str] = {}
    if others.height and column in others.columns:
        parent |= {e: p for e, p in others.select(EXT, column).iter_rows() if p is not None}
    current = {e: s for e, s in staged.select(EXT, SRC).iter_rows()}
    for ext, value in staged.select(EXT, column).iter_rows():
        parent.pop(ext, None)
        if value is not None:
            parent[ext] = str(value)
    broken: dict[str, str] = {}
    for start in sorted(current, key=lambda e: _order(current[e])):
        cycle = _cycle_from(start, parent)
        if cycle is None:
            continue
        members = [e for e in cycle if e in current]
        cut = min(members, key=lambda e: _order(current[e]))
        path = " → ".join([*cycle, cycle[0]])
        broken[cut] = f"{column} loop {path}: left empty on {cut}"
        parent.pop(cut, None)
    if not broken:
        return result, pl.DataFrame(schema=REPORT_SCHEMA)
    cut = pl.col(EXT).is_in(list(broken))
    staged = staged.with_columns(pl.when(cut).then(None).otherwise(pl.col(column)).alias(column))
    staged = staged.with_columns(pl.when(cut).then(_hashes(staged)).otherwise(pl.col(HASH)).alias(HASH))
    report = [
        {"external_id": e, "source_id": current[e], "column": column, "action": "loop_broken", "detail": d}
        for e, d in sorted(broken.items(), key=lambda kv: _order(current[kv[0]]))
    ]
    return replace(result, staged=staged), pl.DataFrame(report, schema=REPORT_SCHEMA)


def _cycle_from(start: str, parent: dict[str, str]) -> list[str] | None:
    """The cycle `start` is part of, in parent order from `start`, or None."""
    seen, node = [start], parent.get(start)
    while node is not None and node not in seen:
        seen.append(node)
        node = parent.get(node)
    if node != start:
        return None  # no cycle, or `start` only leads into one (it is broken from its own members)
    return seen


def _hashes(staged: pl.DataFrame) -> pl.Series:
    """Content hashes of the rows (the same digest as staging's), recomputed after a change."""
    columns = [c for c in staged.columns if c not in (EXT, SRC, HASH)]

    def digest(row: dict) -> str:
        return hashlib.sha1(json.dumps(row, default=str, sort_keys=True).encode()).hexdigest()[:16]

    return pl.Series(HASH, [digest(r) for r in staged.select(columns).iter_rows(named=True)], dtype=pl.String)
