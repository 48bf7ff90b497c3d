"""Loads under a binding per-user limit: utilization of the limit, share of 429s, and the scaling
with several application users.

The Dataverse emulator (in process) gets a service-protection window small enough to bind
(`requests_per_window` per `window_seconds`, per application user); the connector upserts new
accounts in fixed batches with 1, 2 and 4 application users (option `identities`), each with its
own limiter. Figures per run: records/s, requests, 429s, the requests/s each identity sent against
its limit (utilization; the emulator's own per-identity window is the judge of the limit) and the
speed-up against one identity. Figures only: nothing here asserts on time.

    python -m migration_assets.bench.limits [--rows 8000] [--limit 20] [--batch 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from migration_assets.connectors.base import ColumnRequirement, TableRequirement, UpsertRow
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.connectors.registry import Connection
from migration_assets.sandbox import sandbox
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.seed import reset
from migration_assets.settings import PROJECT_ROOT

KEY = "cs_externalid"
IDENTITIES = (1, 2, 4)


def _connector(state: Path, identities: int, batch: int) -> DataverseDestination:
    box = sandbox("dynamics365")
    connection = Connection(
        system="dynamics365",
        base_url=box.host,
        token_url=box.host + (box.token_path or ""),
        client_id=box.credentials["client_id"],
        client_secret=SecretStr(box.credentials["client_secret"]),
        transport=httpx.ASGITransport(app=create_app(state)),
        sandbox=True,
        options={"publisher_prefix": "cs", "identities": identities, "batch_size": batch},
        extra_credentials=tuple((c["client_id"], SecretStr(c["client_secret"])) for c in box.extra_credentials),
    )
    return DataverseDestination.from_connection(connection)


async def _load(state: Path, identities: int, rows: int, batch: int) -> dict[str, Any]:
    dv = _connector(state, identities, batch)
    key = TableRequirement("account", columns=(ColumnRequirement(KEY, "string", max_length=100),), keys={"k": (KEY,)})
    try:
        await dv.apply_schema([key])
        await dv.owner()
        for api in dv.writers:  # the token and the metadata first: the window then holds only the load
            await api.get_json("WhoAmI")
        before = [api.session.stats.requests for api in dv.writers]
        items = [UpsertRow(f"A-{i}", {"name": f"Firm {i}"}, exists=False) for i in range(rows)]
        started = time.monotonic()
        results = await dv.upsert("account", KEY, items)
        seconds = time.monotonic() - started
        sent = [api.session.stats.requests - b for api, b in zip(dv.writers, before, strict=True)]
        throttled = sum(api.session.stats.throttled_by_status.get(429, 0) for api in dv.writers)
    finally:
        await dv.aclose()
    return {
        "identities": identities,
        "records": sum(r.ok for r in results),
        "seconds": round(seconds, 2),
        "records_per_s": round(rows / seconds, 1),
        "requests": sum(sent),
        "429s": throttled,
        "share_429": round(throttled / max(sum(sent), 1), 4),
        "requests_per_s_per_identity": round(sum(sent) / seconds / identities, 2),
    }


def bench(rows: int, limit: int, window: float, batch: int, var: Path) -> dict[str, Any]:
    """One load per identity count, each on a fresh emulator with the same binding window."""
    var.mkdir(parents=True, exist_ok=True)
    per_second = limit / window
    runs = []
    for n in IDENTITIES:
        state = var / f"dataverse-{n}.sqlite"
        state.unlink(missing_ok=True)
        reset(state, requests_per_window=limit, window_seconds=window, app_users=max(IDENTITIES))
        run = asyncio.run(_load(state, n, rows, batch))
        run["utilization"] = round(run["requests_per_s_per_identity"] / per_second, 3)
        runs.append(run)
        print(f"limits: {json.dumps(run)}", flush=True)
    base = runs[0]["records_per_s"]
    for run in runs:
        run["speedup"] = round(run["records_per_s"] / base, 2) if base else 0.0
    return {
        "binding_limit": f"{limit} requests per {window:g} s per application user",
        "limit_requests_per_s": per_second,
        "rows": rows,
        "batch": batch,
        "runs": runs,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--limit", type=int, default=20, help="requests per window per application user")
    parser.add_argument("--window", type=float, default=1.0, help="the window's seconds")
    parser.add_argument("--batch", type=int, default=10, help="records per request")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = bench(args.rows, args.limit, args.window, args.batch, PROJECT_ROOT / "var" / "bench" / "limits")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
