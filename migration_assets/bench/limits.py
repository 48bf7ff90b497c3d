"""Loads under a binding per-user limit: utilization of the limit, share of 429s, and the scaling
with several application users.

The Dataverse emulator (in process) gets a service-protection window that binds (`requests_per_window`
per `window_seconds`, per application user) and, unless `--server-model none`, the realistic server
model (server_model.py): each request then takes the real service's latency and server time without
holding this machine's CPU, so the figures measure the client's design rather than the CPU it shares.
The connector upserts new accounts in fixed batches with 1, 2 and 4 application users (option
`identities`), each with its own limiter and `rows` rows per identity (the same work for each user,
so that N users are compared on equal runs). Before the clock starts, the setup's requests are let
out of the window, so every run starts from an empty window as the ideal schedule below does.

Figures per run: records/s, requests, 429s, CPU seconds per wall second, and the utilization of the
limit: the least time the run's requests could take under the window (`best_seconds`: a full window
at once, then a full window as each one ends, plus one request's modelled time) over the time taken.
`ceiling_records_per_s` is the sustained best of N identities (ServerModel.ceiling: the least of the
request, execution-time and concurrency limits; `binding` names it), the rate a long load tends to.
Figures only: nothing here asserts on time.

    python -m migration_assets.bench.limits [--rows 8000] [--limit 200] [--window 10] [--batch 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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
from migration_assets.sandbox.dataverse.server_model import REALISTIC, ServerModel
from migration_assets.sandbox.dataverse.store import DEFAULTS
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


async def _load(state: Path, identities: int, rows: int, batch: int, window: float) -> dict[str, Any]:
    dv = _connector(state, identities, batch)
    key = TableRequirement("account", columns=(ColumnRequirement(KEY, "string", max_length=100),), keys={"k": (KEY,)})
    try:
        await dv.apply_schema([key])
        await dv.owner()
        for api in dv.writers:  # the token and the metadata first: the window then holds only the load
            await api.get_json("WhoAmI")
        await dv.meta.table("account")
        await asyncio.sleep(window)  # the setup's requests leave the window: the load starts from an empty one
        before = [api.session.stats.requests for api in dv.writers]
        items = [UpsertRow(f"A-{i}", {"name": f"Firm {i}"}, exists=False) for i in range(rows)]
        started, cpu = time.monotonic(), time.process_time()
        results = await dv.upsert("account", KEY, items)
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
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
        "requests_per_identity": sent,
        "429s": throttled,
        "share_429": round(throttled / max(sum(sent), 1), 4),
        "requests_per_s_per_identity": round(sum(sent) / seconds / identities, 2),
        "cpu_per_wall_second": round(cpu / seconds, 2),
    }


def best_seconds(requests: int, limit: int, window: float, request_seconds: float) -> float:
    """The least time `requests` can take under a sliding window of `limit` per `window` seconds that
    starts empty: `limit` at once, `limit` more as each window ends, the last answered one request's
    time later."""
    return window * (math.ceil(requests / limit) - 1) + request_seconds


def bench(rows: int, limit: int, window: float, batch: int, model: str | None, var: Path) -> dict[str, Any]:
    """One load per identity count, each on a fresh emulator with the same binding window.

    Args:
        rows: rows per identity.
        limit: requests per window per application user.
        window: the window's seconds.
        batch: records per request.
        model: the emulator's server model ("realistic"), or None for the emulator's own timing.
        var: where the emulator files go.
    """
    var.mkdir(parents=True, exist_ok=True)
    limits = {**DEFAULTS, "requests_per_window": limit, "window_seconds": window}
    server = ServerModel.from_options({"server_model": model}) if model else None
    request_seconds = (server.latency_ms + server.bulk_ms_per_operation * batch) / 1000 if server else 0.0
    ceiling = (server or ServerModel.from_options({"server_model": "realistic"})).ceiling(limits, batch, bulk=True)
    runs = []
    for n in IDENTITIES:
        state = var / f"dataverse-{n}.sqlite"
        state.unlink(missing_ok=True)
        options = {"server_model": model} if model else {}
        reset(state, requests_per_window=limit, window_seconds=window, app_users=max(IDENTITIES), **options)
        run = asyncio.run(_load(state, n, rows * n, batch, window))
        best = best_seconds(max(run["requests_per_identity"]), limit, window, request_seconds)
        run["best_seconds"] = round(best, 2)
        run["utilization"] = round(best / run["seconds"], 3)
        run["ceiling_records_per_s"] = round(ceiling["records_per_second"] * n, 1)
        runs.append(run)
        print(f"limits: {json.dumps(run)}", flush=True)
    base = runs[0]["records_per_s"]
    for run in runs:
        run["speedup"] = round(run["records_per_s"] / base, 2) if base else 0.0
    return {
        "binding_limit": f"{limit} requests per {window:g} s per application user",
        "limit_requests_per_s": limit / window,
        "server_model": model or "none (the emulator's own timing on this machine)",
        "server_model_figures": {**REALISTIC} if model else {},
        "ceiling_per_identity": ceiling,
        "rows_per_identity": rows,
        "batch": batch,
        "runs": runs,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000, help="rows per application user")
    parser.add_argument("--limit", type=int, default=200, help="requests per window per application user")
    # real: 6,000 per 300 s. A window much longer than a request keeps the bench measuring the client:
    # the client counts its starts over the window plus the longest recent answer time (it cannot see
    # when the server counted a request), a 1% cost on 10 s, 7% on 1 s with the modelled latency
    parser.add_argument("--window", type=float, default=10.0, help="the window's seconds")
    parser.add_argument("--batch", type=int, default=10, help="records per request")
    parser.add_argument("--server-model", default="realistic", help="the emulator's server model, or 'none'")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    model = None if args.server_model == "none" else args.server_model
    out = bench(args.rows, args.limit, args.window, args.batch, model, PROJECT_ROOT / "var" / "bench" / "limits")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
