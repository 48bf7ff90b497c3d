"""Extract, sample and stage assets of a pair, and the blocking gate on every staged table."""

from __future__ import annotations

import asyncio
import json

import dagster as dg
import polars as pl

from migration_assets.checks.stage_gate import run_gate
from migration_assets.pipeline import metadata as md
from migration_assets.pipeline import planning
from migration_assets.pipeline.extracting import extract_all
from migration_assets.pipeline.naming import asset_key, extract_table, stage_table
from migration_assets.pipeline.phases import current_phase
from migration_assets.pipeline.plan_assets import schema_diff_key
from migration_assets.pipeline.resources import ConnectionsResource, staging, staging_resource_key
from migration_assets.pipeline.sampling import select_sample
from migration_assets.pipeline.transform import EXT, REASON, SRC, stage_frame
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, state

POOL = "duckdb"


def source_objects(loaded: LoadedSpec) -> list[str]:
    """Every source object the spec reads: mapped objects and the people owners resolve through."""
    users = [loaded.spec.users.source] if loaded.spec.users else []
    joined = [j.source for o in loaded.spec.objects.values() for j in o.join.values()]
    return sorted({*(o.source for o in loaded.spec.objects.values()), *users, *joined})


def build_extract_assets(loaded: LoadedSpec, phases: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [_extract_asset(loaded, source_object, phases) for source_object in source_objects(loaded)]


def _extract_asset(loaded: LoadedSpec, source_object: str, phases) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.source

    @dg.asset(
        key=asset_key(pair, "extract", source_object),
        group_name=pair,
        partitions_def=phases,
        kinds={system, "duckdb"},
        pool=POOL,
        tags={"layer": "extract"},
        required_resource_keys={"connections", staging_resource_key(pair)},
        description=f"Raw {system} `{source_object}` records of the phase, every value as text.",
    )
    def _extract(context) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging(context, pair) as conn:
            state.ensure(conn)
            since = state.delta_since(conn, source_object) if phase.startswith("delta-") else None
            frame, deletions = asyncio.run(_extract_frame(context.resources.connections, system, source_object, since))
            db.write_slice(conn, extract_table(source_object), frame, phase)
            state.record_extract(conn, phase, source_object, frame, loaded.source_catalog[source_object].updated_field)
            state.record_deletions(conn, phase, source_object, deletions)
            checkpoint = state.checkpoint(conn, source_object) or ""
        context.log.info(f"extracted {frame.height} {source_object} records for {phase}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": frame.height,
                "phase": phase,
                "since": since or "",
                "checkpoint": checkpoint,
                "deleted_in_source": len(deletions),
                "deletions": md.table_preview(pl.DataFrame([d.__dict__ for d in deletions])),
                "dagster/column_schema": md.column_schema(frame),
            }
        )

    return _extract


async def _extract_frame(connections: ConnectionsResource, system: str, obj: str, since: str | None):
    """The records of `obj` (changed since `since` when given) and, for a delta, its deletions:
    deletions are reported, never applied to the destination."""
    source = connections.source(system)
    try:
        frame = await extract_all(source, obj, since=since)
        deletions = [d for d in await source.deleted_since(since) if d.object == obj] if since else []
        return frame, deletions
    finally:
        await source.aclose()


