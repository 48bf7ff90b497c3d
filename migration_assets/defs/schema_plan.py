"""Materialize a pair's schema plan alone: plan/schema_diff of a phase with the extracts and the
discovered custom fields it reads, and nothing that writes to the destination.

Used where the plan is needed before any run, e.g. `migrate sandbox apply-schema-plan` for a
destination whose custom schema its admin creates by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from migration_assets.defs.naming import asset_key, migrate_job_name
from migration_assets.defs.phases import ensure_phases
from migration_assets.defs.runner import execute
from migration_assets.spec.loader import LoadedSpec


def plan_keys(loaded: LoadedSpec) -> list[dg.AssetKey]:
    """plan/schema_diff and what it reads: every extract the spec uses and plan/custom_fields."""
    objects = loaded.spec.objects.values()
    sources = {o.source for o in objects} | {j.source for o in objects for j in o.join.values()}
    keys = [asset_key(loaded.pair, "extract", s) for s in sorted(sources)]
    if any(o.custom_fields for o in objects):
        keys.append(asset_key(loaded.pair, "plan", "custom_fields"))
    return [*keys, asset_key(loaded.pair, "plan", "schema_diff")]


def run_schema_plan(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    loaded: LoadedSpec,
    phase: str = "sample",
    *,
    verbose: bool = True,
    on_event: Callable[[Any], None] | None = None,
) -> dg.ExecuteInProcessResult:
    """Write the schema plan of `phase` (`<reports>/<pair>/schema_diff_<phase>.{md,json}`), recorded in
    the instance like any run (Dagster's engine events on the console only when `verbose`).

    Returns:
        The ExecuteInProcessResult (raise_on_error=False).
    """
    ensure_phases(instance, loaded.pair, (phase,))
    job = defs.resolve_job_def(migrate_job_name(loaded.pair))
    return execute(
        job,
        instance,
        verbose=verbose,
        on_event=on_event,
        partition_key=phase,
        asset_selection=plan_keys(loaded),
        tags={"pair": loaded.pair},
    )
