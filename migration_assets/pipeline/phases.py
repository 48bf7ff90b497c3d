"""Phases are partitions: one dynamic partition set per pair (`sample`, `full`, `delta-<end>`)."""

from __future__ import annotations

import dagster as dg

BASE_PHASES = ("sample", "full")


def phases_def(pair: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=f"{pair}__phase")


def ensure_phases(instance: dg.DagsterInstance, pair: str, extra: tuple[str, ...] = ()) -> None:
    """Add the base phase keys (and `extra`) to the instance; adding existing keys is a no-op."""
    name = phases_def(pair).name
    have = set(instance.get_dynamic_partitions(name))
    missing = [k for k in dict.fromkeys((*BASE_PHASES, *extra)) if k not in have]
    if missing:
        instance.add_dynamic_partitions(name, missing)


def current_phase(context) -> str:
    """The phase of a step: its partition key (asset checks read it from the run tags)."""
    tags = context.run.tags if hasattr(context, "run") else context.dagster_run.tags
    key = tags.get("dagster/partition")
    if not key:
        raise dg.Failure("this step needs a phase: run it for a partition (sample, full or delta-...)")
    return key
