"""`plan/sample` and `stage/<object>` of a pair, and the blocking gate on every staged table."""

from dataclasses import replace

import dagster as dg
import polars as pl

from migration_assets.checks.stage_gate import run_gate
from migration_assets.defs import metadata as md
from migration_assets.defs.extract import source_objects
from migration_assets.defs.layers import PairDefs, pair_asset, pair_check
from migration_assets.defs.phases import current_phase
from migration_assets.defs.resources import StagingResource
from migration_assets.engine import flags, hierarchy, planning
from migration_assets.engine.problems import FIELD, VALUE
from migration_assets.engine.sampling import select_sample
from migration_assets.engine.transform import EXT, REASON, SRC, stage_frame
from migration_assets.staging import db, state
from migration_assets.staging.tables import extract_table, stage_table


def build_sample_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded = ctx.loaded

    @pair_asset(
        ctx,
        "plan",
        "sample",
        deps=[ctx.key("extract", s) for s in source_objects(loaded)],
        kinds={"polars"},
        description="Records of the sample phase: the anchor object stratified, plus the parents and "
        "children their lookups need. Other phases take every extracted record.",
    )
    def _sample(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key
        if phase != "sample":
            return dg.MaterializeResult(metadata={"phase": phase, "note": "not the sample phase: nothing to select"})
        with staging.connect(ctx.pair) as conn:
            db.ensure_support_tables(conn)
            raw = {
                s: planning.corrected(conn, loaded, s, db.read_slice(conn, extract_table(s), phase))
                for s in source_objects(loaded)
            }
            chosen = select_sample(loaded, raw)
            frame = pl.DataFrame(
                [{"object": o, "external_id": e} for o, ids in chosen.items() for e in sorted(ids)],
                schema={"object": pl.String, "external_id": pl.String},
            )
            db.replace_rows(conn, "sample_keys", frame, "true", [])
        counts = {o: len(ids) for o, ids in chosen.items()}
        return dg.MaterializeResult(
            metadata={"phase": phase, "records": dg.MetadataValue.json(counts), "dagster/row_count": frame.height}
        )

    return _sample


def build_stage_assets(ctx: PairDefs) -> list[dg.AssetsDefinition]:
    return [_stage_asset(ctx, name) for name in ctx.loaded.load_order]


def _stage_asset(ctx: PairDefs, obj_name: str) -> dg.AssetsDefinition:
    loaded = ctx.loaded
    obj = loaded.spec.objects[obj_name]
    sources = sorted({obj.source, *(j.source for j in obj.join.values()), *hierarchy.extra_sources(loaded, obj_name)})

    @pair_asset(
        ctx,
        "stage",
        obj_name,
        deps=[
            *(ctx.key("extract", s) for s in sources),
            ctx.key("plan", "sample"),
            ctx.key("plan", "schema_diff"),  # decides the spec variant
            *([ctx.key("plan", "owners")] if obj.owners else []),
        ],
        description=obj.description or f"{obj.source} → {obj.table}",
        metadata={
            "mapping": dg.MetadataValue.md(md.mapping_yaml(loaded, obj_name)),
            "dagster/column_schema": md.declared_columns(loaded, obj_name),
        },
    )
    def _stage(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(ctx.pair) as conn:
            db.ensure_support_tables(conn)
            state.ensure(conn)
            raw = planning.corrected(conn, loaded, obj.source, db.read_slice(conn, extract_table(obj.source), phase))
            planning.record_corrections(conn, phase, loaded, obj.source, raw, context.run.run_id)
            spec = planning.effective_spec(conn, loaded, phase)
            inputs = planning.stage_inputs(conn, phase, spec, obj_name)
            result = hierarchy.apply(conn, spec, obj_name, phase, stage_frame(spec, obj_name, raw, inputs), raw, inputs)
            hierarchy.record(conn, phase, obj_name, result)
            staged, quarantined, excluded = _apply_sample(conn, phase, obj_name, result)
            db.write_slice(conn, stage_table(obj_name), staged, phase)
            _write_rejects(conn, phase, obj_name, quarantined, excluded, context.run.run_id)
            _write_reports(conn, phase, obj_name, _sampled(conn, phase, obj_name, result), context.run.run_id)
            counts = {
                **result.counts(),
                "source": staged.height + quarantined.height + excluded.height,
                "staged": staged.height,
                "quarantined": quarantined.height,
                "excluded": excluded.height,
                **hierarchy.counts(result),
            }
            if phase == "sample":  # what the full run would hold back at staging, before anyone approves
                counts["full_preview_held_back"] = result.quarantined.height
                counts["full_preview_source"] = result.source
            state.record_stage(conn, obj_name, phase, context.run.run_id, counts)
        flagged, flag_report = flags.write_report(
            ctx.paths.report_dir(ctx.pair), obj_name, phase, obj, result.flags, set(staged[EXT].to_list())
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
                "truncated": dg.MetadataValue.json(result.truncated),
                "partial_records": result.partial.select(EXT).n_unique() if result.partial.height else 0,
                "substitutions": result.notes.height,
                "hierarchy": md.table_preview(result.hierarchy),
                "duplicate_groups": md.table_preview(result.duplicates),
                "quarantine": md.table_preview(quarantined.select(EXT, SRC, REASON)),
                "exclusions": md.table_preview(excluded),
                "dagster/column_schema": md.column_schema(staged, md.column_descriptions(loaded, obj_name)),
                "dagster/column_lineage": md.column_lineage(loaded, obj_name),
                **({"flagged": dg.MetadataValue.json(flagged)} if flagged else {}),
                **({"flags_report": dg.MetadataValue.path(str(flag_report))} if flag_report else {}),
            }
        )

    return _stage


def _sampled(conn, phase: str, obj_name: str, result):
    """The result's per-record reports limited to the sample's records (in the sample phase)."""
    if phase != "sample":
        return result
    keys = conn.sql("select external_id from sample_keys where object = $1", params=[obj_name]).pl()["external_id"]
    keep = pl.col(EXT).is_in(keys.to_list())
    partial = result.partial.filter(keep) if result.partial.height else result.partial
    notes = result.notes.filter(keep) if result.notes.height else result.notes
    return replace(result, partial=partial, notes=notes)


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
        pl.col(FIELD).alias("field"),
        pl.col(VALUE).alias("value"),
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


def _write_reports(conn, phase: str, obj_name: str, result, run_id: str) -> None:
    """Partial records and substitutions of the staged rows, per record (replaced per phase)."""
    for table, frame, text in (("partial_fields", result.partial, "reason"), ("substitutions", result.notes, "note")):
        rows = (
            frame.select(
                pl.lit(phase).alias("_phase"),
                pl.lit(obj_name).alias("object"),
                pl.col(EXT).alias("external_id"),
                pl.col(SRC).alias("source_id"),
                pl.col("column"),
                pl.col("text").alias(text),
                pl.lit(run_id).alias("run_id"),
            )
            if frame.height
            else pl.DataFrame()
        )
        where = "_phase = ? and object = ?"
        if table == "substitutions":  # the load's own notes (lookups written empty) stay
            rows = rows.with_columns(pl.lit("stage").alias("step")) if rows.height else rows
            where += " and coalesce(step, 'stage') = 'stage'"
        db.replace_rows(conn, table, rows, where, [phase, obj_name])


def build_stage_checks(ctx: PairDefs) -> list[dg.AssetChecksDefinition]:
    return [_gate(ctx, name) for name in ctx.loaded.load_order]


def _gate(ctx: PairDefs, obj_name: str) -> dg.AssetChecksDefinition:
    @pair_check(
        ctx,
        "stage",
        obj_name,
        "schema_gate",
        blocking=True,
        description="pandera (polars) schema generated from the spec; a failure blocks the load.",
    )
    def _check(context, staging: StagingResource) -> dg.AssetCheckResult:
        phase = current_phase(context)
        with staging.connect(ctx.pair) as conn:
            state.ensure(conn)
            frame = db.read_slice(conn, stage_table(obj_name), phase)
            spec = planning.effective_spec(conn, ctx.loaded, phase)
            passed, failures = run_gate(spec, obj_name, frame, planning.custom_fields(conn))
            state.record_gate(conn, obj_name, phase, passed)
        meta = {"phase": phase, "rows_checked": frame.height}
        if failures is not None:
            summary = failures.group_by("column", "check").len().sort("len", descending=True)
            meta["failures"] = dg.MetadataValue.md(md.md_table(summary.to_dicts()))
            meta["failure_cases"] = md.table_preview(failures.select(pl.all().cast(pl.String)))
        return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.ERROR, metadata=meta)

    return _check
