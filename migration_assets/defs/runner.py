"""Run a pair's job for one phase in this process, recorded in the Dagster instance (so the run
appears in the UI), and turn the outcome into plain facts for the CLI and tests.

Dagster's console logger prints every engine event (DEBUG) of an in-process run; `quiet_config`
sets its level so that a terminal shows them only when asked (`migrate ... --verbose`). The
events themselves are always stored in the instance, and `on_event` receives each one as it is
stored (the CLI draws its progress from them).
"""

from __future__ import annotations

import logging
import signal
import uuid
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from migration_assets.defs.instance import reclaim_dead_runs, wait_for_pool
from migration_assets.defs.naming import layer_and_name, migrate_job_name
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
    tracebacks: list[str] = field(default_factory=list)  # of the failures, for --verbose


def quiet_config(verbose: bool, run_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`run_config` with Dagster's console logger at DEBUG when `verbose`, else silent (CRITICAL)."""
    level = "DEBUG" if verbose else "CRITICAL"
    return {**(run_config or {}), "loggers": {"console": {"config": {"log_level": level}}}}


def execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    verbose: bool = False,
    on_event: Callable[[Any], None] | None = None,
    run_config: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    """`job.execute_in_process` (never raising on a step's error), quiet unless `verbose`, with
    `on_event` called for every event of the run as it is stored."""
    run_id = str(uuid.uuid4())
    if on_event is not None:
        instance.add_event_listener(run_id, _harmless(on_event))
    return job.execute_in_process(
        instance=instance, raise_on_error=False, run_id=run_id, run_config=quiet_config(verbose, run_config), **kwargs
    )


def _harmless(on_event: Callable[[Any], None]) -> Callable[[Any], None]:
    """A listener whose errors never reach the run (a display must not fail a migration)."""

    def listener(entry: Any) -> None:
        try:
            on_event(entry)
        except Exception:  # a bug in a display: logged, the run goes on
            logging.getLogger(__name__).exception("event listener failed")

    return listener


def run_phase(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    pair: str,
    phase: str,
    *,
    tags: dict | None = None,
    say: Callable[[str], None] = lambda _m: None,
    verbose: bool = True,
    on_event: Callable[[Any], None] | None = None,
) -> RunOutcome:
    """Materialize every asset of the pair for `phase` (a partition key) with the in-process executor.

    Runs whose process died are reclaimed first (their pool slots freed); a pool held by a live run
    is waited for without spinning. A delta key whose run fails without materializing anything is
    removed again, so a refused run leaves no phantom partition.

    Args:
        verbose: Dagster's engine events on the console (the default of a library call; the CLI
            passes its `--verbose`).
        on_event: called with every event of the run as it is stored (progress displays).

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
        result = execute(
            job, instance, verbose=verbose, on_event=on_event, partition_key=phase, tags={**(tags or {}), "pair": pair}
        )
    if not result.success and not _materialized(result):
        forget_phase(instance, pair, phase)
    failures, tracebacks = failures_of(result)
    failed_checks = [
        f"{ev.asset_key.to_user_string()}:{ev.check_name}"
        for ev in result.get_asset_check_evaluations()
        if not ev.passed
    ]
    logging.getLogger(__name__).debug("run %s finished: %s", result.run_id, result.success)
    success = result.success and not failures
    return RunOutcome(pair, phase, result.run_id, success, failures, failed_checks, tracebacks)


def failures_of(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    """(["<step key>: <root message>", ...], [the stack trace of each]) of a run's failed steps."""
    failures, tracebacks = [], []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            failures.append(f"{event.step_key}: {root_message(error)}")
            tracebacks.append(f"{event.step_key}:\n{error.to_string() if error else 'failed'}")
    return failures, tracebacks


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


def report_paths(instance: dg.DagsterInstance, run_id: str) -> dict[str, Path]:
    """Every report a run wrote: {"<asset label> <metadata key>": path} from the path metadata of its
    materializations and failures, in the order they were written (files that exist only)."""
    out: dict[str, Path] = {}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        if materialization is None:
            continue
        label = "/".join(layer_and_name(materialization.asset_key))
        for key, value in materialization.metadata.items():
            if isinstance(value, dg.PathMetadataValue) and Path(value.path).is_file():
                out[f"{label} {key}"] = Path(value.path)
    return out
