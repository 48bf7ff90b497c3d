"""`extract/<source object>`: the raw records of a phase, every value as text, in staging."""

import asyncio

import dagster as dg
import polars as pl

from migration_assets.defs import metadata as md
from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.engine.extracting import extract_all
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, state
from migration_assets.staging.tables import extract_table


def source_objects(loaded: LoadedSpec) -> list[str]:
    """Every source object the spec reads: mapped objects, joined objects, the people owners
    resolve through, custom-field inventories and file content sources."""
    users = [loaded.spec.users.source] if loaded.spec.users else []
    joined = [j.source for o in loaded.spec.objects.values() for j in o.join.values()]
    listed = [  # custom-field inventories and the records a file's content comes from
        *(
            o.custom_fields.inventory.source
            for o in loaded.spec.objects.values()
            if o.custom_fields and o.custom_fields.inventory
        ),
        *(o.file.download_from for o in loaded.spec.objects.values() if o.file and o.file.download_from),
    ]
    return sorted({*(o.source for o in loaded.spec.objects.values()), *users, *joined, *listed})


def build_extract_assets(ctx: PairDefs) -> list[dg.AssetsDefinition]:
    return [_extract_asset(ctx, source_object) for source_object in source_objects(ctx.loaded)]


def _extract_asset(ctx: PairDefs, source_object: str) -> dg.AssetsDefinition:
    catalog = ctx.loaded.source_catalog[source_object]

    @pair_asset(
        ctx,
        "extract",
        source_object,
        deps=[ctx.key("plan", "approval_gate")],
        description=f"Raw {ctx.source} `{source_object}` records of the phase, every value as text.",
    )
    def _extract(context, staging: StagingResource, connections: ConnectionsResource) -> dg.MaterializeResult:
        phase = context.partition_key
        with staging.connect(ctx.pair) as conn:
            state.ensure(conn)
            since = state.delta_since(conn, source_object) if phase.startswith("delta-") else None
            frame, deletions = asyncio.run(_extract_frame(connections, ctx.source, source_object, since))
            db.write_slice(conn, extract_table(source_object), frame, phase)
            state.record_extract(conn, phase, source_object, frame, catalog.updated_field)
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
