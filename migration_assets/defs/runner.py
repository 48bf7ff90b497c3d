"""Run a pair's job for one phase in this process, recorded in the Dagster instance (so the run
appears in the UI), and turn the outcome into plain facts for the CLI and tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import dagster as dg

from migration_assets.defs.naming import migrate_job_name
from migration_assets.defs.phases import ensure_phases


@dataclass
class RunOutcome:
    pair: str
    phase: str
    run_id: str
    success: bool
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)


def run_phase(
    defs: dg.Definitions, instance: dg.DagsterInstance, pair: str, phase: str, *, tags: dict | None = None
) -> RunOutcome:
    """Materialize every asset of the pair for `phase` (a partition key) with the in-process executor."""
    ensure_phases(instance, pair, (phase,))
    job = defs.resolve_job_def(migrate_job_name(pair))
    result = job.execute_in_process(
        instance=instance, partition_key=phase, raise_on_error=False, tags={**(tags or {}), "pair": pair}
    )
    failures = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failures.append(f"{event.step_key}: {root_message(event.step_failure_data.error)}")
    failed_checks = [
        f"{ev.asset_key.to_user_string()}:{ev.check_name}"
        for ev in result.get_asset_check_evaluations()
        if not ev.passed
    ]
    logging.getLogger(__name__).debug("run %s finished: %s", result.run_id, result.success)
    return RunOutcome(pair, phase, result.run_id, result.success and not failures, failures, failed_checks)


def root_message(error) -> str:
    """The innermost cause of a step failure: what a person needs to read."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def latest_phase(instance: dg.DagsterInstance, pair: str) -> str | None:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=migrate_job_name(pair)), limit=1)
    return runs[0].tags.get("dagster/partition") if runs else None
