"""Salesforce load paths at scale: records/s and API calls of Bulk API 2.0 vs sObject Collections.

Drives `SalesforceDestination.upsert` (the call every pipeline load batch makes) against the
in-process sandbox with the same Account rows twice: once with `bulk_threshold` above the batch
(sObject Collections, 200 records per call) and once below it (Bulk API 2.0 ingest jobs). Each path
runs on a fresh org, so both create every record.

    python -m migration_assets.bench.salesforce [--rows 20000] [--batch 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from migration_assets.connectors import resolve_connection
from migration_assets.connectors.base import TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.sandbox.salesforce import seed as sf_seed
from migration_assets.systems import system

KEY = "Account_External_ID__c"


@dataclass(frozen=True)
class PathResult:
    """What one path achieved on one run."""

    path: str
    rows: int
    ok: int
    seconds: float
    api_calls: int

    @property
    def records_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def bench_rows(n: int) -> list[UpsertRow]:
    """`n` Account rows with a few typical fields."""
    return [
        UpsertRow(
            f"bench-{i}",
            {"Name": f"Firm {i} LLP", "Phone": f"+1 555 {i:07d}", "Description": f"Benchmark account {i}"},
        )
        for i in range(n)
    ]


async def run_path(state_dir: Path, path: str, rows: list[UpsertRow], batch: int) -> PathResult:
    """Upsert `rows` in batches of `batch` on a fresh sandbox org through one path.

    Args:
        state_dir: sandbox folder (the org is reset first).
        path: "bulk" or "collections".
        rows: the rows to upsert.
        batch: rows per upsert call (the pipeline's load batch size).

    Returns:
        The PathResult.
    """
    sf_seed.reset(system("salesforce").state_path(state_dir), daily_api_limit=1_000_000)
    threshold = 1 if path == "bulk" else batch + 1
    options = {"bulk_threshold": threshold, "bulk_poll_interval": 0.01, "bulk_poll_max_interval": 0.05}
    connection = resolve_connection("salesforce", state_dir=state_dir, environ={})
    dest = SalesforceDestination.from_connection(replace(connection, options=options))
    try:
        await dest.apply_schema([TableRequirement("Account", keys={KEY: (KEY,)})])
        before = (await dest.refresh_budget())["used"] or 0
        started = time.perf_counter()
        ok = 0
        for start in range(0, len(rows), batch):
            results = await dest.upsert("Account", KEY, rows[start : start + batch])
            ok += sum(r.ok for r in results)
        seconds = time.perf_counter() - started
        used = (await dest.refresh_budget())["used"] or 0
    finally:
        await dest.aclose()
    return PathResult(path, len(rows), ok, seconds, used - before)


def main(argv: list[str] | None = None) -> list[PathResult]:
    """Print records/s and API calls per path; returns the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=10000, help="rows per upsert call (one Bulk job)")
    args = parser.parse_args(argv)
    rows = bench_rows(args.rows)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in ("collections", "bulk"):
            results.append(asyncio.run(run_path(Path(tmp), path, rows, args.batch)))
    print(f"salesforce upsert of {args.rows} Account rows in batches of {args.batch} (in-process sandbox):")
    for r in results:
        print(
            f"  {r.path:<12} {r.records_per_second:8.0f} records/s  {r.seconds:6.2f} s  "
            f"{r.api_calls:4d} API calls  {r.ok}/{r.rows} ok"
        )
    return results


if __name__ == "__main__":
    main()
