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
import json
from pathlib import Path

import dagster as dg
import polars as pl

from migration_assets.discovery import estimate_store, estimating, grading
from migration_assets.discovery.destination_schema import discover_destination
from migration_assets.discovery.profiling import ProfileInputs, profile_object
from migration_assets.discovery.source_schema import SourceSchema, discover_source
from migration_assets.pipeline import metadata as md
from migration_assets.pipeline import planning
from migration_assets.pipeline.naming import asset_key, extract_table
from migration_assets.pipeline.resources import ConnectionsResource, staging, staging_resource_key
from migration_assets.pipeline.stage_assets import source_objects
from migration_assets.reports.discovery_report import read_report, write_report
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db

POOL = "duckdb"


def plan_job_name(pair: str) -> str:
    return f"{pair}__plan"


def _folder(paths: Paths, pair: str, layer: str) -> Path:
    return paths.report_dir(pair) / layer


def _files_meta(files: dict[str, Path]) -> dict[str, dg.MetadataValue]:
    return {
        "report_html": dg.MetadataValue.path(str(files["html"])),
        "report_json": dg.MetadataValue.path(str(files["json"])),
    }


def build_discover_assets(
    loaded: LoadedSpec, phases: dg.PartitionsDefinition, paths: Paths
) -> list[dg.AssetsDefinition]:
    """Discovery, profile, estimate and report assets of one pair."""
    return [
        _source_schema(loaded, paths),
        _destination_schema(loaded, paths),
        *(_profile(loaded, s, phases, paths) for s in source_objects(loaded)),
        _estimate(loaded, paths),
        _plan_report(loaded, paths),
    ]


def build_plan_job(loaded: LoadedSpec, phases: dg.PartitionsDefinition, paths: Paths):
    """`<pair>__plan`: discover, extract, profile, estimate and grade, for one phase (partition)."""
    pair = loaded.pair
    keys = [asset_key(pair, "discover", n) for n in ("source_schema", "destination_schema")]
    keys += [asset_key(pair, layer, s) for s in source_objects(loaded) for layer in ("extract", "profile")]
    keys += [asset_key(pair, "plan", n) for n in ("estimate", "report")]
    return dg.define_asset_job(
        plan_job_name(pair),
        selection=dg.AssetSelection.assets(*keys),
        executor_def=dg.in_process_executor,
        tags={"pair": pair},
        description=f"Discover both systems, profile the extract of a phase, estimate and grade {pair}.",
    )


# -- discovery ----------------------------------------------------------------------------------
def _source_schema(loaded: LoadedSpec, paths: Paths) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.source

    @dg.asset(
        key=asset_key(pair, "discover", "source_schema"),
        group_name=pair,
        kinds={system},
        tags={"layer": "discover"},
        required_resource_keys={"connections"},
        description=f"Every {system} object read through its API: fields, types, pick-list values, "
        "custom fields inside JSON properties, record counts and date ranges.",
    )
    def _asset(context) -> dg.MaterializeResult:
        schema = asyncio.run(_discover_source(context.resources.connections, system))
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
            _folder(paths, pair, "discover"),
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


def _destination_schema(loaded: LoadedSpec, paths: Paths) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.destination

    @dg.asset(
        key=asset_key(pair, "discover", "destination_schema"),
        group_name=pair,
        kinds={system},
        tags={"layer": "discover"},
        required_resource_keys={"connections"},
        description=f"The {system} environment read through its metadata API: tables, columns, types, "
        "option sets, required columns, alternate keys, licence/tier facts and users.",
    )
    def _asset(context) -> dg.MaterializeResult:
        data = asyncio.run(_discover_destination(context, loaded))
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
            _folder(paths, pair, "discover"),
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


async def _discover_destination(context, loaded: LoadedSpec) -> dict:
    connections: ConnectionsResource = context.resources.connections
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    try:
        return (await discover_destination(dest)).to_json()
    finally:
        await dest.aclose()


