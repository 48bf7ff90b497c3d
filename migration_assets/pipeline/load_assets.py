"""Schema and load assets of a pair: the destination schema the spec needs, then one load asset per
destination object in lookup order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dagster as dg
import polars as pl

from migration_assets.connectors.base import DestinationConnector
from migration_assets.discovery.confirmation import confirmation_problem
from migration_assets.errors import MigrationError
from migration_assets.pipeline import metadata as md
from migration_assets.pipeline import planning
from migration_assets.pipeline.custom_fields import CustomField
from migration_assets.pipeline.file_loading import files_report, load_files_with
from migration_assets.pipeline.loading import LoadSummary, load_object
from migration_assets.pipeline.naming import asset_key
from migration_assets.pipeline.plan_assets import schema_diff_key
from migration_assets.pipeline.resources import ConnectionsResource, staging, staging_resource_key
from migration_assets.settings import Paths, default_paths
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, ledger, state

POOL = "duckdb"


def open_destination(context, loaded: LoadedSpec) -> DestinationConnector:
    connections: ConnectionsResource = context.resources.connections
    return connections.destination(loaded.spec.destination, loaded.spec.destination_options)


def missing_columns(loaded: LoadedSpec, tables, fields: tuple[CustomField, ...] = ()) -> list[str]:
    """Spec columns (mapped, lookups, owners, keys, discovered custom fields) absent from the
    described destination schema."""
    missing = []
    for name, obj in loaded.spec.objects.items():
        info = tables.get(obj.table)
        if info is None:
            missing.append(f"table {obj.table} (object {name})")
            continue
        texts = [o.text_column for o in obj.owners.values() if o.text_column]
        custom = [f.column for f in fields if f.object == name]
        for column in [obj.external_id.column, *obj.fields, *obj.lookups, *obj.owners, *texts, *custom]:
            if column not in info.columns:
                missing.append(f"{obj.table}.{column}")
    return missing


def build_schema_asset(loaded: LoadedSpec, phases: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.destination

    @dg.asset(
        key=asset_key(pair, "plan", "schema_apply"),
        group_name=pair,
        partitions_def=phases,
        deps=[schema_diff_key(pair)],
        kinds={system},
        tags={"layer": "plan"},
        required_resource_keys={"connections", staging_resource_key(pair)},
        description="Creates the custom tables, columns, option values and alternate keys the spec "
        "needs (idempotent), then checks that every mapped column exists. Loads depend on it.",
    )
    def _schema(context) -> dg.MaterializeResult:
        with staging(context, pair) as conn:
            spec = planning.effective_spec(conn, loaded, context.partition_key)
            fields = planning.custom_fields(conn)
        actions, missing = asyncio.run(_apply(open_destination(context, loaded), spec, fields))
        if missing:
            raise dg.Failure(
                f"the {system} schema does not match the spec: missing {', '.join(missing)}",
                metadata={"missing": dg.MetadataValue.json(missing)},
            )
        return dg.MaterializeResult(
            metadata={
                "actions": dg.MetadataValue.json(actions),
                "created": len(actions),
                "destination": dg.MetadataValue.json(context.resources.connections.describe(system)),
            }
        )

    return _schema


async def _apply(
    dest: DestinationConnector, loaded: LoadedSpec, fields: tuple[CustomField, ...]
) -> tuple[list[str], list[str]]:
    try:
        actions = await dest.apply_schema(planning.schema_requirements(loaded, fields))
        tables = {o.table for o in loaded.spec.objects.values()}
        schema = await dest.describe(sorted(tables))
        return actions, missing_columns(loaded, schema.tables, fields)
    finally:
        await dest.aclose()


def build_load_assets(
    loaded: LoadedSpec, phases: dg.PartitionsDefinition, guards: Sequence, paths: Paths | None = None
) -> list[dg.AssetsDefinition]:
    return [_load_asset(loaded, name, phases, guards, paths) for name in loaded.load_order]


def _load_asset(loaded: LoadedSpec, obj_name: str, phases, guards, paths: Paths | None = None) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.destination
    obj = loaded.spec.objects[obj_name]
    parents = sorted({lk.object for lk in obj.lookups.values() if not lk.deferred and lk.object != obj_name})

    @dg.asset(
        key=asset_key(pair, "load", obj_name),
        group_name=pair,
        partitions_def=phases,
        pool=POOL,
        deps=[
            asset_key(pair, "stage", obj_name),
            asset_key(pair, "plan", "schema_apply"),
            *(asset_key(pair, "load", p) for p in parents),
        ],
        kinds={system},
        tags={"layer": "load"},
        required_resource_keys={"connections", staging_resource_key(pair)},
        description=f"Upserts staged {obj_name} rows into {system} table {obj.table} by "
        f"{obj.external_id.column}; every write is in the ledger.",
    )
    def _load(context) -> dg.MaterializeResult:
        phase = context.partition_key
        if refused := confirmation_problem(loaded, obj_name):
            raise dg.Failure(refused)
        with staging(context, pair) as conn:
            db.ensure_support_tables(conn)
            state.ensure(conn)
            ledger.ensure(conn)
            passed, why = state.gate_status(conn, obj_name, phase)
            if not passed:
                raise dg.Failure(f"load of {obj_name} refused: {why}")
            for guard in guards:
                guard(context, conn, loaded, phase)
            spec = planning.effective_spec(conn, loaded, phase)
            summary = asyncio.run(_run_load(context, spec, obj_name, phase, conn))
            audit = ledger.history(conn, phase=phase).filter(pl.col("object") == obj_name).tail(20)
            extra = files_report(conn, paths or default_paths(), loaded, obj_name, phase, summary) if obj.file else {}
        context.log.info(
            f"{obj_name}: {summary.created} created, {summary.updated} updated, {summary.skipped} already done, "
            f"{summary.failed} rejected, {summary.unresolved} unresolved lookups in {summary.seconds:.1f}s"
        )
        return dg.MaterializeResult(
            metadata={
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
                **extra,
                "audit_log": md.table_preview(
                    audit.select(
                        "recorded_at",
                        "operation",
                        "outcome",
                        "source_id",
                        "external_id",
                        "destination_id",
                        "error",
                    )
                ),
            }
        )

    return _load


async def _run_load(context, loaded: LoadedSpec, obj_name: str, phase: str, conn) -> LoadSummary:
    dest = open_destination(context, loaded)
    try:
        if loaded.spec.objects[obj_name].kind == "file":
            summary = await load_files_with(context.resources.connections, loaded, obj_name, phase, conn, dest, context)
        else:
            summary = await load_object(loaded, obj_name, phase, conn, dest, context.run.run_id, log=context.log.info)
    except MigrationError as exc:
        raise dg.Failure(f"load of {obj_name} stopped: {exc}") from exc
    finally:
        await dest.aclose()
    summary.requests = dest.session.stats.snapshot()
    if summary.stopped is not None:
        raise budget_failure(obj_name, phase, summary)
    return summary


def budget_failure(obj_name: str, phase: str, summary: LoadSummary) -> dg.Failure:
    """The resumable stop of a load whose destination ran out of daily API budget."""
    exc = summary.stopped
    assert exc is not None
    left = summary.staged - summary.skipped - summary.written - summary.failed - summary.unresolved
    return dg.Failure(
        f"load of {obj_name} stopped by the destination's daily API budget: {exc}. This run wrote "
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
