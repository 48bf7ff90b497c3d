"""Cutover machinery of a pair: the approval asset and the load guard it feeds, the delta-pickup
sensor, and the rollback job. Generic: nothing here knows a source or a destination."""

import asyncio
import json
from datetime import UTC, datetime

import dagster as dg

from migration_assets.errors import ApprovalRequired
from migration_assets.pipeline import planning
from migration_assets.pipeline.naming import asset_key
from migration_assets.pipeline.resources import ConnectionsResource, staging, staging_resource_key
from migration_assets.spec.expressions import parse_datetime
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import approvals

POOL = "duckdb"


def approval_job_name(pair: str) -> str:
    return f"{pair}__approve"


def approval_group(pair: str) -> str:
    # Kept out of the pair's group: selecting the group must not require approval config.
    return f"{pair}__cutover"


class SampleApproval(dg.Config):
    """Who approves the sample, and why; the Launchpad asks for it."""

    approver: str
    note: str = ""


def build_approval_asset(loaded: LoadedSpec) -> dg.AssetsDefinition:
    pair = loaded.pair

    @dg.asset(
        key=asset_key(pair, "cutover", "approval"),
        group_name=approval_group(pair),
        kinds={"human"},
        pool=POOL,
        required_resource_keys={staging_resource_key(pair)},
        tags={"layer": "cutover"},
        deps=[asset_key(pair, "verify", "diff")],
        description="A person's approval of the verified sample run under the current spec hash. The full "
        "and delta loads refuse to run without it; editing the spec invalidates it.",
    )
    def _approval(context, config: SampleApproval) -> dg.MaterializeResult:
        with staging(context, pair) as conn:
            try:
                approval = approvals.approve(conn, pair, loaded.content_hash, config.approver, config.note)
            except ApprovalRequired as exc:
                raise dg.Failure(str(exc)) from exc
        context.log.info(
            f"{approval.approver} approved sample run {approval.sample_run_id} of spec {approval.spec_hash}"
        )
        return dg.MaterializeResult(
            metadata={
                "approver": approval.approver,
                "spec_hash": approval.spec_hash,
                "sample_run_id": approval.sample_run_id,
                "sample_mismatches": approval.sample_mismatches,
                "note": approval.note,
                "approved_at": approval.approved_at.isoformat(),
            }
        )

    return _approval


def approval_guard(context, conn, loaded: LoadedSpec, phase: str) -> None:
    """Load guard: full and delta loads need an approval for the current spec hash."""
    try:
        approvals.require(conn, loaded.pair, loaded.content_hash, phase)
    except ApprovalRequired as exc:
        raise dg.Failure(f"load refused: {exc}") from exc


def approval_job(loaded: LoadedSpec, approval: dg.AssetsDefinition):
    return dg.define_asset_job(
        approval_job_name(loaded.pair),
        selection=dg.AssetSelection.assets(approval),
        executor_def=dg.in_process_executor,
        description="Approve the verified sample of this pair.",
    )


# -- delta pickup --------------------------------------------------------------------------------
def delta_partition_key(moment: datetime) -> str:
    return "delta-" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


async def poll_changes(connections: ConnectionsResource, loaded: LoadedSpec, checkpoints: dict[str, str]) -> dict:
    """Ask the source API which records changed, or were deleted, strictly after each checkpoint."""
    source = connections.source(loaded.spec.source)
    changed: dict[str, int] = {}
    try:
        for obj, since in checkpoints.items():
            mark, field = parse_datetime(since), source.catalog[obj].updated_field or "updated_at"
            count = 0
            async for page in source.extract(obj, since=since):
                count += sum(1 for r in page if (t := parse_datetime(r.get(field))) and t > mark)
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


