"""Extraction against dlt's `rest_api` source on the same served Case Status sandbox, in one run.

The Case Status emulator is served over real HTTP on 127.0.0.1 by a child process; our extraction
(`CaseStatusSource` + `extract_all`, pages into the staging frame) and dlt's `rest_api` source
(page-number paginator, `pipeline.extract`, its own files) read the same listings one after the
other, alternating: with the sandbox's limit (`rate_per_second`, 5 by default, bursts of 10) and with
it lifted. Lifted, a run lasts under a second and one alternation's ratio moves by +-30% with what
else the two cores do, so that setting alternates three times as often (a few seconds more). The
request counters are cleared before each run, so neither side starts in
a window the other filled. Figures: records/s per side and their ratio; under the limit, also our
records/s as a share of what the limit allows (requests/s times page size).

dlt is an optional extra (`pip install -e '.[bench]'`): only this bench imports it; without it the
comparison is skipped with a message and only our side is measured.

    python -m migration_assets.bench.extraction [--scale 3000] [--reps 2] [--settings throttled,unthrottled]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from migration_assets.bench.serving import served
from migration_assets.bench.workbench import seed_pair
from migration_assets.connectors.case_status import CaseStatusSource
from migration_assets.connectors.case_status import settings as cs
from migration_assets.connectors.connection import Connection
from migration_assets.engine.extracting import extract_all
from migration_assets.settings import PROJECT_ROOT
from migration_assets.systems import system

OBJECTS = ("messages", "cases", "clients", "matters", "files")
LIMITED = {"rate_per_second": 5.0, "burst": 10}
UNLIMITED = {"rate_per_second": 1_000_000.0, "burst": 1_000_000}
NO_DLT = "dlt is not installed (pip install -e '.[bench]'): the comparison with dlt's rest_api is skipped"


def dlt_available() -> bool:
    return importlib.util.find_spec("dlt") is not None


def _clear_counters(state_path: Path, options: dict[str, Any]) -> None:
    """Forget every counted request and set the limit options (another process serves the file)."""
    with sqlite3.connect(state_path, timeout=30) as conn:
        conn.execute("delete from sandbox_rate_events")
        conn.executemany(
            "insert into sandbox_options values (?, ?) on conflict(name) do update set value = excluded.value",
            [(k, json.dumps(v)) for k, v in options.items()],
        )


async def ours(base_url: str, objects: Sequence[str]) -> tuple[int, float, int, int]:
    """(records, seconds, requests, 429s) of our extraction of `objects`, one object after another
    as the pipeline's extract steps run."""
    key = system("case_status").sandbox.credentials["api_key"]
    connection = Connection("case_status", base_url, api_key=SecretStr(key))
    source = CaseStatusSource.from_connection(connection)
    records = 0
    started = time.perf_counter()
    try:
        for obj in objects:
            records += (await extract_all(source, obj)).height
    finally:
        await source.aclose()
    stats = source.session.stats
    return records, time.perf_counter() - started, stats.requests, stats.throttled


def theirs(base_url: str, objects: Sequence[str], workdir: Path) -> tuple[int, float]:
    """(records, seconds) of dlt's rest_api source extracting the same listings."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    key = system("case_status").sandbox.credentials["api_key"]
    source = rest_api_source(
        {
            "client": {
                "base_url": f"{base_url}{cs.API_PREFIX}/",
                "headers": {"Authorization": f"ApiKey {key}"},
                "paginator": {"type": "page_number", "page_param": "page[number]", "base_page": 1, "total_path": None},
            },
            "resource_defaults": {"endpoint": {"params": {"size": cs.PAGE_SIZE}}},
            "resources": [cs.PATHS[o] for o in objects],
        }
    )
    pipeline = dlt.pipeline(pipeline_name=f"bench_{int(time.time() * 1000)}", pipelines_dir=str(workdir))
    started = time.perf_counter()
    info = pipeline.extract(source)
    seconds = time.perf_counter() - started
    counts = info.metrics[info.loads_ids[0]][0]["table_metrics"] if info.loads_ids else {}
    return sum(m.items_count for m in counts.values()), seconds


SETTINGS = {"throttled": LIMITED, "unthrottled": UNLIMITED}
REPS_FACTOR = {"throttled": 1, "unthrottled": 3}  # alternations per setting, times --reps


def bench(scale: int, reps: int, var: Path, settings: Sequence[str] = tuple(SETTINGS)) -> dict[str, Any]:
    """Both sides, under each of `settings` (throttled, unthrottled), `reps` alternations each (three
    times as many unthrottled); medians."""
    sandbox = var / "sandbox"
    seed_pair(sandbox, "case_status__dynamics365", scale=scale, seed=42)
    state = system("case_status").state_path(sandbox)
    with_dlt = dlt_available()
    if not with_dlt:
        print(NO_DLT, flush=True)
    out: dict[str, Any] = {"scale": scale, "objects": list(OBJECTS), "dlt": with_dlt}
    with tempfile.TemporaryDirectory() as tmp:
        for label in settings:
            options = SETTINGS[label]
            runs: dict[str, list] = {"ours": [], "dlt": []}
            # a server of its own per setting: a new address is a new identity, whose limiter starts afresh
            with served("case_status", sandbox) as base_url:
                for _ in range(reps * REPS_FACTOR[label]):
                    _clear_counters(state, options)
                    runs["ours"].append(asyncio.run(ours(base_url, OBJECTS)))
                    if with_dlt:
                        _clear_counters(state, options)
                        runs["dlt"].append(theirs(base_url, OBJECTS, Path(tmp)))
            out[label] = _figures(runs, options)
            print(f"extraction {label}: {json.dumps(out[label])}", flush=True)
    return out


def _figures(runs: dict[str, list], options: dict[str, Any]) -> dict[str, Any]:
    records = runs["ours"][-1][0]
    ours_rps = statistics.median(r[0] / r[1] for r in runs["ours"])
    figures: dict[str, Any] = {
        "records": records,
        "ours_records_per_s": round(ours_rps, 1),
        "ours_requests": runs["ours"][-1][2],
        "ours_429s": runs["ours"][-1][3],
    }
    limit = float(options["rate_per_second"]) * cs.PAGE_SIZE
    if options["rate_per_second"] < 1000:
        seconds = statistics.median(r[1] for r in runs["ours"])
        figures["limit_records_per_s"] = limit
        figures["ours_share_of_limit"] = round(ours_rps / limit, 3)  # records/s over limit x page size
        figures["ours_requests_share_of_limit"] = round(runs["ours"][-1][2] / seconds / options["rate_per_second"], 3)
    if runs["dlt"]:
        dlt_rps = statistics.median(r[0] / r[1] for r in runs["dlt"])
        figures["dlt_records"] = runs["dlt"][-1][0]
        figures["dlt_records_per_s"] = round(dlt_rps, 1)
        figures["ratio_vs_dlt"] = round(ours_rps / dlt_rps, 2)
        # each alternation's own ratio (ours then dlt, back to back): the spread of the median above
        figures["ratios_per_rep"] = [
            round((o[0] / o[1]) / (d[0] / d[1]), 2) for o, d in zip(runs["ours"], runs["dlt"], strict=True)
        ]
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="throttled, unthrottled or both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    settings = [s for s in args.settings.split(",") if s]
    if unknown := sorted(set(settings) - set(SETTINGS)):
        parser.error(f"unknown settings {unknown} (known: {', '.join(SETTINGS)})")
    out = bench(args.scale, args.reps, PROJECT_ROOT / "var" / "bench" / "extraction", settings)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