def build_sample_asset(loaded: LoadedSpec, phases: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    pair = loaded.pair

    @dg.asset(
        key=asset_key(pair, "plan", "sample"),
        group_name=pair,
        partitions_def=phases,
        pool=POOL,
        deps=[asset_key(pair, "extract", s) for s in source_objects(loaded)],
        kinds={"polars", "duckdb"},
        required_resource_keys={staging_resource_key(pair)},
        tags={"layer": "plan"},
        description="Records of the sample phase: the anchor object stratified, plus the parents and "
        "children their lookups need. Other phases take every extracted record.",
    )
    def _sample(context) -> dg.MaterializeResult:
        phase = context.partition_key
        if phase != "sample":
            return dg.MaterializeResult(metadata={"phase": phase, "note": "not the sample phase: nothing to select"})
        with staging(context, pair) as conn:
            db.ensure_support_tables(conn)
            raw = {s: db.read_slice(conn, extract_table(s), phase) for s in source_objects(loaded)}
            chosen = select_sample(loaded, raw)
            frame = pl.DataFrame(
                [{"object": o, "external_id": e} for o, ids in chosen.items() for e in sorted(ids)],
                schema={"object": pl.String, "external_id": pl.String},
            )
            db.replace_rows(conn, "sample_keys", frame, "true", [])
        counts = {o: len(ids) for o, ids in chosen.items()}
        return dg.MaterializeResult(
            metadata={
                "phase": phase,
                "records": dg.MetadataValue.json(counts),
                "dagster/row_count": frame.height,
            }
        )

    return _sample


def build_stage_assets(loaded: LoadedSpec, phases: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [_stage_asset(loaded, name, phases) for name in loaded.load_order]


def _stage_asset(loaded: LoadedSpec, obj_name: str, phases) -> dg.AssetsDefinition:
    pair = loaded.pair
    obj = loaded.spec.objects[obj_name]

    @dg.asset(
        key=asset_key(pair, "stage", obj_name),
        group_name=pair,
        partitions_def=phases,
        pool=POOL,
        deps=[
            *(asset_key(pair, "extract", s) for s in sorted({obj.source, *(j.source for j in obj.join.values())})),
            asset_key(pair, "plan", "sample"),
            schema_diff_key(pair),  # decides the spec variant
            *([asset_key(pair, "plan", "owners")] if obj.owners else []),
        ],
        kinds={"polars", "duckdb"},
        tags={"layer": "stage"},
        required_resource_keys={staging_resource_key(pair)},
        description=obj.description or f"{obj.source} → {obj.table}",
        metadata={"mapping": dg.MetadataValue.md(md.mapping_markdown(loaded, obj_name))},
    )
    def _stage(context) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging(context, pair) as conn:
            db.ensure_support_tables(conn)
            state.ensure(conn)
            raw = db.read_slice(conn, extract_table(obj.source), phase)
            spec = planning.effective_spec(conn, loaded, phase)
            result = stage_frame(spec, obj_name, raw, planning.stage_inputs(conn, phase, spec, obj_name))
            staged, quarantined, excluded = _apply_sample(conn, phase, obj_name, result)
            db.write_slice(conn, stage_table(obj_name), staged, phase)
            _write_rejects(conn, phase, obj_name, quarantined, excluded, context.run.run_id)
            state.record_stage(
                conn,
                obj_name,
                phase,
                context.run.run_id,
                {
                    **result.counts(),
                    "source": staged.height + quarantined.height + excluded.height,
                    "staged": staged.height,
                    "quarantined": quarantined.height,
                    "excluded": excluded.height,
                },
            )
        context.log.info(
            f"{obj_name}: {staged.height} staged, {quarantined.height} quarantined, {excluded.height} excluded"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": staged.height,
                "phase": phase,
                "quarantined": quarantined.height,
                "excluded": excluded.height,
                "merged": result.merged if phase != "sample" else 0,
                "duplicates": result.duplicates.height,
                "duplicate_groups": md.table_preview(result.duplicates),
                "quarantine": md.table_preview(quarantined.select(EXT, SRC, REASON)),
                "exclusions": md.table_preview(excluded),
                "dagster/column_schema": md.column_schema(staged),
                "dagster/column_lineage": md.column_lineage(loaded, obj_name),
            }
        )

    return _stage


def _apply_sample(conn, phase: str, obj_name: str, result):
    if phase != "sample":
        return result.staged, result.quarantined, result.excluded
    keys = conn.sql("select external_id from sample_keys where object = $1", params=[obj_name]).pl()["external_id"]
    keep = pl.col(EXT).is_in(keys.to_list())
    return result.staged.filter(keep), result.quarantined.filter(keep), result.excluded.filter(keep)


def _write_rejects(conn, phase, obj_name, quarantined: pl.DataFrame, excluded: pl.DataFrame, run_id: str) -> None:
    q = quarantined.select(
        pl.lit(phase).alias("_phase"),
        pl.lit(obj_name).alias("object"),
        pl.col(EXT).alias("external_id"),
        pl.col(SRC).alias("source_id"),
        pl.lit("stage").alias("step"),
        pl.col(REASON).alias("reason"),
        pl.col("_row").alias("row_json"),
        pl.lit(run_id).alias("run_id"),
    )
    db.replace_rows(conn, "quarantine", q, "_phase = ? and object = ? and step = 'stage'", [phase, obj_name])
    x = excluded.select(
        pl.lit(phase).alias("_phase"),
        pl.lit(obj_name).alias("object"),
        pl.col(EXT).alias("external_id"),
        pl.col(SRC).alias("source_id"),
        pl.col(REASON).alias("reason"),
    )
    db.replace_rows(conn, "excluded", x, "_phase = ? and object = ?", [phase, obj_name])


def build_stage_checks(loaded: LoadedSpec) -> list[dg.AssetChecksDefinition]:
    return [_gate(loaded, name) for name in loaded.load_order]


def _gate(loaded: LoadedSpec, obj_name: str) -> dg.AssetChecksDefinition:
    pair = loaded.pair

    @dg.asset_check(
        asset=asset_key(pair, "stage", obj_name),
        name="schema_gate",
        blocking=True,
        pool=POOL,
        required_resource_keys={staging_resource_key(pair)},
        description="pandera (polars) schema generated from the spec; a failure blocks the load.",
    )
    def _check(context) -> dg.AssetCheckResult:
        phase = current_phase(context)
        with staging(context, pair) as conn:
            state.ensure(conn)
            frame = db.read_slice(conn, stage_table(obj_name), phase)
            spec = planning.effective_spec(conn, loaded, phase)
            passed, failures = run_gate(spec, obj_name, frame, planning.custom_fields(conn))
            state.record_gate(conn, obj_name, phase, passed)
        meta = {"phase": phase, "rows_checked": frame.height}
        if failures is not None:
            summary = failures.group_by("column", "check").len().sort("len", descending=True)
            meta["failures"] = dg.MetadataValue.md(md.md_table(summary.to_dicts()))
            meta["failure_cases"] = md.table_preview(failures.select(pl.all().cast(pl.String)))
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata=meta)

    return _check


def quarantine_json(row: dict) -> str:
    return json.dumps(row, default=str)
