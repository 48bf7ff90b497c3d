"""Plan assets of a pair, between extract and load: custom fields discovered in the source,
owners resolved against the destination's users, and the schema diff (which also picks the spec
variant the destination calls for, e.g. no Customer Service licence → a custom Cases table).

Each writes a Markdown + JSON report under `var/reports/<pair>/` and shows a summary in the UI;
a blocking check on the schema diff stops the run before anything is created when the plan
conflicts with the destination (wrong column types, a licence's custom-table limit).
"""

import asyncio
import dataclasses
import json
from pathlib import Path

import dagster as dg
import polars as pl

from migration_assets.connectors.base import DestinationConnector
from migration_assets.defs import metadata as md
from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.engine import planning
from migration_assets.engine.custom_fields import discover
from migration_assets.engine.custom_inventory import formulas, inventory_fields
from migration_assets.engine.owners import (
    owner_map,
    ownerless,
    ownerless_markdown,
    report_markdown,
    resolve_fallback,
    unknown_people,
)
from migration_assets.engine.schema import apply_schema_and_check, record_created
from migration_assets.errors import MigrationError
from migration_assets.reports.schema_checklist import checklist_markdown
from migration_assets.reports.writing import write_markdown_and_json
from migration_assets.settings import Paths
from migration_assets.spec.catalogs import destination_choice_numbering, destination_column_name_max
from migration_assets.spec.expressions import compile_expr
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import state


def custom_field_sources(loaded: LoadedSpec) -> list[str]:
    """Source objects plan/custom_fields reads: the records, and any inventory of definitions."""
    objects = [o for o in loaded.spec.objects.values() if o.custom_fields]
    inventories = {o.custom_fields.inventory.source for o in objects if o.custom_fields and o.custom_fields.inventory}
    return sorted({*(o.source for o in objects), *inventories})


def _write(paths: Paths, pair: str, name: str, markdown: str, payload: dict) -> tuple[Path, Path]:
    return write_markdown_and_json(paths.report_dir(pair), name, markdown, payload)


