"""Discovery, profiling and planning assets of a pair, and its `<pair>__plan` job.

- `discover/source_schema`, `discover/destination_schema` (unpartitioned): read through the
  connectors' APIs;
- `profile/<source object>` (per phase): the extracted records of the phase profiled against the
  spec and the discovered destination;
- `plan/estimate` (unpartitioned): records, requests, batches and duration of every phase, using
  the measured steps of earlier migrate runs; the prediction is also kept in the staging DB;
- `plan/report` (unpartitioned): "N of M objects map 1:1", the complexity grade and its reasons.

Every report is an HTML + JSON pair under `<var>/reports/<pair>/`, linked from the metadata.
"""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from migration_assets.defs import metadata as md
from migration_assets.defs.extract import source_objects
from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.naming import asset_key, plan_job_name
from migration_assets.defs.phases import ensure_phases
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.defs.run_history import history
from migration_assets.defs.runner import execute
from migration_assets.discovery import estimate_store
from migration_assets.discovery.destination_schema import discover_destination
from migration_assets.discovery.estimating import RunMeasure, StepMeasure, calls_per_table
from migration_assets.discovery.plan_report import (
    estimate_pair,
    phase_rows_table,
    plan_report,
    report_folder,
    write_estimate_report,
)
from migration_assets.discovery.profiling import ProfileInputs, profile_object
from migration_assets.discovery.source_schema import SourceSchema, discover_source
from migration_assets.engine import planning
from migration_assets.errors import MigrationError
from migration_assets.reports.discovery_report import read_report, write_report
from migration_assets.reports.index import write_index
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db
from migration_assets.staging.tables import extract_table


def _files_meta(files: dict[str, Path]) -> dict[str, dg.MetadataValue]:
    return {
        "report_html": dg.MetadataValue.path(str(files["html"])),
        "report_json": dg.MetadataValue.path(str(files["json"])),
    }


def build_discover_assets(ctx: PairDefs) -> list[dg.AssetsDefinition]:
    """Discovery, profile, estimate and report assets of one pair."""
    return [
        _source_schema(ctx),
        _destination_schema(ctx),
        *(_profile(ctx, s) for s in source_objects(ctx.loaded)),
        _estimate(ctx),
        _plan_report(ctx),
    ]


def build_plan_job(ctx: PairDefs):
    """`<pair>__plan`: discover, extract, profile, estimate and grade, for one phase (partition)."""
    pair = ctx.pair
    keys = [asset_key(pair, "discover", n) for n in ("source_schema", "destination_schema")]
    keys += [asset_key(pair, layer, s) for s in source_objects(ctx.loaded) for layer in ("extract", "profile")]
    keys += [asset_key(pair, "plan", n) for n in ("estimate", "report")]
    return dg.define_asset_job(
        plan_job_name(pair),
        selection=dg.AssetSelection.assets(*keys),
        executor_def=dg.in_process_executor,
        tags={"pair": pair},
        description=f"Discover both systems, profile the extract of a phase, estimate and grade {pair}.",
    )


# -- discovery ----------------------------------------------------------------------------------
def _source_schema(ctx: PairDefs) -> dg.AssetsDefinition:
    pair, system, paths = ctx.pair, ctx.source, ctx.paths

    @pair_asset(
        ctx,
        "discover",
        "source_schema",
        partitioned=False,
        staging=False,
        description=f"Every {system} object read through its API: fields, types, pick-list values, "
        "custom fields inside JSON properties, record counts and date ranges.",
    )
    def _asset(context, connections: ConnectionsResource) -> dg.MaterializeResult:
        schema = asyncio.run(_discover_source(connections, system))
        data = schema.to_json()
        rows = [
            {
                "object": o.name,
                "records": o.count,
                "fields": len(o.fields),
                "custom_fields": len(o.custom_fields),
                "updated_from": (
                    o.field(o.updated_field).min if o.updated_field and o.field(o.updated_field) else None
                ),
                "updated_to": (o.field(o.updated_field).max if o.updated_field and o.field(o.updated_field) else None),
            }
            for o in schema.objects.values()
        ]
        fields = [
            {"object": o.name, **{k: v for k, v in f.__dict__.items() if k != "name"}, "field": f.name}
            for o in schema.objects.values()
            for f in o.fields
        ]
        customs = [{"object": o.name, **c.__dict__} for o in schema.objects.values() for c in o.custom_fields]
        files = write_report(
            report_folder(paths, pair, "discover"),
            "source_schema",
            f"{pair}: {system} source schema",
            data,
            {"Objects": rows, "Custom fields in JSON properties": customs, "Fields": fields},
        )
        return dg.MaterializeResult(
            metadata={
                "objects": len(rows),
                "records": dg.MetadataValue.json({r["object"]: r["records"] for r in rows}),
                "summary": dg.MetadataValue.md(md.md_table(rows)),
                **_files_meta(files),
            }
        )

    return _asset


