"""The Dagster instance the workbench runs in, and keeping it healthy.

- `project_instance(paths)`: the instance of the project's own `dagster.yaml` (concurrency pools,
  run queue, storage), with its storage under `<var>/dagster`: the CLI, the tests and `make ui`
  (DAGSTER_HOME = the repository, var = `<repo>/var`) all see the same runs with the same settings.
- A pool slot outlives a process killed with SIGKILL: the run stays STARTED and keeps the slot, and
  every later run waits for it forever. Every run records the process that executes it
  (`record_process`, on its first step); `reclaim_dead_runs` marks runs whose process is gone as
  failed and frees their slots. The CLI calls it before launching, the `instance_health` sensor
  every 30 s while the daemon runs (`make ui`).
- `wait_for_pool` waits for a pool held by a live run without spinning, saying whom it waits for,
  and gives up on SIGTERM / Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import yaml

from migration_assets.defs.naming import POOL
from migration_assets.errors import MigrationError
from migration_assets.settings import PROJECT_ROOT, Paths

PID_TAG, HOST_TAG = "migrate/pid", "migrate/host"
UNFINISHED = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]


def project_instance(paths: Paths, dagster_yaml: Path = PROJECT_ROOT / "dagster.yaml") -> dg.DagsterInstance:
    """The instance of `dagster_yaml` with every relative `var/...` storage path under `paths.var`."""
    config = yaml.safe_load(dagster_yaml.read_text(encoding="utf-8"))
    home = paths.var / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(_rebase(config, paths.var)), encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))


def _rebase(node, var: Path):
    if isinstance(node, dict):
        return {k: _rebase(v, var) for k, v in node.items() if k != "load_from"}
    if isinstance(node, list):
        return [_rebase(v, var) for v in node]
    if isinstance(node, str) and node.startswith("var/"):
        return str(var / node.removeprefix("var/"))
    return node


_TAGGED: set[tuple[str, int]] = set()  # (run id, pid) of the runs this process has tagged


def record_process(context) -> None:
    """Tag the running run with this process, once per run and process, so a later run can tell it is
    dead. (The run a step sees keeps the tags it started with, so they cannot tell whether it is tagged.)"""
    run = context.run if hasattr(context, "run") else context.dagster_run
    key = (run.run_id, os.getpid())
    if key not in _TAGGED:
        context.instance.add_run_tags(run.run_id, {PID_TAG: str(key[1]), HOST_TAG: socket.gethostname()})
        _TAGGED.add(key)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead(run: dg.DagsterRun) -> bool:
    pid = run.tags.get(PID_TAG)
    return bool(pid) and run.tags.get(HOST_TAG) == socket.gethostname() and not _alive(int(pid))


def reclaim_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark unfinished runs whose process is gone as failed and free every pool slot held by a run
    that is not running any more. Returns the ids of the runs it reclaimed."""
    reclaimed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        if _dead(run):
            instance.report_run_failed(
                run, "the process running it is gone (killed or crashed): marked failed, its pool slots freed"
            )
            reclaimed.append(run.run_id)
    storage = instance.event_log_storage
    for pool in _pools(instance):
        info = storage.get_concurrency_info(pool)
        for run_id in info.active_run_ids | info.pending_run_ids:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return reclaimed


def _pools(instance: dg.DagsterInstance) -> list[str]:
    return sorted({POOL, *instance.event_log_storage.get_concurrency_keys()})


def holders(instance: dg.DagsterInstance, pool: str = POOL) -> list[dg.DagsterRun]:
    """The live runs holding a slot of `pool`."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    runs = [instance.get_run_by_id(run_id) for run_id in sorted(info.active_run_ids)]
    return [r for r in runs if r is not None and not r.is_finished]


def wait_for_pool(
    instance: dg.DagsterInstance, *, say: Callable[[str], None], poll_seconds: float = 2.0, pool: str = POOL
) -> None:
    """Block (sleeping, not spinning) until `pool` has a free slot, telling `say` whom it waits for.

    Raises:
        MigrationError: interrupted by SIGTERM or Ctrl-C while waiting (nothing was started).
    """
    limit = instance.event_log_storage.get_concurrency_info(pool).limit or 1
    stopped = {"signal": None}

    def stop(signum, _frame):
        stopped["signal"] = signum

    previous = signal.signal(signal.SIGTERM, stop)
    last_said = ""
    try:
        while len(busy := holders(instance, pool)) >= limit:
            reclaim_dead_runs(instance)
            message = "waiting for pool {}: held by {}".format(
                pool, ", ".join(f"run {r.run_id[:8]} ({r.job_name}, pid {r.tags.get(PID_TAG, '?')})" for r in busy)
            )
            if message != last_said:
                say(message)
                last_said = message
            time.sleep(poll_seconds)
            if stopped["signal"] is not None:
                raise MigrationError(f"stopped while {message}; nothing was started")
    except KeyboardInterrupt:
        raise MigrationError("interrupted while waiting for a pool slot; nothing was started") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_instance_health_sensor() -> dg.SensorDefinition:
    """Every 30 s while the daemon runs: reclaim runs whose process died (frees their pool slots)."""

    @dg.sensor(
        name="instance_health",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks runs whose process died (kill -9, crash) as failed and frees the concurrency-pool "
        "slots they held, so no later run waits forever.",
    )
    def _health(context: dg.SensorEvaluationContext):
        reclaimed = reclaim_dead_runs(context.instance)
        return dg.SkipReason(f"reclaimed {len(reclaimed)} run(s): {', '.join(reclaimed)}" if reclaimed else "healthy")

    return _health