def checkpoints_from_instance(instance: dg.DagsterInstance, loaded: LoadedSpec, sources: list[str]) -> dict[str, str]:
    """The high-water marks recorded on the latest extract materializations (no DuckDB access, so the
    sensor never contends with a running load for the staging file)."""
    out = {}
    for obj in sources:
        event = instance.get_latest_materialization_event(asset_key(loaded.pair, "extract", obj))
        meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
        mark = meta.get("checkpoint")
        if mark is not None and getattr(mark, "value", None):
            out[obj] = mark.value
    return out


def build_delta_sensor(loaded: LoadedSpec, job_name: str, phases: dg.DynamicPartitionsDefinition, sources: list[str]):
    pair = loaded.pair
    options = loaded.spec.options.delta

    @dg.sensor(
        name=f"{pair}__delta_pickup",
        job_name=job_name,
        minimum_interval_seconds=options.poll_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Polls the {loaded.spec.source} API for records changed since the last full/delta "
        f"checkpoint during the {options.window_hours} h delta window and requests a delta run.",
    )
    def _sensor(context: dg.SensorEvaluationContext, connections: ConnectionsResource):
        checkpoints = checkpoints_from_instance(context.instance, loaded, sources)
        if not checkpoints:
            return dg.SkipReason("no full run has recorded a checkpoint yet")
        opened = _window_opened(context.instance, loaded, sources)
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
            dynamic_partitions_requests=[phases.build_add_request([key])],
            cursor=key,
        )

    return _sensor


def _window_opened(instance: dg.DagsterInstance, loaded: LoadedSpec, sources: list[str]) -> datetime | None:
    """When the full phase was extracted: the delta window opens then."""
    stamps = []
    for obj in sources:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key(loaded.pair, "extract", obj), asset_partitions=["full"]),
            limit=1,
        )
        if result.records:
            stamps.append(datetime.fromtimestamp(result.records[0].timestamp, UTC))
    return max(stamps) if stamps else None


# -- rollback ------------------------------------------------------------------------------------
def rollback_job_name(pair: str) -> str:
    return f"{pair}__rollback"


class RollbackConfig(dg.Config):
    """Roll back one phase (sample, full, delta-...) or, when empty, everything the migration did."""

    phase: str = ""


def build_rollback_job(loaded: LoadedSpec, paths) -> dg.JobDefinition:
    pair = loaded.pair

    @dg.op(
        name=f"{pair}__rollback_destination",
        pool=POOL,
        required_resource_keys={"connections", staging_resource_key(pair)},
        description="Deletes what the migration created and restores the before-images of what it updated.",
    )
    def _rollback(context, config: RollbackConfig) -> dict:
        from migration_assets.pipeline.load_assets import open_destination
        from migration_assets.pipeline.rollback import rollback
        from migration_assets.staging import ledger

        phase = config.phase or None
        dest = open_destination(context, loaded)

        async def go():
            try:
                spec = planning.effective_spec(conn, loaded)  # the tables the loads wrote to
                return await rollback(spec, conn, dest, context.run.run_id, phase=phase, log=context.log.info)
            finally:
                await dest.aclose()

        with staging(context, pair) as conn:
            ledger.ensure(conn)
            summary = asyncio.run(go())
        report = paths.report_dir(pair) / f"rollback-{context.run.run_id[:8]}.json"
        report.write_text(json.dumps(summary.as_dict(), indent=2))
        context.add_output_metadata(
            {
                "deleted": dg.MetadataValue.json(summary.deleted),
                "restored": dg.MetadataValue.json(summary.restored),
                "failed": len(summary.failed),
                "report": dg.MetadataValue.path(str(report)),
            }
        )
        if summary.failed:
            raise dg.Failure(
                f"rollback left {len(summary.failed)} record(s) unrestored; run it again",
                metadata={"failures": dg.MetadataValue.json(summary.failed[:50])},
            )
        return summary.as_dict()

    @dg.job(
        name=rollback_job_name(pair),
        executor_def=dg.in_process_executor,
        tags={"pair": pair},
        description=f"Roll {pair}'s destination back to its pre-migration state (from the ledger).",
    )
    def _job():
        _rollback()

    return _job
