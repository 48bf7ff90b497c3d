"""Freshsales at scale: requests per record of each write path, and the share of the per-account
hourly API budget that a full load of case_status__freshsales takes on each plan tier.

Measured on the in-process sandbox, whose counter is the account's (every request of every step):
- per record: `FreshsalesDestination.upsert` of `--rows` contacts in batches of 100 through
  `bulk_upsert` jobs and through single `upsert` calls (creates, then updates), and of tasks (no
  bulk endpoint: one call each); beside the connector's own estimate;
- a full load: the pair's pipeline at `--scale` (sample, approve, full), the requests of the full
  phase (loads, read-back diff, reconciliation) against 1,000 / 2,000 / 5,000 requests an hour, with
  the estimator's prediction (plan/estimate) before it.

    python -m migration_assets.bench.freshsales [--rows 1000] [--scale 200] [--skip-pipeline]

Figures only (printed, and written to var/bench/freshsales.json): nothing here asserts on time.
Job polls are answered at once in process (one poll per job); a real account may need more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from migration_assets.connectors.base import LookupRef, UpsertRow
from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.connectors.freshsales.settings import ESTIMATE_TIERS
from migration_assets.sandbox.freshsales import seed as fs_seed
from migration_assets.sandbox.freshsales.testing import connection
from migration_assets.settings import PROJECT_ROOT, SPEC_DIR, Paths

PAIR = "case_status__freshsales"
KEY = "cf_source_system_id"
BATCH = 100  # the pair's load batch: one bulk job
ROOMY = {"hourly_limit": 10_000_000, "minute_limit": 10_000_000, "bulk_polls_until_done": 1}
KEY_FIELDS = [
    {"kind": "field", "entity": e, "label": "Source System ID", "type": "text", "unique": True}
    for e in ("contacts", "deals")
]


# -- requests per record ------------------------------------------------------------------------
async def contact_path(state: Path, path: str, rows: int) -> dict[str, Any]:
    """Create then update `rows` contacts through one path; requests per record of each pass."""
    fs_seed.reset(state, **ROOMY)
    fs_seed.apply_field_plan(state, KEY_FIELDS)
    threshold = 1 if path == "bulk" else 10**9
    dest = FreshsalesDestination.from_connection(connection(state, bulk_threshold=threshold))
    out: dict[str, Any] = {"estimate": dest.requests_per_record("contact", BATCH)[path]}
    try:
        for operation in ("create", "update"):
            batch_rows = [
                UpsertRow(f"C-{i}", {"last_name": f"Client {i} {operation}", "emails": f"c{i}@bench.example"})
                for i in range(rows)
            ]
            used, started = fs_seed.usage(state)["used"], time.perf_counter()
            for start in range(0, rows, BATCH):
                results = await dest.upsert("contact", KEY, batch_rows[start : start + BATCH])
                assert all(r.ok for r in results), results[:3]
            out[operation] = {
                "requests_per_record": round((fs_seed.usage(state)["used"] - used) / rows, 4),
                "records_per_second": round(rows / (time.perf_counter() - started), 1),
            }
    finally:
        await dest.aclose()
    return out


async def task_path(state: Path, rows: int) -> dict[str, Any]:
    """Create `rows` tasks on one deal: the path of every object without bulk upsert."""
    fs_seed.reset(state, **ROOMY)
    fs_seed.apply_field_plan(state, KEY_FIELDS)
    dest = FreshsalesDestination.from_connection(connection(state))
    try:
        owner = (await dest.users())[0].id
        [deal] = await dest.upsert("deal", KEY, [UpsertRow("M-1", {"name": "Bench v. Load", "amount": 1})])
        target = {"targetable_id": LookupRef("deal", str(deal.destination_id)), "owner_id": LookupRef("user", owner)}
        tasks = [UpsertRow(f"T-{i}", {"title": f"Call {i}", "due_date": "2026-01-05T10:00:00Z"}, target)
                 for i in range(rows)]  # fmt: skip
        used = fs_seed.usage(state)["used"]
        for start in range(0, rows, BATCH):
            assert all(r.ok for r in await dest.upsert("task", KEY, tasks[start : start + BATCH]))
        return {"create": {"requests_per_record": round((fs_seed.usage(state)["used"] - used) / rows, 4)}}
    finally:
        await dest.aclose()


def per_record(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "freshsales.sqlite"
        return {
            "contact_bulk": asyncio.run(contact_path(state, "bulk", rows)),
            "contact_single": asyncio.run(contact_path(state, "single", rows)),
            "task": asyncio.run(task_path(state, min(rows, 300))),
        }


# -- a full load through the pipeline -----------------------------------------------------------
def _spec_dir(folder: Path) -> Path:
    """The pair's spec with no client-side pacing or pause between polls (request counts unchanged)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text(encoding="utf-8"))
    spec["destination_options"] |= {"rate_per_second": 10_000, "bulk_poll_interval": 0}
    spec["options"]["load"]["rate_per_second"] = 10_000
    (folder / f"{PAIR}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder


def full_load(scale: int, seed: int, var: Path) -> dict[str, Any]:
    """Run sample, approve and full at `scale`; the full phase's requests and hourly-budget shares."""
    from migration_assets.definitions import build_definitions
    from migration_assets.defs.discover import run_plan
    from migration_assets.defs.instance import project_instance
    from migration_assets.defs.naming import approval_job_name, approval_op_name
    from migration_assets.defs.runner import run_phase
    from migration_assets.sandbox import seeding
    from migration_assets.sandbox.schema_plan import apply_schema_plan
    from migration_assets.systems import system

    shutil.rmtree(var, ignore_errors=True)
    paths = Paths(var)
    seeding.seed(paths.sandbox, scale=scale, seed=seed, options={"freshsales": ROOMY})
    state = system("freshsales").state_path(paths.sandbox)
    defs = build_definitions(paths, _spec_dir(var / "specs"))
    instance = project_instance(paths)
    try:
        predicted = _predicted(run_plan(defs, instance, PAIR, "full", estimate_only=True), paths)
        run_phase(defs, instance, PAIR, "sample")  # refused at schema_apply: writes the setup plan
        apply_schema_plan(paths, PAIR, "freshsales")
        assert run_phase(defs, instance, PAIR, "sample").success
        config = {"ops": {approval_op_name(PAIR): {"config": {"approver": "bench", "note": "bench"}}}}
        defs.resolve_job_def(approval_job_name(PAIR)).execute_in_process(instance=instance, run_config=config)
        fs_seed.reset_usage(state)
        started = time.perf_counter()
        outcome = run_phase(defs, instance, PAIR, "full")
        seconds = time.perf_counter() - started
        used = fs_seed.usage(state)["used"]
        loads = _load_requests(instance, outcome.run_id)
    finally:
        instance.dispose()
    records = sum(v["written"] for v in loads.values())
    return {
        "scale": scale,
        "success": outcome.success,
        "seconds": round(seconds, 1),
        "requests": used,
        "records_written": records,
        "requests_per_record": round(used / max(records, 1), 3),
        "predicted_requests": predicted,
        "loads": loads,
        "hourly_budget_share": {tier: round(used / limit, 3) for tier, limit in ESTIMATE_TIERS.items()},
        "hours_of_budget": {tier: round(used / limit, 2) for tier, limit in ESTIMATE_TIERS.items()},
    }


def _predicted(result: Any, paths: Paths) -> int | None:
    estimate = paths.report_dir(PAIR) / "plan" / "estimate.json"
    if not result.success or not estimate.exists():
        return None
    return int(json.loads(estimate.read_text(encoding="utf-8"))["phases"]["full"]["requests"])


def _load_requests(instance: Any, run_id: str) -> dict[str, dict[str, int]]:
    """Requests and rows written of every load step of a run (its materialization metadata)."""
    import dagster as dg

    out = {}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
        layer, name = materialization.asset_key.path[1:3]
        if layer == "load":
            meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
            written = int(meta.get("created", 0)) + int(meta.get("updated", 0))
            out[name] = {"written": written, "requests": int((meta.get("requests") or {}).get("requests", 0))}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print the figures and write them to var/bench/freshsales.json; returns them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="contacts per write path")
    parser.add_argument("--scale", type=int, default=200, help="source cases of the full load")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-pipeline", action="store_true", help="only the requests per record")
    args = parser.parse_args(argv)
    bench_dir = PROJECT_ROOT / "var" / "bench"
    figures: dict[str, Any] = {"per_record": per_record(args.rows)}
    print(f"freshsales requests per record ({args.rows} contacts, batches of {BATCH}; in-process sandbox):")
    for name, fig in figures["per_record"].items():
        passes = ", ".join(f"{op} {v['requests_per_record']}" for op, v in fig.items() if isinstance(v, dict))
        estimate = f" (connector estimate {fig['estimate']})" if "estimate" in fig else ""
        print(f"  {name:<15} {passes}{estimate}")
    if not args.skip_pipeline:
        figures["full_load"] = full_load(args.scale, args.seed, bench_dir / "freshsales-pipeline")
        full = figures["full_load"]
        print(
            f"full load of {PAIR} at scale {args.scale}: {full['requests']} requests for "
            f"{full['records_written']} records ({full['requests_per_record']}/record; predicted "
            f"{full['predicted_requests']}), {full['seconds']}s in process"
        )
        for tier, limit in ESTIMATE_TIERS.items():
            share = full["hourly_budget_share"][tier]
            print(f"  {tier:<7} {limit:>5}/hour: {share:.0%} of an hour's budget")
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / "freshsales.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
