"""One bulk read of what was written, shared by the verification steps.

`verify/diff` reads every record it compares back from the destination and keeps what it read in
the staging table `readback` (object, external id, the record as JSON, when it was read);
`verify/reconciliation` then reads from the destination only the records whose stored copy is older
than their latest ledger write (or has not the columns it needs), and takes the rest from staging.
A record written again after the diff (a delta, a rollback) is therefore read again; a change made
in the destination by someone else between the two steps is not seen by the second one.
Reads go in groups of `READ_GROUP` ids per `read_back` call, each compared and dropped before the
next, so memory does not grow with the object. A group is small beside a large table, so the
connector reads it by key (Dataverse: `In` filters of 100 through the alternate-key index) and every
group costs the same at any table size; a larger group made Dataverse page through the whole table
for each group (O(N²) at 1M records).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector

READ_GROUP = 1000  # at most the Dataverse connector's BULK_READ_MIN: read by key
READBACK_DDL = """
create table if not exists readback (
    object varchar, external_id varchar, record varchar, read_at timestamptz
);
"""


class ReadTimer:
    """Seconds spent reading back from the destination (for the step's metadata and the bench)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.records = 0
        self.reused = 0


async def read_and_keep(
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    obj_name: str,
    table: str,
    key: str,
    external_ids: Sequence[str],
    columns: Sequence[str],
    timer: ReadTimer | None = None,
) -> dict[str, dict[str, Any]]:
    """Read `external_ids` back (in groups of READ_GROUP) and keep the copies in `readback`.

    Returns:
        `{external_id: record}` of those the destination holds.
    """
    return await read_with(conn, obj_name, external_ids, timer, lambda ids: dest.read_back(table, key, ids, columns))


async def read_or_reuse(
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    obj_name: str,
    table: str,
    key: str,
    external_ids: Sequence[str],
    columns: Sequence[str],
    timer: ReadTimer | None = None,
) -> dict[str, dict[str, Any]]:
    """Like `read_and_keep`, but records read after their latest ledger write with every column in
    `columns` are taken from `readback` instead of the destination."""
    kept = reusable(conn, obj_name, external_ids, columns)
    if timer is not None:
        timer.reused += len(kept)
    rest = [e for e in external_ids if e not in kept]
    read = await read_with(conn, obj_name, rest, timer, lambda ids: dest.read_back(table, key, ids, columns))
    return {**kept, **read}


async def read_with(
    conn: duckdb.DuckDBPyConnection,
    obj_name: str,
    external_ids: Sequence[str],
    timer: ReadTimer | None,
    read: Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]],
) -> dict[str, dict[str, Any]]:
    """Read `external_ids` with `read` (a group of ids -> the records found), in groups of
    READ_GROUP, timed, and keep what was found in `readback`."""
    conn.execute(READBACK_DDL)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(external_ids), READ_GROUP):
        group = list(external_ids[start : start + READ_GROUP])
        began = time.perf_counter()
        found = await read(group)
        if timer is not None:
            timer.seconds += time.perf_counter() - began
            timer.records += len(found)
        keep(conn, obj_name, group, found)
        out.update(found)
    return out


def keep(conn: duckdb.DuckDBPyConnection, obj_name: str, asked: Sequence[str], found: dict[str, dict]) -> None:
    """Store what one read found (replacing earlier copies of the ids asked; ids not found are
    dropped, so a later step reads them again)."""
    conn.execute(READBACK_DDL)
    now = datetime.now(UTC)
    frame = pl.DataFrame(  # noqa: F841 - scanned by name below
        {
            "object": [obj_name] * len(found),
            "external_id": list(found),
            "record": [json.dumps(r, default=str) for r in found.values()],
            "read_at": [now] * len(found),
        },
        schema={
            "object": pl.String,
            "external_id": pl.String,
            "record": pl.String,
            "read_at": pl.Datetime("us", "UTC"),
        },
    )
    asked_frame = pl.DataFrame({"external_id": list(asked)}, schema={"external_id": pl.String})  # noqa: F841
    conn.execute("begin")
    try:
        conn.execute(
            "delete from readback where object = ? and external_id in (select external_id from asked_frame)",
            [obj_name],
        )
        conn.execute("insert into readback select * from frame")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


def reusable(
    conn: duckdb.DuckDBPyConnection, obj_name: str, external_ids: Sequence[str], columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Stored copies of `external_ids` read after the record's latest ledger row and holding `columns`.

    The latest ledger rows are those of `external_ids` only: aggregating the whole object's ledger
    for every group of ids cost twice as much at 1M records (85 vs 41 ms a group of 1,000)."""
    conn.execute(READBACK_DDL)
    wanted = pl.DataFrame({"external_id": list(external_ids)}, schema={"external_id": pl.String})  # noqa: F841
    rows = conn.execute(
        """
        select r.external_id, r.record from readback r
        join wanted w using (external_id)
        left join (
            select external_id, max(recorded_at) as written from ledger
            where object = $1 and external_id in (select external_id from wanted) group by external_id
        ) l using (external_id)
        where r.object = $1 and (l.written is null or r.read_at > l.written)
        """,
        [obj_name],
    ).fetchall()
    out = {}
    for ext, text in rows:
        record = json.loads(text)
        if all(c in record for c in columns):
            out[ext] = record
    return out
