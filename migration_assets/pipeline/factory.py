"""Turn one loaded spec into the Dagster definitions of its pair. No pair-specific code here.

Example:
    defs = build_pair_defs(load_spec("mapping_specs/case_status__dynamics365.yaml"), default_paths())
    # assets: case_status__dynamics365/{extract,plan,stage,load,verify}/..., job
    # case_status__dynamics365__migrate, partitions case_status__dynamics365__phase
"""

from __future__ import annotations

import dagster as dg

from migration_assets.pipeline.cutover_assets import (
    approval_guard,
    approval_job,
    build_approval_asset,
    build_delta_sensor,
    build_rollback_job,
)
from migration_assets.pipeline.discover_assets import build_discover_assets, build_plan_job
from migration_assets.pipeline.export_assets import build_export_assets
from migration_assets.pipeline.load_assets import build_load_assets, build_schema_asset
from migration_assets.pipeline.phases import phases_def
from migration_assets.pipeline.plan_assets import (
    build_custom_fields_asset,
    build_owners_asset,
    build_schema_diff_asset,
)
from migration_assets.pipeline.resources import staging_resource, staging_resource_key
from migration_assets.pipeline.stage_assets import (
    build_extract_assets,
    build_sample_asset,
    build_stage_assets,
    build_stage_checks,
    source_objects,
)
from migration_assets.pipeline.verify_assets import build_diff_asset, build_reconciliation_asset
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec


def migrate_job_name(pair: str) -> str:
    return f"{pair}__migrate"


def build_pair_defs(loaded: LoadedSpec, paths: Paths) -> dg.Definitions:
    """Assets, checks, job and staging resource of one pair."""
    pair = loaded.pair
    phases = phases_def(pair)
    plans = [
        build_custom_fields_asset(loaded, phases, paths),
        build_owners_asset(loaded, phases, paths),
        build_schema_diff_asset(loaded, phases, paths),
    ]
    assets = [
        *(a for a in plans if a is not None),
        build_schema_asset(loaded, phases),
        *build_extract_assets(loaded, phases),
        build_sample_asset(loaded, phases),
        *build_stage_assets(loaded, phases),
        *build_load_assets(loaded, phases, guards=(approval_guard,), paths=paths),
        build_diff_asset(loaded, phases, paths),
        build_reconciliation_asset(loaded, phases, paths),
        *build_export_assets(loaded, phases, paths),  # cheap, nothing loaded: part of every migrate run
    ]
    approval = build_approval_asset(loaded)
    job = dg.define_asset_job(
        migrate_job_name(pair),
        selection=dg.AssetSelection.assets(*assets),
        executor_def=dg.in_process_executor,
        tags={"pair": pair},
        description=f"Extract, stage, load and verify {pair} for one phase (partition).",
    )
    return dg.Definitions(
        assets=[*assets, approval, *build_discover_assets(loaded, phases, paths)],
        asset_checks=build_stage_checks(loaded),
        jobs=[
            job,
            approval_job(loaded, approval),
            build_rollback_job(loaded, paths),
            build_plan_job(loaded, phases, paths),
        ],
        sensors=[build_delta_sensor(loaded, migrate_job_name(pair), phases, source_objects(loaded))],
        resources={staging_resource_key(pair): staging_resource(paths.staging_db(pair))},
    )
