"""`load/<object>`: one asset per destination object, in lookup order, upserting by external id.

Each load first refuses what it must not write: an unconfirmed mapping, a staged slice whose gate
did not pass, and (through the guards) a full or delta phase without an approval.
"""

import asyncio
import re
from collections.abc import Callable, Sequence

import dagster as dg
import polars as pl

from migration_assets.defs import metadata as md
from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.discovery.confirmation import confirmation_problem
from migration_assets.engine import lookup_targets, planning
from migration_assets.engine.file_loading import files_report, load_files
from migration_assets.engine.loading import LoadSummary, load_object
from migration_assets.engine.patching import deferred_columns, patch_deferred
from migration_assets.errors import MigrationError
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, ledger, state

Guard = Callable[..., None]  # (context, conn, loaded, phase) -> None, raises dg.Failure to refuse


def build_load_assets(ctx: PairDefs, guards: Sequence[Guard] = ()) -> list[dg.AssetsDefinition]:
    return [_load_asset(ctx, name, guards) for name in ctx.loaded.load_order]


def _load_asset(ctx: PairDefs, obj_name: str, guards: Sequence[Guard]) -> dg.AssetsDefinition:
    loaded = ctx.loaded
    obj = loaded.spec.objects[obj_name]
    parents = sorted(
        {t for _c, lk, t, _s in lookup_targets.every_target(loaded, obj_name) if not lk.deferred} - {obj_name}
    )

    @pair_asset(
        ctx,
        "load",
        obj_name,
        deps=[ctx.key("stage", obj_name), ctx.key("plan", "schema_apply"), *(ctx.key("load", p) for p in parents)],
        description=f"Upserts staged {obj_name} rows into {ctx.destination} table {obj.table} by "
        f"{obj.external_id.column}; every write is in the ledger.",
    )
    def _load(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        phase = context.partition_key
        if refused := confirmation_problem(loaded, obj_name):
            raise dg.Failure(refused)
        with staging.connect(ctx.pair) as conn:
            db.ensure_support_tables(conn)
            state.ensure(conn)
            ledger.ensure(conn)
            passed, why = state.gate_status(conn, obj_name, phase)
            if not passed:
                raise dg.Failure(f"load of {obj_name} refused: {why}")
            for guard in guards:
                guard(context, conn, loaded, phase)
            spec = planning.effective_spec(conn, loaded, phase)
            summary = asyncio.run(_run_load(context, connections, spec, obj_name, phase, conn))
            audit = ledger.history(conn, phase=phase).filter(pl.col("object") == obj_name).tail(20)
            extra = _files_metadata(conn, ctx, obj_name, phase, summary) if obj.file else {}
        context.log.info(
            f"{obj_name}: {summary.created} created, {summary.updated} updated, {summary.skipped} already done, "
            f"{summary.failed} rejected, {summary.unresolved} unresolved lookups in {summary.seconds:.1f}s"
        )
        return dg.MaterializeResult(metadata={**_load_metadata(phase, summary), **extra, "audit_log": _audit(audit)})

    return _load


def _load_metadata(phase: str, summary: LoadSummary) -> dict:
    return {
        "phase": phase,
        "dagster/row_count": summary.written + summary.skipped,
        "created": summary.created,
        "updated": summary.updated,
        "skipped_already_loaded": summary.skipped,
        "rejected": summary.failed,
        "unresolved_lookups": summary.unresolved,
        "batches": summary.batches,
        "seconds": round(summary.seconds, 2),
        "requests": dg.MetadataValue.json(summary.requests),
        "records_per_second": round(summary.written / summary.seconds, 1) if summary.seconds else 0.0,
        "errors": dg.MetadataValue.md(md.md_table(summary.errors)),
        "api_estimate": dg.MetadataValue.json(summary.estimate),
    }


def _audit(audit: pl.DataFrame) -> dg.MetadataValue:
    return md.audit_preview(audit)


def _files_metadata(conn, ctx: PairDefs, obj_name: str, phase: str, summary: LoadSummary) -> dict:
    counts, json_path, md_path = files_report(conn, ctx.paths, ctx.loaded, obj_name, phase, summary)
    return {
        "files_report": dg.MetadataValue.path(str(md_path)),
        "files_report_json": dg.MetadataValue.path(str(json_path)),
        "files_uploaded": counts["uploaded"],
        "bytes_uploaded": counts["bytes_uploaded"],
        "files_skipped": counts["skipped"],
        "files_failed": counts["failed"],
        "files_held": counts["held"],  # the destination cannot take them yet; the next run uploads them
        "files_summary": dg.MetadataValue.md(md_path.read_text()[:4000]),
    }


async def _run_load(
    context, connections: ConnectionsResource, loaded: LoadedSpec, obj_name: str, phase: str, conn
) -> LoadSummary:
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    staged = int((state.stage_counts(conn, obj_name, phase) or {}).get("staged", 0))
    run_id, log = context.run.run_id, progress_log(context.log.info, obj_name, staged, loaded.spec.options.load)
    try:
        if loaded.spec.objects[obj_name].kind == "file":
            source = connections.source(loaded.spec.source)
            try:
                summary = await load_files(loaded, obj_name, phase, conn, source, dest, run_id, log=log)
            finally:
                await source.aclose()
        else:
            summary = await load_object(loaded, obj_name, phase, conn, dest, run_id, log=log)
    except MigrationError as exc:
        raise dg.Failure(f"load of {obj_name} stopped: {exc}") from exc
    finally:
        await dest.aclose()
    summary.requests = dest.session.stats.snapshot()
    if summary.stopped is not None:
        raise budget_failure(obj_name, phase, summary)
    return summary


BATCHES = re.compile(r"(?P<done>\d+)/(?P<total>\d+) batches, (?P<written>\d+) written")


def progress_log(log: Callable[[str], None], obj_name: str, staged: int, options) -> Callable[[str], None]:
    """The engine's load log with its batch counts restated in records ("1,000/2,000 records written
    (10/20 batches)"), which `migrate` draws as a progress bar; other messages pass unchanged."""

    def restated(message: str) -> None:
        found = BATCHES.search(message)
        if found is None:
            log(message)
            return
        done, batches, written = int(found["done"]), int(found["total"]), int(found["written"])
        total = min(batches * options.batch_size, staged) if staged else batches * options.batch_size
        total = max(total, written)
        log(f"{obj_name}: {written:,}/{total:,} records written ({done}/{batches} batches)")

    return restated


def budget_failure(obj_name: str, phase: str, summary: LoadSummary) -> dg.Failure:
    """The resumable stop of a load whose destination ran out of its API budget."""
    exc = summary.stopped
    assert exc is not None
    left = summary.staged - summary.skipped - summary.written - summary.failed - summary.unresolved
    return dg.Failure(
        f"load of {obj_name} stopped by the destination's API budget: {exc}. This run wrote "
        f"{summary.written} rows ({summary.skipped} were already loaded); {left} rows of phase {phase} wait. "
        f"Run phase {phase} again after {exc.resume_after or 'the budget resets'}: confirmed rows are "
        "skipped, so nothing is redone or duplicated.",
        metadata={
            "resume_after": exc.resume_after or "",
            "written": summary.written,
            "skipped_already_loaded": summary.skipped,
            "rows_waiting": left,
            "api_estimate": dg.MetadataValue.json(summary.estimate),
            "requests": dg.MetadataValue.json(summary.requests),
        },
        allow_retries=False,
    )


def build_patch_assets(ctx: PairDefs) -> list[dg.AssetsDefinition]:
    """`patch/<object>` for every object with `deferred: true` lookups (how a lookup cycle is broken)."""
    return [_patch_asset(ctx, name) for name in ctx.loaded.load_order if deferred_columns(ctx.loaded, name)]


def _patch_asset(ctx: PairDefs, obj_name: str) -> dg.AssetsDefinition:
    loaded = ctx.loaded
    targets = sorted(set(deferred_columns(loaded, obj_name).values()))

    @pair_asset(
        ctx,
        "patch",
        obj_name,
        deps=[ctx.key("load", obj_name), *(ctx.key("load", t) for t in targets if t != obj_name)],
        description=f"Writes the deferred lookups of {obj_name} ({', '.join(deferred_columns(loaded, obj_name))}) "
        "once their targets are loaded: the second pass that breaks a lookup cycle.",
    )
    def _patch(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(ctx.pair) as conn:
            ledger.ensure(conn)
            spec = planning.effective_spec(conn, loaded, phase)
            summary = asyncio.run(_run_patch(context, connections, spec, obj_name, phase, conn))
        return dg.MaterializeResult(
            metadata={
                "phase": phase,
                "patched": summary.patched,
                "without_target": summary.unresolved,
                "rejected": summary.failed,
                "errors": dg.MetadataValue.md(md.md_table(summary.errors)),
            }
        )

    return _patch


async def _run_patch(context, connections: ConnectionsResource, loaded: LoadedSpec, obj_name: str, phase: str, conn):
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    try:
        return await patch_deferred(loaded, obj_name, phase, conn, dest, context.run.run_id, log=context.log.info)
    except MigrationError as exc:
        raise dg.Failure(f"patch of {obj_name} stopped: {exc}") from exc
    finally:
        await dest.aclose()
