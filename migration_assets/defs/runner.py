"""Run a pair's job for one phase in this process, recorded in the Dagster instance (so the run
appears in the UI), and turn the outcome into plain facts for the CLI and tests."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg

from migration_assets.defs.instance import reclaim_dead_runs, wait_for_pool
from migration_assets.defs.naming import migrate_job_name
from migration_assets.defs.phases import ensure_phases, forget_phase, is_phase
from migration_assets.errors import MigrationError


@dataclass
class RunOutcome:
    pair: str
    phase: str
    run_id: str
    success: bool
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)


def run_phase(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    pair: str,
    phase: str,
    *,
    tags: dict | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> RunOutcome:
    """Materialize every asset of the pair for `phase` (a partition key) with the in-process executor.

    Runs whose process died are reclaimed first (their pool slots freed); a pool held by a live run
    is waited for without spinning. A delta key whose run fails without materializing anything is
    removed again, so a refused run leaves no phantom partition.

    Raises:
        MigrationError: `phase` is not a phase, or the wait was interrupted.
    """
    if not is_phase(phase):
        raise MigrationError(f"{phase!r} is not a phase (sample, full or delta-<YYYYMMDDTHHMMSSZ>)")
    reclaim_dead_runs(instance)
    wait_for_pool(instance, say=say)
    ensure_phases(instance, pair, (phase,))
    job = defs.resolve_job_def(migrate_job_name(pair))
    with _sigterm_interrupts():
        result = job.execute_in_process(
            instance=instance, partition_key=phase, raise_on_error=False, tags={**(tags or {}), "pair": pair}
        )
    if not result.success and not _materialized(result):
        forget_phase(instance, pair, phase)
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


def _materialized(result: dg.ExecuteInProcessResult) -> bool:
    return any(e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION for e in result.all_events)


@contextmanager
def _sigterm_interrupts():
    """SIGTERM stops a run like Ctrl-C does: Dagster marks it failed and releases its pool slots."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def root_message(error) -> str:
    """The innermost cause of a step failure: what a person needs to read."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def latest_phase(instance: dg.DagsterInstance, pair: str) -> str | None:
    """The phase of the latest successful migrate run of `pair` (None before any)."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=migrate_job_name(pair), statuses=[dg.DagsterRunStatus.SUCCESS]), limit=5
    )
    return next((p for r in runs if is_phase(p := r.tags.get("dagster/partition", ""))), None)
