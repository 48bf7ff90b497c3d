"""Pipeline state kept beside the staged data: stage runs, gate results, checkpoints.

- `stage_runs`: the latest staging of each (object, phase) with its counts;
- `gates`: the pandera gate result bound to the stage run it checked, so a load can refuse input
  whose gate did not pass, even in a later run (Dagster's blocking checks only block within one run);
- `plan_values`: decisions of the plan step per phase (the spec variant the destination calls for);
- `custom_fields` / `owner_map`: what plan/custom_fields discovered and plan/owners resolved;
- `checkpoints`: the high-water mark of source `updated_at` per source object, stored when a full
  or delta phase extracts; the next delta window starts there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import polars as pl

from migration_assets.spec.expressions import parse_datetime

DDL = """
create table if not exists stage_runs (object varchar, phase varchar, run_id varchar, counts varchar,
                                       staged_at timestamptz);
create table if not exists gates (object varchar, phase varchar, stage_run_id varchar, passed boolean,
                                  checked_at timestamptz);
create table if not exists source_deletions (phase varchar, source_object varchar, id varchar,
                                             deleted_at varchar);
create table if not exists plan_values (phase varchar, name varchar, value varchar, recorded_at timestamptz);
create table if not exists custom_fields (object varchar, key varchar, "column" varchar, type varchar,
                                          options varchar, option_values varchar, filled bigint,
                                          spellings varchar, label varchar, kind varchar, formula varchar);
alter table custom_fields add column if not exists label varchar;
alter table custom_fields add column if not exists kind varchar;
alter table custom_fields add column if not exists formula varchar;
create table if not exists owner_map (phase varchar, source_user_id varchar, email varchar, name varchar,
                                      status varchar, destination_user_id varchar, fallback_user_id varchar);
create table if not exists checkpoints (source_object varchar, phase varchar, high_water varchar,
                                        records bigint, recorded_at timestamptz);
"""


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def _now() -> datetime:
    return datetime.now(UTC)


def set_plan_value(conn, phase: str, name: str, value: str | None) -> None:
    conn.execute("delete from plan_values where phase = ? and name = ?", [phase, name])
    conn.execute("insert into plan_values values (?, ?, ?, ?)", [phase, name, value, _now()])


def plan_value(conn, phase: str, name: str) -> str | None:
    """A plan decision recorded for `phase` (None: not recorded, or recorded as none)."""
    rows = conn.execute("select value from plan_values where phase = ? and name = ?", [phase, name]).fetchall()
    return rows[0][0] if rows else None


def record_stage(conn, obj: str, phase: str, run_id: str, counts: dict) -> None:
    conn.execute("delete from stage_runs where object = ? and phase = ?", [obj, phase])
    conn.execute(
        "insert into stage_runs values (?, ?, ?, ?, ?)", [obj, phase, run_id, json.dumps(counts), _now()]
    )


def stage_counts(conn, obj: str, phase: str) -> dict | None:
    rows = conn.execute(
        "select counts from stage_runs where object = ? and phase = ?", [obj, phase]
    ).fetchall()
    return json.loads(rows[0][0]) if rows else None


def record_gate(conn, obj: str, phase: str, passed: bool) -> None:
    rows = conn.execute(
        "select run_id from stage_runs where object = ? and phase = ?", [obj, phase]
    ).fetchall()
    stage_run = rows[0][0] if rows else None
    conn.execute("delete from gates where object = ? and phase = ?", [obj, phase])
    conn.execute("insert into gates values (?, ?, ?, ?, ?)", [obj, phase, stage_run, passed, _now()])


def gate_status(conn, obj: str, phase: str) -> tuple[bool, str]:
    """Whether the gate passed on the latest staging of (obj, phase), and why not."""
    stage = conn.execute(
        "select run_id from stage_runs where object = ? and phase = ?", [obj, phase]
    ).fetchall()
    if not stage:
        return False, f"{obj} has not been staged for phase {phase}"
    gate = conn.execute(
        "select stage_run_id, passed from gates where object = ? and phase = ?", [obj, phase]
    ).fetchall()
    if not gate or gate[0][0] != stage[0][0]:
        return False, f"the schema gate has not checked the latest staging of {obj} for phase {phase}"
    if not gate[0][1]:
        return False, f"the schema gate of {obj} failed for phase {phase}: see the check's failure cases"
    return True, "passed"


def record_extract(
    conn, phase: str, source_object: str, frame: pl.DataFrame, updated_field: str | None
) -> None:
    """Store the high-water mark of a full or delta extract."""
    if (
        not (phase == "full" or phase.startswith("delta-"))
        or not updated_field
        or updated_field not in frame.columns
    ):
        return
    stamps = [d for d in (parse_datetime(v) for v in frame[updated_field].to_list()) if d is not None]
    previous = checkpoint(conn, source_object)
    high = max(stamps).strftime("%Y-%m-%dT%H:%M:%SZ") if stamps else previous
    if previous and high and high < previous:
        high = previous
    conn.execute(
        "insert into checkpoints values (?, ?, ?, ?, ?)", [source_object, phase, high, frame.height, _now()]
    )


def checkpoint(conn, source_object: str) -> str | None:
    rows = conn.execute(
        "select high_water from checkpoints where source_object = ? and high_water is not null "
        "order by recorded_at desc limit 1",
        [source_object],
    ).fetchall()
    return rows[0][0] if rows else None


def delta_since(conn, source_object: str) -> str | None:
    """Where the next delta window of `source_object` starts (inclusive; re-read with overlap)."""
    return checkpoint(conn, source_object)


def record_deletions(conn, phase: str, source_object: str, deletions) -> None:
    """Source records deleted during a delta window: reported, never deleted in the destination."""
    conn.execute("delete from source_deletions where phase = ? and source_object = ?", [phase, source_object])
    for d in deletions:
        conn.execute(
            "insert into source_deletions values (?, ?, ?, ?)", [phase, source_object, d.id, d.deleted_at]
        )


def deletions(conn, phase: str | None = None) -> list[tuple]:
    sql = "select phase, source_object, id, deleted_at from source_deletions"
    rows = conn.execute(
        sql + (" where phase = ?" if phase else "") + " order by 1, 2, 3", [phase] if phase else []
    ).fetchall()
    return rows