async def _discover_source(connections: ConnectionsResource, system: str) -> SourceSchema:
    source = connections.source(system)
    try:
        return await discover_source(source)
    finally:
        await source.aclose()


def _destination_schema(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, pair, system, paths = ctx.loaded, ctx.pair, ctx.destination, ctx.paths

    @pair_asset(
        ctx,
        "discover",
        "destination_schema",
        partitioned=False,
        staging=False,
        description=f"The {system} environment read through its metadata API: tables, columns, types, "
        "option sets, required columns, alternate keys, licence/tier facts and users.",
    )
    def _asset(context, connections: ConnectionsResource) -> dg.MaterializeResult:
        data = asyncio.run(_discover_destination(connections, loaded))
        tables = [
            {
                "table": t,
                "columns": len(info["columns"]),
                "required": ", ".join(info["required"]),
                "keys": ", ".join(info["keys"]),
                "custom": info["custom"],
                "option_sets": sum(1 for c in info["columns"].values() if c["options"]),
            }
            for t, info in data["tables"].items()
        ]
        spec_tables = {o.table for o in loaded.spec.objects.values()}
        columns = [
            {"table": t, "column": c, **{k: v for k, v in info.items() if k != "targets"}}
            for t, table in data["tables"].items()
            if t in spec_tables
            for c, info in table["columns"].items()
        ]
        users = [{**u, "email": u.get("email")} for u in data["users"]]
        facts = [{"fact": k, "value": v} for k, v in data["facts"].items()]
        files = write_report(
            report_folder(paths, pair, "discover"),
            "destination_schema",
            f"{pair}: {system} destination schema",
            data,
            {"Facts": facts, "Tables": tables, "Columns of the mapped tables": columns, "Users": users},
        )
        active = sum(1 for u in users if u.get("active"))
        return dg.MaterializeResult(
            metadata={
                "tables": len(tables),
                "users": f"{active} active of {len(users)}",
                "facts": dg.MetadataValue.json(data["facts"]),
                "summary": dg.MetadataValue.md(md.md_table(tables)),
                **_files_meta(files),
            }
        )

    return _asset


async def _discover_destination(connections: ConnectionsResource, loaded: LoadedSpec) -> dict:
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    try:
        return (await discover_destination(dest)).to_json()
    finally:
        await dest.aclose()


# -- profiling ----------------------------------------------------------------------------------
def _profile(ctx: PairDefs, source_object: str) -> dg.AssetsDefinition:
    loaded, pair, system, paths = ctx.loaded, ctx.pair, ctx.source, ctx.paths
    extracted = set(source_objects(loaded))
    parents = sorted(set(loaded.source_catalog[source_object].parents.values()) & extracted - {source_object})

    @pair_asset(
        ctx,
        "profile",
        source_object,
        deps=[
            ctx.key("extract", source_object),
            *(ctx.key("extract", p) for p in parents),
            ctx.key("discover", "destination_schema"),
        ],
        description=f"Profile of the extracted {system} `{source_object}` records: duplicates (exact and "
        "fuzzy), incomplete records, orphan references, values outside the value maps, unmapped fields, "
        "oversized documents, inactive owners.",
    )
    def _asset(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key
        people_object = loaded.spec.users.source if loaded.spec.users else None
        with staging.connect(pair) as conn:
            db.ensure_support_tables(conn)
            frame = db.read_slice(conn, extract_table(source_object), phase)
            # parents of every phase: a delta's record may point at one extracted by the full phase
            related = {p: planning.latest_records(conn, loaded, p) for p in parents}
        destination = read_report(report_folder(paths, pair, "discover") / "destination_schema.json") or {}
        people = related.get(people_object) if people_object else None
        inputs = ProfileInputs(related, destination, people, people_object)
        report = profile_object(loaded, source_object, _text(frame), inputs)
        report["phase"] = phase
        files = write_report(
            report_folder(paths, pair, "profile"),
            f"{source_object}.{phase}",
            f"{pair}: profile of {source_object} ({phase})",
            report,
            {
                "Summary": [report["summary"]],
                "Exact duplicates": report["duplicates"]["exact"],
                "Fuzzy duplicates (pairs)": report["duplicates"]["fuzzy"],
                "Incomplete records": report["incomplete"],
                "Orphan references": report["orphans"],
                "Values outside the value maps": report["unmapped_values"],
                "Unmapped source fields": report["unmapped_fields"],
                "Oversized": report["oversized"],
                "Inactive owners": report["inactive_owners"],
            },
        )
        return dg.MaterializeResult(
            metadata={
                "phase": phase,
                "dagster/row_count": frame.height,
                "summary": dg.MetadataValue.md(md.md_table([report["summary"]])),
                **{k: v for k, v in report["summary"].items()},
                **_files_meta(files),
            }
        )

    return _asset


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    """The extract without the staging bookkeeping columns (`_phase` ...)."""
    return frame.select([c for c in frame.columns if not c.startswith("_")])


# -- estimate and report ------------------------------------------------------------------------
def _estimate(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, pair, paths = ctx.loaded, ctx.pair, ctx.paths

    @pair_asset(
        ctx,
        "plan",
        "estimate",
        deps=[ctx.key("discover", "source_schema"), ctx.key("discover", "destination_schema")],
        partitioned=False,
        kinds={"python"},
        description="Records, API requests, batches and duration of each phase, from the discovered counts, "
        "the destination's batch size, rate and daily limits and the measured steps of earlier runs.",
    )
    def _asset(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        data = estimate_with(context.instance, connections, ctx)
        with staging.connect(pair) as conn:
            estimate_store.record(conn, loaded.content_hash, data["phases"])
        files = write_estimate_report(paths, loaded, data)
        rows = phase_rows_table(data)
        return dg.MaterializeResult(
            metadata={
                "summary": dg.MetadataValue.md(md.md_table(rows)),
                **{f"{r['phase']}_seconds": r["seconds"] for r in rows},
                "measured_runs": data["measured_runs"],
                **_files_meta(files),
            }
        )

    return _asset


def estimate_with(
    instance,
    connections: ConnectionsResource,
    ctx: PairDefs,
    *,
    before: float | None = None,
    rehearsals: tuple[list[StepMeasure], list[RunMeasure]] = ([], []),
) -> dict:
    """The estimate of `ctx`'s pair from its reports, the instance's earlier runs (plus `rehearsals`:
    runs of the pair kept elsewhere, their steps with the records they handled) and the destination."""
    dest = connections.destination(ctx.destination, ctx.loaded.spec.destination_options)
    try:
        calls_for = calls_per_table(dest.estimate_calls)
        steps, runs = history(instance, ctx.pair, before=before)
        measured = ([*steps, *rehearsals[0]], [*runs, *rehearsals[1]])
        return estimate_pair(ctx.paths, ctx.loaded, measured, calls_for)
    except MigrationError as exc:
        raise dg.Failure(str(exc)) from exc


def _plan_report(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, pair, paths = ctx.loaded, ctx.pair, ctx.paths
    profiles = [ctx.key("profile", s) for s in source_objects(loaded)]

    @pair_asset(
        ctx,
        "plan",
        "report",
        deps=[ctx.key("plan", "estimate"), *profiles],
        partitioned=False,
        staging=False,
        kinds={"python"},
        description="The plan: N of M objects map 1:1, the complexity grade with its reasons, the "
        "estimate of the full phase and the profiling totals.",
    )
    def _asset(context) -> dg.MaterializeResult:
        data = plan_report(paths, loaded, source_objects(loaded))
        rows = [
            {"dimension": d["name"], "grade": d["grade"], "reason": d["reason"]} for d in data["grade"]["dimensions"]
        ]
        files = write_report(
            report_folder(paths, pair, "plan"),
            "report",
            f"{pair}: plan — {data['grade']['summary']} Grade {data['grade']['grade']}",
            data,
            {
                "Grade": rows,
                "Objects": data["grade"]["objects"],
                "Estimate": data["estimate"],
                "Profiling totals": [data["profiling"]],
            },
        )
        index = write_index(paths.report_dir(pair), pair)
        return dg.MaterializeResult(
            metadata={
                "grade": data["grade"]["grade"],
                "objects_1to1": f"{data['grade']['objects_1to1']} of {data['grade']['objects_total']}",
                "summary": dg.MetadataValue.md(
                    f"**{data['grade']['summary']}** Grade **{data['grade']['grade']}** "
                    f"({data['grade']['label']})\n\n" + md.md_table(rows)
                ),
                **_files_meta(files),
                "reports_index": dg.MetadataValue.path(str(index)),
            }
        )

    return _asset


def run_plan(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    pair: str,
    phase: str = "full",
    *,
    estimate_only: bool = False,
    verbose: bool = True,
    on_event: Callable[[Any], None] | None = None,
):
    """Run `<pair>__plan` for `phase` in this process (recorded in the instance, so it shows in the UI).

    Args:
        estimate_only: materialize only the discovery and the estimate (no extract, no profiles).
        verbose: Dagster's engine events on the console.
        on_event: called with every event of the run as it is stored (progress displays).

    Returns:
        The ExecuteInProcessResult (raise_on_error=False).
    """
    ensure_phases(instance, pair, (phase,))
    job = defs.resolve_job_def(plan_job_name(pair))
    selection = None
    if estimate_only:
        selection = [asset_key(pair, "discover", n) for n in ("source_schema", "destination_schema")]
        selection.append(asset_key(pair, "plan", "estimate"))
    return execute(
        job,
        instance,
        verbose=verbose,
        on_event=on_event,
        partition_key=phase,
        asset_selection=selection,
        tags={"pair": pair},
    )
