"""The plan of a pair as a person reads it: the estimate of every phase and the complexity grade,
from the discovery and profile reports under `<reports>/<pair>/` (no Dagster here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migration_assets.discovery import estimating, grading
from migration_assets.discovery.estimating import CallsFor, RunMeasure, StepMeasure
from migration_assets.discovery.source_schema import SourceSchema
from migration_assets.errors import MigrationError
from migration_assets.reports.discovery_report import read_report, write_report
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec


def report_folder(paths: Paths, pair: str, layer: str) -> Path:
    return paths.report_dir(pair) / layer


def estimate_pair(
    paths: Paths,
    loaded: LoadedSpec,
    history: tuple[list[StepMeasure], list[RunMeasure]],
    calls_for: CallsFor,
) -> dict[str, Any]:
    """The estimate of every phase from the discovery reports and the measured earlier runs.

    Raises:
        MigrationError: no source discovery report yet.
    """
    source_json = read_report(report_folder(paths, loaded.pair, "discover") / "source_schema.json")
    if source_json is None:
        raise MigrationError(f"{loaded.pair}: no source discovery yet; materialize discover/source_schema first")
    destination = read_report(report_folder(paths, loaded.pair, "discover") / "destination_schema.json") or {}
    source = SourceSchema.from_json(source_json)
    limits = estimating.limits_for(loaded, destination.get("facts", {}))
    steps, runs = history
    phases = estimating.estimate(loaded, source, limits, steps, runs, calls_for=calls_for)
    budget = limits.request_budget()
    return {
        "pair": loaded.pair,
        "spec_hash": loaded.content_hash,
        "limits": {k: v for k, v in limits.__dict__.items() if k != "budget"},
        "budget": budget.__dict__ | {"tiers": dict(budget.tiers)} if budget else None,
        "measured_runs": len(runs),
        "phases": estimating.to_json(phases),
    }


def phase_rows_table(data: dict) -> list[dict]:
    return [
        {
            "phase": p,
            "records": sum(e["records"].values()),
            "requests": e["requests"],
            "batches": e["batches"],
            "seconds": e["seconds"],
            "days": e["days"],
            "budget_windows": f"{e.get('windows', 1)} ({e['budget_period']})" if e.get("budget_period") else "",
        }
        for p, e in data["phases"].items()
    ]


def tier_rows_table(data: dict) -> list[dict]:
    """Requests, budget windows and hours of every phase on each plan tier the destination lists."""
    budget = data.get("budget") or {}
    unit = {"hourly": "hour", "daily": "day"}.get(str(budget.get("period")), "window")
    return [
        {
            "phase": p,
            "tier": tier,
            f"requests_per_{unit}": t["limit"],
            "requests": t["requests"],
            f"{unit}s_of_budget": t["windows"],
            "hours": t["hours"],
        }
        for p, e in data["phases"].items()
        for tier, t in (e.get("by_tier") or {}).items()
    ]


def write_estimate_report(paths: Paths, loaded: LoadedSpec, data: dict) -> dict[str, Path]:
    steps = [{"phase": p, **s} for p, e in data["phases"].items() for s in e["steps"]]
    objects = [{"phase": p, **e["records"]} for p, e in data["phases"].items()]
    return write_report(
        report_folder(paths, loaded.pair, "plan"),
        "estimate",
        f"{loaded.pair}: estimate",
        data,
        {
            "Phases": phase_rows_table(data),
            "Per plan tier": tier_rows_table(data),
            "Records per object": objects,
            "Limits": [data["limits"]],
            "Steps": steps,
        },
    )


def latest_profiles(paths: Paths, loaded: LoadedSpec, source_objects: list[str]) -> dict[str, dict]:
    """The newest profile report of each source object (any phase)."""
    folder = report_folder(paths, loaded.pair, "profile")
    out = {}
    for source_object in source_objects:
        found = sorted(folder.glob(f"{source_object}.*.json"), key=lambda p: p.stat().st_mtime)
        if found:
            out[source_object] = json.loads(found[-1].read_text(encoding="utf-8"))
    return out


def plan_report(paths: Paths, loaded: LoadedSpec, source_objects: list[str]) -> dict:
    folder = report_folder(paths, loaded.pair, "plan")
    estimate = read_report(folder / "estimate.json") or {"phases": {}, "limits": {}}
    full = estimate["phases"].get("full", {"records": {}, "requests": 0})
    profiles = latest_profiles(paths, loaded, source_objects)
    findings, profiled = grading.quality_findings(profiles)
    destination = read_report(report_folder(paths, loaded.pair, "discover") / "destination_schema.json") or {}
    graded = grading.grade(
        loaded,
        records=sum(full["records"].values()),
        full_requests=full["requests"],
        daily_budget=estimating.budget_per_day(destination.get("facts", {})),
        quality_findings=findings,
        profiled_records=profiled,
    )
    totals: dict[str, int] = {}
    for p in profiles.values():
        for k, v in p["summary"].items():
            totals[k] = totals.get(k, 0) + int(v)
    return {
        "pair": loaded.pair,
        "spec_hash": loaded.content_hash,
        "grade": graded,
        "estimate": phase_rows_table(estimate) if estimate["phases"] else [],
        "profiling": totals,
    }
