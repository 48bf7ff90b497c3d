"""Phases are partitions: one dynamic partition set per pair (`sample`, `full`, `delta-<end>`).

Any other key (the UI's "+ Add a partition" accepts anything) is refused by the first step of a
run before it reads or writes, and removed from the instance so it leaves no phantom partition.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dagster as dg

from migration_assets.defs.naming import phases_name

BASE_PHASES = ("sample", "full")
DELTA = re.compile(r"^delta-\d{8}T\d{6}Z$")


def phases_def(pair: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=phases_name(pair))


def is_phase(key: str) -> bool:
    """`sample`, `full` or `delta-<UTC window end as YYYYMMDDTHHMMSSZ>`."""
    return key in BASE_PHASES or bool(DELTA.match(key))


def phase_problem(key: str | None) -> str | None:
    """Why `key` is not a phase (None when it is one)."""
    if not key:
        return "this step needs a phase: run it for a partition (sample, full or delta-<YYYYMMDDTHHMMSSZ>)"
    if is_phase(key):
        return None
    return (
        f"{key!r} is not a phase: use sample, full, or delta-<YYYYMMDDTHHMMSSZ> (delta keys are added by "
        "`migrate run PAIR --phase delta` or the delta sensor); nothing was read or written"
    )


def delta_partition_key(moment: datetime) -> str:
    return "delta-" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ensure_phases(instance: dg.DagsterInstance, pair: str, extra: tuple[str, ...] = ()) -> None:
    """Add the base phase keys (and `extra`) to the instance; adding existing keys is a no-op."""
    name = phases_name(pair)
    have = set(instance.get_dynamic_partitions(name))
    missing = [k for k in dict.fromkeys((*BASE_PHASES, *extra)) if k not in have]
    if missing:
        instance.add_dynamic_partitions(name, missing)


def forget_phase(instance: dg.DagsterInstance, pair: str, key: str) -> None:
    """Remove a delta or invalid key that no run materialized (a refused or failed run's key)."""
    if key in BASE_PHASES:
        return
    if instance.has_dynamic_partition(phases_name(pair), key):
        instance.delete_dynamic_partition(phases_name(pair), key)


def run_phase_key(context) -> str | None:
    """The partition key of a step (asset checks and ops read it from the run tags)."""
    run = context.run if hasattr(context, "run") else context.dagster_run
    return run.tags.get("dagster/partition")


def current_phase(context) -> str:
    """The phase of a step; refuses (and forgets) a key that is not a phase."""
    key = run_phase_key(context)
    problem = phase_problem(key)
    if problem:
        run = context.run if hasattr(context, "run") else context.dagster_run
        if key and run.tags.get("pair"):
            forget_phase(context.instance, run.tags["pair"], key)
        raise dg.Failure(problem, allow_retries=False)
    assert key is not None
    return key
