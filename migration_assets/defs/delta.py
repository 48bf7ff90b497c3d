"""The delta-pickup sensor of a pair: polls the source API for records changed (or deleted) since
the last full/delta checkpoint during the delta window, and requests a `delta-<now>` run."""

import asyncio
from datetime import UTC, datetime

import dagster as dg

from migration_assets.defs.extract import source_objects
from migration_assets.defs.layers import PairDefs
from migration_assets.defs.naming import asset_key, delta_sensor_name, migrate_job_name
from migration_assets.defs.phases import delta_partition_key
from migration_assets.defs.resources import ConnectionsResource
from migration_assets.spec.expressions import parse_datetime
from migration_assets.spec.loader import LoadedSpec


async def poll_changes(connections: ConnectionsResource, loaded: LoadedSpec, checkpoints: dict[str, str]) -> dict:
    """Ask the source API which records changed, or were deleted, strictly after each checkpoint."""
    source = connections.source(loaded.spec.source)
    changed: dict[str, int] = {}
    try:
        for obj, since in checkpoints.items():
            mark, field = parse_datetime(since), source.catalog[obj].updated_field
            count = 0
            async for page in source.extract(obj, since=since):
                count += sum(1 for r in page if field and (t := parse_datetime(r.get(field))) and t > mark)
            changed[obj] = count
        deleted = await source.deleted_since(min(checkpoints.values())) if checkpoints else []
    finally:
        await source.aclose()
    gone = [
        d
        for d in deleted
        if d.object in checkpoints and parse_datetime(d.deleted_at) > parse_datetime(checkpoints[d.object])
    ]
    return {"changed": changed, "deleted": len(gone)}


def checkpoints_from_instance(instance: dg.DagsterInstance, pair: str, sources: list[str]) -> dict[str, str]:
    """The high-water marks recorded on the latest extract materializations (no DuckDB access, so the
    sensor never contends with a running load for the staging file)."""
    out = {}
    for obj in sources:
        event = instance.get_latest_materialization_event(asset_key(pair, "extract", obj))
        meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
        mark = meta.get("checkpoint")
        if isinstance(mark, dg.TextMetadataValue) and mark.value:
            out[obj] = mark.value
    return out


def build_delta_sensor(ctx: PairDefs) -> dg.SensorDefinition:
    loaded, pair = ctx.loaded, ctx.pair
    options = loaded.spec.options.delta
    sources = source_objects(loaded)

    @dg.sensor(
        name=delta_sensor_name(pair),
        job_name=migrate_job_name(pair),
        minimum_interval_seconds=options.poll_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Polls the {ctx.source} API for records changed since the last full/delta "
        f"checkpoint during the {options.window_hours} h delta window and requests a delta run.",
    )
    def _sensor(context: dg.SensorEvaluationContext, connections: ConnectionsResource):
        checkpoints = checkpoints_from_instance(context.instance, pair, sources)
        if not checkpoints:
            return dg.SkipReason("no full run has recorded a checkpoint yet")
        opened = _window_opened(context.instance, pair, sources)
        now = datetime.now(UTC)
        if opened and (now - opened).total_seconds() > options.window_hours * 3600:
            return dg.SkipReason(
                f"the {options.window_hours} h delta window opened at {opened:%Y-%m-%d %H:%M}Z has closed"
            )
        polled = asyncio.run(poll_changes(connections, loaded, checkpoints))
        total = sum(polled["changed"].values()) + polled["deleted"]
        if total == 0:
            return dg.SkipReason(f"no changes since {min(checkpoints.values())}")
        key = delta_partition_key(now)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(partition_key=key, run_key=key, tags={"pair": pair, "delta_changes": str(total)})
            ],
            dynamic_partitions_requests=[ctx.phases.build_add_request([key])],
            cursor=key,
        )

    return _sensor


def _window_opened(instance: dg.DagsterInstance, pair: str, sources: list[str]) -> datetime | None:
    """When the full phase was extracted: the delta window opens then."""
    stamps = []
    for obj in sources:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key(pair, "extract", obj), asset_partitions=["full"]), limit=1
        )
        if result.records:
            stamps.append(datetime.fromtimestamp(result.records[0].timestamp, UTC))
    return max(stamps) if stamps else None
