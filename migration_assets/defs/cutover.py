"""The approval of a pair's verified sample: an asset a person materializes, its job, and the load
guard that refuses full and delta loads without it. Generic: nothing here knows a system."""

import dagster as dg

from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.naming import approval_job_name
from migration_assets.defs.resources import StagingResource
from migration_assets.errors import ApprovalRequired
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import approvals


class SampleApproval(dg.Config):
    """Who approves the sample, and why; the Launchpad asks for it."""

    approver: str
    note: str = ""
    override: str = ""  # why a sample whose diff or reconciliation found problems is approved anyway


def build_approval_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded = ctx.loaded

    @pair_asset(
        ctx,
        "cutover",
        "approval",
        deps=[ctx.key("verify", "diff")],
        partitioned=False,
        description="A person's approval of the verified sample run under the current spec hash. The full "
        "and delta loads refuse to run without it; editing the spec invalidates it.",
    )
    def _approval(context, config: SampleApproval, staging: StagingResource) -> dg.MaterializeResult:
        with staging.connect(ctx.pair) as conn:
            try:
                approval = approvals.approve(
                    conn, ctx.pair, loaded.content_hash, config.approver, config.note, override_reason=config.override
                )
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
                "override_reason": approval.override_reason or "",
                "approved_at": approval.approved_at.isoformat(),
            }
        )

    return _approval


def build_approval_gate(ctx: PairDefs) -> dg.AssetsDefinition:
    """`plan/approval_gate`: the first step of every run. A full or delta run without an approval of
    the current spec stops here, before anything is extracted, staged or created."""

    @pair_asset(
        ctx,
        "plan",
        "approval_gate",
        kinds={"human"},
        description="Lets the phase go ahead: the sample always; full and delta only with an approval of the "
        "verified sample under the current spec hash (see cutover/approval).",
    )
    def _gate(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(ctx.pair) as conn:
            approvals.ensure(conn)
            try:
                approval = approvals.require(conn, ctx.pair, ctx.loaded.content_hash, phase)
            except ApprovalRequired as exc:
                raise dg.Failure(f"{phase} run refused: {exc}", allow_retries=False) from exc
        meta = {"phase": phase, "spec_hash": ctx.loaded.content_hash}
        if approval is not None:
            meta |= {"approver": approval.approver, "approved_at": approval.approved_at.isoformat()}
        return dg.MaterializeResult(metadata=meta)

    return _gate


def approval_guard(context, conn, loaded: LoadedSpec, phase: str) -> None:
    """Load guard: full and delta loads need an approval for the current spec hash."""
    try:
        approvals.require(conn, loaded.pair, loaded.content_hash, phase)
    except ApprovalRequired as exc:
        raise dg.Failure(f"load refused: {exc}") from exc


def approval_job(ctx: PairDefs, approval: dg.AssetsDefinition):
    return dg.define_asset_job(
        approval_job_name(ctx.pair),
        selection=dg.AssetSelection.assets(approval),
        executor_def=dg.in_process_executor,
        tags={"pair": ctx.pair},
        description="Approve the verified sample of this pair.",
    )
