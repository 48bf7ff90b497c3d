"""`make bench`: seed a large sandbox dataset, run the phases, print throughput per step.

Printed per phase and step: records, seconds, records/s, HTTP requests, 429s received, and the share
of the destination's configured request rate (requests per window) that the load kept busy.
Figures only: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.table import Table

from migration_assets.definitions import build_definitions
from migration_assets.defs.runner import run_phase
from migration_assets.sandbox import seeding
from migration_assets.settings import PROJECT_ROOT, SPEC_DIR, Paths
from migration_assets.spec.loader import load_all

console = Console(width=140)  # full step names also when piped
DEFAULT_RATE = {"dynamics365": 6000 / 300, "salesforce": None}  # requests/s the destination allows


def step_rows(instance: dg.DagsterInstance, run_id: str, rate: float | None) -> list[dict]:
    """Per materialized asset of the run: records, seconds of its step, records/s, requests, 429s and
    the share of `rate` (requests/s the destination allows) its requests used."""
    stats = {s.step_key: s for s in instance.get_run_step_stats(run_id)}
    rows = []
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
        mat = record.event_log_entry.dagster_event.event_specific_data.materialization
        meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        step = stats.get(record.event_log_entry.step_key)
        seconds = (step.end_time - step.start_time) if step and step.end_time else 0.0
        records = int(meta.get("dagster/row_count", 0) or 0)
        requests = meta.get("requests") or {}
        n_req = int(requests.get("requests", 0)) if isinstance(requests, dict) else 0
        rows.append(
            {
                "step": _step_label(mat.asset_key),
                "records": records,
                "seconds": round(seconds, 2),
                "records_per_s": round(records / seconds, 1) if seconds else 0.0,
                "requests": n_req,
                "429s": int(requests.get("throttled", 0)) if isinstance(requests, dict) else 0,
                "rate_share": f"{(n_req / seconds) / rate:.0%}" if rate and seconds and n_req else "",
            }
        )
    return rows


def bench(scale: int, seed: int, pairs: list[str], var: Path) -> dict:
    shutil.rmtree(var, ignore_errors=True)
    paths = Paths(var)
    (var / "dagster").mkdir(parents=True)
    started = time.monotonic()
    seeding.seed(paths.sandbox, scale=scale, seed=seed)
    console.print(f"seeded scale {scale} in {time.monotonic() - started:.1f}s")
    defs = build_definitions(paths, SPEC_DIR)
    results: dict = {}
    with dg.instance_for_test(temp_dir=str(var / "dagster")) as instance:
        for pair in pairs:
            destination = pair.split("__")[1]
            for phase in ("sample", "full"):
                t0 = time.monotonic()
                outcome = run_phase(defs, instance, pair, phase)
                wall = time.monotonic() - t0
                rows = step_rows(instance, outcome.run_id, DEFAULT_RATE.get(destination))
                results[f"{pair}/{phase}"] = {
                    "success": outcome.success,
                    "seconds": round(wall, 1),
                    "steps": rows,
                }
                _print(pair, phase, wall, outcome.success, rows)
                if phase == "sample":  # the full phase needs an approval of the sample, as in production
                    _approve(defs, instance, pair)
        results["discovery"] = _discovery(defs, instance, paths, pairs)
    return results


def _step_label(key: dg.AssetKey) -> str:
    """`layer/name` of a `<pair>/<layer>/<layer>_<name>` key (e.g. `load/contact`)."""
    layer, name = key.path[1], key.path[-1]
    return f"{layer}/{name.removeprefix(layer + '_')}"


def _discovery(defs: dg.Definitions, instance: dg.DagsterInstance, paths: Paths, pairs: list[str]) -> dict:
    """Proposer precision/recall per hand-confirmed pair; estimator error on the full phase just run."""
    from migration_assets.bench.discovery_figures import print_discovery_figures

    return print_discovery_figures(defs, instance, paths, pairs, console)


def _approve(defs: dg.Definitions, instance: dg.DagsterInstance, pair: str) -> None:
    from migration_assets.defs.naming import approval_job_name, approval_op_name

    config = {"ops": {approval_op_name(pair): {"config": {"approver": "bench", "note": "make bench"}}}}
    defs.resolve_job_def(approval_job_name(pair)).execute_in_process(instance=instance, run_config=config)


def _print(pair: str, phase: str, wall: float, success: bool, rows: list[dict]) -> None:
    table = Table(title=f"{pair} · {phase} · {wall:.1f}s wall · {'ok' if success else 'FAILED'}")
    for column in ("step", "records", "seconds", "records_per_s", "requests", "429s", "rate_share"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        table.add_row(
            *(str(row[c]) for c in ("step", "records", "seconds", "records_per_s", "requests", "429s", "rate_share"))
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pair", action="append", help="pairs to run (default: every pair)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    pairs = args.pair or [spec.pair for spec in load_all(SPEC_DIR)]
    results = bench(args.scale, args.seed, pairs, PROJECT_ROOT / "var" / "bench")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
