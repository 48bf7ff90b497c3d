"""Predictions kept in the pair's staging DuckDB (`plan_estimates`), so the run report can put a
finished run beside the prediction made before it started."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from migration_assets.staging.db import table_exists

DDL = """create table if not exists plan_estimates (phase varchar, predicted_seconds double, requests bigint,
records bigint, spec_hash varchar, made_at timestamptz, detail varchar)"""


def record(conn: duckdb.DuckDBPyConnection, spec_hash: str, estimates: dict[str, dict[str, Any]]) -> None:
    """Store one row per phase of an estimate (estimating.to_json output)."""
    conn.execute(DDL)
    now = datetime.now(UTC)
    for phase, e in estimates.items():
        conn.execute(
            "insert into plan_estimates values (?, ?, ?, ?, ?, ?, ?)",
            [phase, e["seconds"], e["requests"], sum(e["records"].values()), spec_hash, now, json.dumps(e)],
        )


def latest(conn: duckdb.DuckDBPyConnection, phase: str, before: datetime | None = None) -> dict[str, Any] | None:
    """The latest prediction for `phase` ('delta-…' reads the delta prediction) made before `before`."""
    if not table_exists(conn, "plan_estimates"):
        return None
    kind = "delta" if phase.startswith("delta-") else phase
    query = "select predicted_seconds, requests, records, spec_hash, made_at from plan_estimates where phase = ?"
    params: list[Any] = [kind]
    if before is not None:
        query += " and made_at < ?"
        params.append(before)
    row = conn.execute(query + " order by made_at desc limit 1", params).fetchone()
    if row is None:
        return None
    return dict(zip(("predicted_seconds", "requests", "records", "spec_hash", "made_at"), row, strict=True))
