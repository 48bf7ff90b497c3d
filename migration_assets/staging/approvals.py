"""Approvals: who approved which sample run of a pair, under which spec hash.

The full and delta loads of a pair refuse to run without an approval bound to the spec's current
content hash, so editing the spec after approval invalidates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from migration_assets.errors import ApprovalRequired

DDL = """
create table if not exists approvals (pair varchar, spec_hash varchar, approver varchar, sample_run_id varchar,
    sample_mismatches bigint, note varchar, approved_at timestamptz);
"""


@dataclass(frozen=True)
class Approval:
    pair: str
    spec_hash: str
    approver: str
    sample_run_id: str
    sample_mismatches: int
    note: str
    approved_at: datetime


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)


def latest_sample_diff(conn: duckdb.DuckDBPyConnection, spec_hash: str) -> tuple[str, int] | None:
    """(run id, mismatches) of the latest sample diff computed under `spec_hash`."""
    rows = (
        conn.execute(
            "select run_id, sum(mismatches) from diff_results where phase = 'sample' and spec_hash = ? "
            "group by run_id, checked_at order by checked_at desc limit 1",
            [spec_hash],
        ).fetchall()
        if _has(conn, "diff_results")
        else []
    )
    return (rows[0][0], int(rows[0][1])) if rows else None


def _has(conn, table: str) -> bool:
    return bool(
        conn.execute("select 1 from information_schema.tables where table_name = ?", [table]).fetchall()
    )


def approve(
    conn: duckdb.DuckDBPyConnection, pair: str, spec_hash: str, approver: str, note: str = ""
) -> Approval:
    """Record an approval of the latest sample run under the current spec.

    Raises:
        ApprovalRequired: no sample diff exists for this spec hash (run the sample first).
    """
    if not approver.strip():
        raise ApprovalRequired("an approval needs the approver's name or email")
    sample = latest_sample_diff(conn, spec_hash)
    if sample is None:
        raise ApprovalRequired(
            f"{pair}: no sample run has been verified under spec {spec_hash}; run the sample phase first "
            f"(migrate run {pair} --phase sample) and review its diff"
        )
    ensure(conn)
    approval = Approval(pair, spec_hash, approver.strip(), sample[0], sample[1], note, datetime.now(UTC))
    conn.execute(
        "insert into approvals values (?, ?, ?, ?, ?, ?, ?)",
        [
            approval.pair,
            approval.spec_hash,
            approval.approver,
            approval.sample_run_id,
            approval.sample_mismatches,
            approval.note,
            approval.approved_at,
        ],
    )
    return approval


def current(conn: duckdb.DuckDBPyConnection, pair: str, spec_hash: str) -> Approval | None:
    if not _has(conn, "approvals"):
        return None
    rows = conn.execute(
        "select * from approvals where pair = ? and spec_hash = ? order by approved_at desc limit 1",
        [pair, spec_hash],
    ).fetchall()
    return Approval(*rows[0]) if rows else None


def require(conn: duckdb.DuckDBPyConnection, pair: str, spec_hash: str, phase: str) -> Approval | None:
    """Raise ApprovalRequired unless `phase` is the sample or an approval exists for `spec_hash`."""
    if phase == "sample":
        return None
    approval = current(conn, pair, spec_hash)
    if approval is None:
        raise ApprovalRequired(
            f"the {phase} load of {pair} needs an approval of the sample under spec {spec_hash} "
            f"(the spec changed since, or nobody approved yet): review `migrate report {pair} --phase sample`, "
            f"then run `migrate approve {pair} --by <you>` or materialize {pair}/cutover/approval in the UI"
        )
    return approval
