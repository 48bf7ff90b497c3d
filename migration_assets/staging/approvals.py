"""Approvals: who approved which sample run of a pair, under which spec hash.

The full and delta loads of a pair refuse to run without an approval bound to the spec's current
content hash, so editing the spec after approval invalidates it. A sample is approved only when its
read-back diff found no mismatch and every reconciliation check passed, unless the approver
overrides with a reason, which is recorded beside the approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from migration_assets.errors import ApprovalRequired
from migration_assets.staging.db import table_exists

DDL = """
create table if not exists approvals (pair varchar, spec_hash varchar, approver varchar, sample_run_id varchar,
    sample_mismatches bigint, note varchar, approved_at timestamptz);
alter table approvals add column if not exists override_reason varchar;
create table if not exists verification_checks (phase varchar, run_id varchar, spec_hash varchar, "check" varchar,
    differences bigint, details varchar, checked_at timestamptz);
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
    override_reason: str | None = None


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
        if table_exists(conn, "diff_results")
        else []
    )
    return (rows[0][0], int(rows[0][1])) if rows else None


def record_checks(
    conn: duckdb.DuckDBPyConnection, phase: str, run_id: str, spec_hash: str, problems: dict[str, list[str]]
) -> None:
    """Keep the reconciliation checks of a phase's run (what an approval must see passed)."""
    ensure(conn)
    conn.execute("delete from verification_checks where phase = ?", [phase])
    now = datetime.now(UTC)
    for check, found in problems.items():
        conn.execute(
            "insert into verification_checks values (?, ?, ?, ?, ?, ?, ?)",
            [phase, run_id, spec_hash, check, len(found), "\n".join(found[:20]), now],
        )


def failed_sample_checks(conn: duckdb.DuckDBPyConnection, spec_hash: str) -> list[str]:
    """The sample's reconciliation checks that failed under `spec_hash` ("check: n differences")."""
    ensure(conn)
    rows = conn.execute(
        'select "check", differences from verification_checks where phase = \'sample\' and spec_hash = ? '
        "and differences > 0 order by 1",
        [spec_hash],
    ).fetchall()
    return [f"{check}: {n} difference(s)" for check, n in rows]


def approve(
    conn: duckdb.DuckDBPyConnection,
    pair: str,
    spec_hash: str,
    approver: str,
    note: str = "",
    *,
    override_reason: str | None = None,
) -> Approval:
    """Record an approval of the latest sample run under the current spec.

    Raises:
        ApprovalRequired: no verified sample for this spec hash, or its diff or reconciliation found
            problems and no `override_reason` was given.
    """
    if not approver.strip():
        raise ApprovalRequired("an approval needs the approver's name or email")
    sample = latest_sample_diff(conn, spec_hash)
    if sample is None:
        raise ApprovalRequired(
            f"{pair}: no sample run has been verified under spec {spec_hash}; run the sample phase first "
            f"(migrate run {pair} --phase sample) and review its diff"
        )
    problems = ([f"diff: {sample[1]} mismatch(es)"] if sample[1] else []) + failed_sample_checks(conn, spec_hash)
    if problems and not (override_reason or "").strip():
        raise ApprovalRequired(
            f"{pair}: the sample under spec {spec_hash} did not verify ({'; '.join(problems)}). Review "
            f"`migrate report {pair} --phase sample`, fix the spec and run the sample again, or approve anyway "
            "with --override \"<why this is acceptable>\" (recorded with the approval)"
        )
    ensure(conn)
    reason = override_reason.strip() if problems and override_reason else None
    approval = Approval(pair, spec_hash, approver.strip(), sample[0], sample[1], note, datetime.now(UTC), reason)
    conn.execute(
        "insert into approvals by name select ? as pair, ? as spec_hash, ? as approver, ? as sample_run_id, "
        "? as sample_mismatches, ? as note, ? as approved_at, ? as override_reason",
        [pair, spec_hash, approval.approver, sample[0], sample[1], note, approval.approved_at, reason],
    )
    return approval


def current(conn: duckdb.DuckDBPyConnection, pair: str, spec_hash: str) -> Approval | None:
    if not table_exists(conn, "approvals"):
        return None
    rows = conn.execute(
        "select pair, spec_hash, approver, sample_run_id, sample_mismatches, note, approved_at, override_reason "
        "from approvals where pair = ? and spec_hash = ? order by approved_at desc limit 1",
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
