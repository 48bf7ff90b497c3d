"""Turn one loaded spec into the Dagster definitions of its pair. No pair-specific code here.

Example:
    defs = build_pair_defs(load_spec("mapping_specs/case_status__dynamics365.yaml"), default_paths())
    # assets: case_status__dynamics365/{extract,plan,stage,load,verify,export}/..., jobs
    # case_status__dynamics365__{migrate,plan,approve,rollback}, partitions case_status__dynamics365__phase
"""

from __future__ import annotations

import dagster as dg

from migration_assets.defs.cutover import approval_guard, approval_job, build_approval_asset, build_approval_gate
from migration_assets.defs.delta import build_delta_sensor
from migration_assets.defs.discover import build_discover_assets, build_plan_job
from migration_assets.defs.export import build_export_assets
from migration_assets.defs.extract import build_extract_assets
from migration_assets.defs.layers import PairDefs
from migration_assets.defs.load import build_load_assets, build_patch_assets
from migration_assets.defs.naming import migrate_job_name
from migration_assets.defs.phases import phases_def
from migration_assets.defs.plan import (
    build_custom_fields_asset,
    build_owners_asset,
    build_schema_apply_asset,
    build_schema_diff_asset,
)
from migration_assets.defs.rollback import build_rollback_job
from migration_assets.defs.stage import build_sample_asset, build_stage_assets, build_stage_checks
from migration_assets.defs.verify import build_diff_asset, build_reconciliation_asset
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec


def build_pair_defs(loaded: LoadedSpec, paths: Paths) -> dg.Definitions:
    """Assets, checks, jobs and the delta sensor of one pair (resources are shared, see definitions)."""
    ctx = PairDefs(loaded, phases_def(loaded.pair), paths)
    plans = [build_custom_fields_asset(ctx), build_owners_asset(ctx), build_schema_diff_asset(ctx)]
    assets = [
        build_approval_gate(ctx),
        *(a for a in plans if a is not None),
        build_schema_apply_asset(ctx),
        *build_extract_assets(ctx),
        build_sample_asset(ctx),
        *build_stage_assets(ctx),
        *build_load_assets(ctx, guards=(approval_guard,)),
        *build_patch_assets(ctx),
        build_diff_asset(ctx),
        build_reconciliation_asset(ctx),
        *build_export_assets(ctx),  # cheap, nothing loaded: part of every migrate run
    ]
    approval = build_approval_asset(ctx)
    migrate = dg.define_asset_job(
        migrate_job_name(ctx.pair),
        selection=dg.AssetSelection.assets(*assets),
        executor_def=dg.in_process_executor,
        tags={"pair": ctx.pair},
        description=f"Extract, stage, load and verify {ctx.pair} for one phase (partition).",
    )
    return dg.Definitions(
        assets=[*assets, approval, *build_discover_assets(ctx)],
        asset_checks=build_stage_checks(ctx),
        jobs=[migrate, approval_job(ctx, approval), build_rollback_job(ctx), build_plan_job(ctx)],
        sensors=[build_delta_sensor(ctx)],
    )