# -- plan/custom_fields ---------------------------------------------------------------------------
def build_custom_fields_asset(ctx: PairDefs) -> dg.AssetsDefinition | None:
    loaded, paths, pair = ctx.loaded, ctx.paths, ctx.pair
    sources = custom_field_sources(loaded)
    if not sources:
        return None
    first_choice = destination_choice_numbering(loaded.spec.destination)
    max_length = destination_column_name_max(loaded.spec.destination)

    @pair_asset(
        ctx,
        "plan",
        "custom_fields",
        deps=[ctx.key("extract", s) for s in sources],
        kinds={"polars"},
        description="Custom fields found in the source's JSON key-value properties, typed from their "
        "values (text → string, pick-list → option set, date → datetime, number → decimal/integer).",
    )
    def _custom_fields(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(pair) as conn:
            known = {(f.object, f.column): f for f in planning.custom_fields(conn)}
            found, skipped = [], []
            for name, obj in loaded.spec.objects.items():
                keep = planning.only({obj.custom_fields.source_field}) if obj.custom_fields else None
                if obj.custom_fields and obj.custom_fields.inventory:  # typed by the source's definitions
                    found += inventory_fields(
                        planning.latest_records(conn, loaded, obj.custom_fields.inventory.source),
                        planning.latest_records(conn, loaded, obj.source, keep),
                        name,
                        obj.custom_fields,
                        first_choice,
                        max_length=max_length,
                        skipped=skipped,
                    )
                elif obj.custom_fields:
                    raw = planning.latest_records(conn, loaded, obj.source, keep)
                    found += discover(
                        raw, name, obj.custom_fields, first_choice, max_length=max_length, skipped=skipped
                    )
            fields = _keep_earlier_types(known, found)
            planning.save_custom_fields(conn, fields)
        rows = [{k: v for k, v in f.to_row().items() if k != "option_values"} for f in fields]
        text = f"# Custom fields — {pair} ({phase})\n\n{md.md_table(rows)}\n\n## Keys not made columns\n\n"
        text += md.md_table(skipped) + "\n"
        if computed := formulas(fields):  # the value is migrated, the formula rebuilt by hand
            text += "\n## Computed fields: values migrated, formulas to rebuild\n\n" + md.md_table(computed) + "\n"
        payload = {"fields": rows, "skipped_keys": skipped, "computed": computed}
        md_path, json_path = _write(paths, pair, f"custom_fields_{phase}", text, payload)
        return dg.MaterializeResult(
            metadata={
                "phase": phase,
                "dagster/row_count": len(fields),
                "fields": dg.MetadataValue.md(md.md_table(rows)),
                "skipped_keys": dg.MetadataValue.md(md.md_table(skipped)),
                "report": dg.MetadataValue.path(str(md_path)),
                "report_json": dg.MetadataValue.path(str(json_path)),
            }
        )

    return _custom_fields


def _keep_earlier_types(known: dict, found: list) -> list:
    """A column keeps the type it was created with; pick-lists only gain new labels (at the end)."""
    out = []
    for f in found:
        before = known.pop((f.object, f.column), None)
        if before is None:
            out.append(f)
        elif before.type == "picklist" and f.type == "picklist":
            new = tuple(o for o in f.options if o not in before.options)
            step = len(before.options)
            values = (*before.values, *(before.values[0] + step + i for i in range(len(new)))) if before.values else ()
            out.append(dataclasses.replace(before, options=(*before.options, *new), values=values))
        else:
            out.append(before)
    return [*out, *known.values()]  # keys no longer seen stay: their columns exist


# -- plan/owners -----------------------------------------------------------------------------------
def build_owners_asset(ctx: PairDefs) -> dg.AssetsDefinition | None:
    loaded, paths, pair, system = ctx.loaded, ctx.paths, ctx.pair, ctx.destination
    users = loaded.spec.users
    if users is None:
        return None
    owner_objects = {n: o for n, o in loaded.spec.objects.items() if o.owners}

    @pair_asset(
        ctx,
        "plan",
        "owners",
        deps=[ctx.key("extract", s) for s in sorted(_owner_sources(loaded))],
        kinds={system},
        description="Source people matched to destination users by email (case-insensitive); the "
        "unmatched-owner report lists who needs an account or gets the fallback owner.",
    )
    def _owners(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(pair) as conn:
            state.ensure(conn)
            people = _people(loaded, planning.latest_records(conn, loaded, users.source))
            usage = _usage(loaded, conn, owner_objects)
            nobody = _ownerless(loaded, conn, owner_objects)
            dest_users = asyncio.run(
                _destination_users(connections.destination(system, loaded.spec.destination_options))
            )
            try:
                fallback = resolve_fallback(dest_users, loaded.spec.options.fallback_owner)
            except MigrationError as exc:
                raise dg.Failure(f"owner resolution: {exc}") from exc
            table = owner_map(people, dest_users, fallback)
            planning.save_owner_table(conn, phase, table)
        text = report_markdown(pair, phase, table, fallback, usage) + ownerless_markdown(nobody)
        attention = table.filter(pl.col("status") != "matched").join(usage, on="source_user_id", how="left")
        md_path, json_path = _write(
            paths,
            pair,
            f"owners_{phase}",
            text,
            {"fallback_owner": fallback.email, "people": table.to_dicts(), "ownerless": nobody},
        )
        counts = table.group_by("status").len().sort("status")
        return dg.MaterializeResult(
            metadata={
                "phase": phase,
                "dagster/row_count": table.height,
                **{f"owners_{r['status'].replace(' ', '_')}": r["len"] for r in counts.to_dicts()},
                "fallback_owner": fallback.email or "",
                "unknown_source_users": unknown_people(table, usage).height,
                "ownerless_records": dg.MetadataValue.json(nobody),
                "unmatched_owners": md.table_preview(attention.drop("destination_user_id", "fallback_user_id")),
                "report": dg.MetadataValue.path(str(md_path)),
                "report_json": dg.MetadataValue.path(str(json_path)),
            }
        )

    return _owners


def _owner_sources(loaded: LoadedSpec) -> set[str]:
    objects = [o for o in loaded.spec.objects.values() if o.owners]
    joined = {j.source for o in objects for j in o.join.values()}
    return {loaded.spec.users.source, *(o.source for o in objects), *joined}  # type: ignore[union-attr]


def _people(loaded: LoadedSpec, raw: pl.DataFrame) -> pl.DataFrame:
    users = loaded.spec.users
    assert users is not None
    if raw.height == 0:
        return pl.DataFrame(schema={"source_user_id": pl.String, "email": pl.String, "name": pl.String})
    email = compile_expr(users.email, loaded.source_context(users.source, "users.email")).expr
    name = compile_expr(users.name, loaded.source_context(users.source, "users.name")).expr
    id_field = loaded.source_catalog[users.source].id_field
    return raw.select(
        pl.col(id_field).cast(pl.String).alias("source_user_id"),
        email.cast(pl.String).alias("email"),
        name.cast(pl.String).alias("name"),
    )


def _usage(loaded: LoadedSpec, conn, owner_objects: dict) -> pl.DataFrame:
    """How many source records each person owns or is assigned (for the report)."""
    ids = []
    for name, obj in owner_objects.items():
        raw = planning.owner_rows(conn, loaded, name)
        if raw.height:
            for column, owner in obj.owners.items():
                expr = loaded.compile(name, f"owners.{column}.value", owner.value).expr
                ids.append(raw.select(expr.cast(pl.String).alias("source_user_id")))
    if not ids:
        return pl.DataFrame(schema={"source_user_id": pl.String, "records": pl.UInt32})
    return pl.concat(ids).drop_nulls().group_by("source_user_id").len().rename({"len": "records"})


def _ownerless(loaded: LoadedSpec, conn, owner_objects: dict) -> dict[str, dict[str, int]]:
    """{object: {owner column: records naming no owner}} over the latest source records."""
    out = {}
    for name in owner_objects:
        out[name] = ownerless(loaded, name, planning.owner_rows(conn, loaded, name))
    return out


async def _destination_users(dest: DestinationConnector):
    try:
        return await dest.users()
    finally:
        await dest.aclose()


# -- plan/schema_diff --------------------------------------------------------------------------------
def build_schema_diff_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, paths, pair, system = ctx.loaded, ctx.paths, ctx.pair, ctx.destination
    key = ctx.key("plan", "schema_diff")
    upstream = [ctx.key("plan", "custom_fields")] if custom_field_sources(loaded) else []
    upstream.append(ctx.key("plan", "approval_gate"))

    @pair_asset(
        ctx,
        "plan",
        "schema_diff",
        deps=upstream,
        kinds={system},
        check_specs=[
            dg.AssetCheckSpec(
                "no_conflicts",
                asset=key,
                blocking=True,
                description="nothing the spec needs conflicts with the destination (types, licence limits)",
            )
        ],
        description="Compares what the spec and the discovered custom fields need with the destination's "
        "metadata: existing, to create, conflicting. Picks the spec variant the destination's facts "
        "(licence tier) call for. Nothing is created here.",
    )
    def _schema_diff(context, staging: StagingResource, connections: ConnectionsResource):
        phase = context.partition_key
        with staging.connect(pair) as conn:
            state.ensure(conn)
            fields = planning.custom_fields(conn)
            plan, facts, variant, alternatives, required = asyncio.run(
                _plan(connections.destination(system, loaded.spec.destination_options), loaded, fields)
            )
            state.set_plan_value(conn, phase, planning.VARIANT, variant)
            state.set_plan_value(conn, phase, planning.REQUIRED, json.dumps(required))
        payload = {
            "variant": variant,
            "facts": facts,
            "existing": plan.existing,
            "to_create": plan.to_create,
            "conflicting": plan.conflicting,
            "alternatives": alternatives,
        }
        text = schema_diff_markdown(pair, phase, payload)
        md_path, json_path = _write(paths, pair, f"schema_diff_{phase}", text, payload)
        yield dg.MaterializeResult(
            metadata={
                "phase": phase,
                "variant": variant or "(base spec)",
                "existing": len(plan.existing),
                "to_create": len(plan.to_create),
                "conflicting": len(plan.conflicting),
                "diff": dg.MetadataValue.md(text),
                "report": dg.MetadataValue.path(str(md_path)),
                "report_json": dg.MetadataValue.path(str(json_path)),
            }
        )
        yield dg.AssetCheckResult(
            check_name="no_conflicts",
            passed=not plan.conflicting,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"conflicts": dg.MetadataValue.md(md.md_table(_rows(plan.conflicting)) or "none")},
        )

    return _schema_diff


async def _plan(dest: DestinationConnector, loaded: LoadedSpec, fields):
    """(plan, facts, chosen variant, how every spec variant fits the destination's limits)."""
    try:
        facts = dict((await dest.describe([])).facts)
        variant = loaded.pick_variant(facts)
        chosen = loaded.with_variant(variant)
        plan = await dest.plan_schema(planning.schema_requirements(chosen, fields))
        # custom tables and association (N:N) tables do not exist before schema_apply
        created = {t for t, table in chosen.spec.schema_.items() if table.custom or table.association}
        tables = sorted({o.table for o in chosen.spec.objects.values()} - created)
        described = (await dest.describe(tables)).tables
        required = {
            t: sorted(c for c, info in described[t].columns.items() if info.required) for t in tables if t in described
        }
        alternatives = {}
        for name in [None, *loaded.spec.variants]:
            spec = loaded.with_variant(name)
            tables = [r.name for r in planning.schema_requirements(spec, fields) if r.custom]
            alternatives[name or "(base spec)"] = {
                "custom_tables": tables,
                "when": dict(loaded.spec.variants[name].when) if name else {},
            }
        return plan, facts, variant, alternatives, required
    finally:
        await dest.aclose()


def _rows(items: list[dict]) -> list[dict]:
    return [{k: items_v for k, items_v in i.items() if k in ("kind", "table", "name", "type", "detail")} for i in items]


def schema_diff_markdown(pair: str, phase: str, payload: dict) -> str:
    facts = payload["facts"]
    lines = [
        f"# Schema diff — {pair} ({phase})",
        "",
        "Destination facts: " + (", ".join(f"{k} {v!r}" for k, v in sorted(facts.items())) or "none") + ".",
        f"Spec variant chosen: **{payload['variant'] or 'base spec'}**.",
        "",
    ]
    conflicting = payload["conflicting"]
    lines += [f"## Conflicting (needs a decision): {len(conflicting)}", ""]
    lines += [md.md_table(_rows(conflicting)) if conflicting else "none", ""]
    lines += [checklist_markdown(payload["to_create"])]
    existing = payload["existing"]
    lines += [f"## Existing: {len(existing)}", "", md.md_table(_rows(existing)) if existing else "none", ""]
    lines += ["## Mappings and the custom tables they need", ""]
    for name, alt in payload["alternatives"].items():
        when = f" (when {alt['when']})" if alt["when"] else ""
        lines.append(f"- {name}{when}: needs {len(alt['custom_tables'])} custom table(s) {alt['custom_tables']}")
    return "\n".join(lines) + "\n"


def build_schema_apply_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    pair, system = ctx.pair, ctx.destination

    @pair_asset(
        ctx,
        "plan",
        "schema_apply",
        deps=[ctx.key("plan", "schema_diff")],
        kinds={system},
        description="Creates the custom tables, columns, option values and alternate keys the spec "
        "needs (idempotent), then checks that every mapped column exists. Loads depend on it.",
    )
    def _schema(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        with staging.connect(pair) as conn:
            spec = planning.effective_spec(conn, ctx.loaded, context.partition_key)
            fields = planning.custom_fields(conn)
        dest = connections.destination(system, ctx.loaded.spec.destination_options)
        try:
            applied = asyncio.run(apply_schema_and_check(dest, spec, fields))
        except MigrationError as exc:
            # a destination whose schema a person sets up: point at the checklist plan/schema_diff wrote
            checklist = ctx.paths.report_dir(pair) / f"schema_diff_{context.partition_key}.md"
            metadata = {"setup_checklist": dg.MetadataValue.path(str(checklist))} if checklist.exists() else {}
            raise dg.Failure(f"schema of {system} not applied: {exc}", metadata=metadata) from exc
        with staging.connect(pair) as conn:
            record_created(conn, context.run.run_id, context.partition_key, applied.created)
        if applied.missing:
            raise dg.Failure(
                f"the {system} schema does not match the spec: missing {', '.join(applied.missing)}",
                metadata={"missing": dg.MetadataValue.json(applied.missing)},
            )
        return dg.MaterializeResult(
            metadata={
                "actions": dg.MetadataValue.json(applied.actions),
                "created": len(applied.actions),
                "destination": dg.MetadataValue.json(connections.describe(system)),
            }
        )

    return _schema