# -- profiling ----------------------------------------------------------------------------------
def _profile(loaded: LoadedSpec, source_object: str, phases, paths: Paths) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.source
    extracted = set(source_objects(loaded))
    parents = sorted(set(loaded.source_catalog[source_object].parents.values()) & extracted - {source_object})

    @dg.asset(
        key=asset_key(pair, "profile", source_object),
        group_name=pair,
        partitions_def=phases,
        pool=POOL,
        deps=[
            asset_key(pair, "extract", source_object),
            *(asset_key(pair, "extract", p) for p in parents),
            asset_key(pair, "discover", "destination_schema"),
        ],
        kinds={"polars", "duckdb"},
        tags={"layer": "profile"},
        required_resource_keys={"connections", staging_resource_key(pair)},
        description=f"Profile of the extracted {system} `{source_object}` records: duplicates (exact and "
        "fuzzy), incomplete records, orphan references, values outside the value maps, unmapped fields, "
        "oversized documents, inactive owners.",
    )
    def _asset(context) -> dg.MaterializeResult:
        phase = context.partition_key
        people_object = loaded.spec.users.source if loaded.spec.users else "users"
        with staging(context, pair) as conn:
            db.ensure_support_tables(conn)
            frame = db.read_slice(conn, extract_table(source_object), phase)
            # parents of every phase: a delta's record may point at one extracted by the full phase
            related = {p: planning.latest_records(conn, p) for p in parents}
        destination = read_report(_folder(paths, pair, "discover") / "destination_schema.json") or {}
        inputs = ProfileInputs(related, destination, related.get(people_object), people_object)
        report = profile_object(loaded, source_object, _text(frame), inputs)
        report["phase"] = phase
        files = write_report(
            _folder(paths, pair, "profile"),
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
def _estimate(loaded: LoadedSpec, paths: Paths) -> dg.AssetsDefinition:
    pair = loaded.pair

    @dg.asset(
        key=asset_key(pair, "plan", "estimate"),
        group_name=pair,
        pool=POOL,
        deps=[asset_key(pair, "discover", "source_schema"), asset_key(pair, "discover", "destination_schema")],
        kinds={"python"},
        tags={"layer": "plan"},
        required_resource_keys={"connections", staging_resource_key(pair)},
        description="Records, API requests, batches and duration of each phase, from the discovered counts, "
        "the destination's batch size, rate and daily limits and the measured steps of earlier runs.",
    )
    def _asset(context) -> dg.MaterializeResult:
        data = estimate_pair(context.instance, context.resources.connections, loaded, paths)
        with staging(context, pair) as conn:
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


def estimate_pair(instance, connections: ConnectionsResource, loaded: LoadedSpec, paths: Paths, *, before=None) -> dict:
    """The estimate of every phase from the discovery reports and the instance's run history."""
    source_json = read_report(_folder(paths, loaded.pair, "discover") / "source_schema.json")
    if source_json is None:
        raise dg.Failure(f"{loaded.pair}: no source discovery yet; materialize discover/source_schema first")
    destination = read_report(_folder(paths, loaded.pair, "discover") / "destination_schema.json") or {}
    source = SourceSchema.from_json(source_json)
    limits = estimating.limits_for(loaded, destination.get("facts", {}))
    from migration_assets.pipeline.factory import migrate_job_name

    history, runs = estimating.history_from_instance(
        instance, loaded.pair, migrate_job_name(loaded.pair), before=before
    )
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    phases = estimating.estimate(loaded, source, limits, history, runs, calls_for=dest.estimate_calls)
    return {
        "pair": loaded.pair,
        "spec_hash": loaded.content_hash,
        "limits": limits.__dict__,
        "measured_runs": len(runs),
        "phases": estimating.to_json(phases),
    }


def phase_rows_table(data: dict) -> list[dict]:
    return [
        {
            "phase": p,
            "records": sum(e["records"].values()),
            "requests": e["requests"],
            "batches": e["batches"],
            "seconds": e["seconds"],
            "days": e["days"],
        }
        for p, e in data["phases"].items()
    ]


def write_estimate_report(paths: Paths, loaded: LoadedSpec, data: dict) -> dict[str, Path]:
    steps = [{"phase": p, **s} for p, e in data["phases"].items() for s in e["steps"]]
    objects = [{"phase": p, **e["records"]} for p, e in data["phases"].items()]
    return write_report(
        _folder(paths, loaded.pair, "plan"),
        "estimate",
        f"{loaded.pair}: estimate",
        data,
        {"Phases": phase_rows_table(data), "Records per object": objects, "Limits": [data["limits"]], "Steps": steps},
    )


def _plan_report(loaded: LoadedSpec, paths: Paths) -> dg.AssetsDefinition:
    pair = loaded.pair
    profiles = [asset_key(pair, "profile", s) for s in source_objects(loaded)]

    @dg.asset(
        key=asset_key(pair, "plan", "report"),
        group_name=pair,
        deps=[asset_key(pair, "plan", "estimate"), *profiles],
        kinds={"python"},
        tags={"layer": "plan"},
        description="The plan: N of M objects map 1:1, the complexity grade with its reasons, the "
        "estimate of the full phase and the profiling totals.",
    )
    def _asset(context) -> dg.MaterializeResult:
        data = plan_report(loaded, paths)
        rows = [
            {"dimension": d["name"], "grade": d["grade"], "reason": d["reason"]} for d in data["grade"]["dimensions"]
        ]
        files = write_report(
            _folder(paths, pair, "plan"),
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
        return dg.MaterializeResult(
            metadata={
                "grade": data["grade"]["grade"],
                "objects_1to1": f"{data['grade']['objects_1to1']} of {data['grade']['objects_total']}",
                "summary": dg.MetadataValue.md(
                    f"**{data['grade']['summary']}** Grade **{data['grade']['grade']}** "
                    f"({data['grade']['label']})\n\n" + md.md_table(rows)
                ),
                **_files_meta(files),
            }
        )

    return _asset


def latest_profiles(paths: Paths, loaded: LoadedSpec) -> dict[str, dict]:
    """The newest profile report of each source object (any phase)."""
    folder = _folder(paths, loaded.pair, "profile")
    out = {}
    for source_object in source_objects(loaded):
        found = sorted(folder.glob(f"{source_object}.*.json"), key=lambda p: p.stat().st_mtime)
        if found:
            out[source_object] = json.loads(found[-1].read_text(encoding="utf-8"))
    return out


def plan_report(loaded: LoadedSpec, paths: Paths) -> dict:
    estimate = read_report(_folder(paths, loaded.pair, "plan") / "estimate.json") or {"phases": {}, "limits": {}}
    full = estimate["phases"].get("full", {"records": {}, "requests": 0})
    profiles = latest_profiles(paths, loaded)
    findings, profiled = grading.quality_findings(profiles)
    destination = read_report(_folder(paths, loaded.pair, "discover") / "destination_schema.json") or {}
    graded = grading.grade(
        loaded,
        records=sum(full["records"].values()),
        full_requests=full["requests"],
        daily_budget=estimating.daily_budget(destination.get("facts", {})),
        quality_findings=findings,
        profiled_records=profiled,
    )
    totals: dict[str, int] = {}
    for p in profiles.values():
        for k, v in p["summary"].items():
            totals[k] = totals.get(k, 0) + int(v)
    return {
        "pair": loaded.pair,
        "spec_hash": loaded.content_hash,
        "grade": graded,
        "estimate": phase_rows_table(estimate) if estimate["phases"] else [],
        "profiling": totals,
    }


def run_plan(
    defs: dg.Definitions, instance: dg.DagsterInstance, pair: str, phase: str = "full", *, estimate_only=False
):
    """Run `<pair>__plan` for `phase` in this process (recorded in the instance, so it shows in the UI).

    Args:
        estimate_only: materialize only the discovery and the estimate (no extract, no profiles).

    Returns:
        The ExecuteInProcessResult (raise_on_error=False).
    """
    from migration_assets.pipeline.phases import ensure_phases

    ensure_phases(instance, pair, (phase,))
    job = defs.resolve_job_def(plan_job_name(pair))
    selection = None
    if estimate_only:
        selection = [asset_key(pair, "discover", n) for n in ("source_schema", "destination_schema")]
        selection.append(asset_key(pair, "plan", "estimate"))
    return job.execute_in_process(
        instance=instance, partition_key=phase, raise_on_error=False, asset_selection=selection, tags={"pair": pair}
    )
