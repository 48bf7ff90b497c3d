"""The rollback job of a pair: delete what the migration created, restore what it updated, from
the ledger alone (`engine/rollback.py`)."""

import asyncio
import json

import dagster as dg

from migration_assets.defs.instance import record_process
from migration_assets.defs.layers import PairDefs
from migration_assets.defs.naming import POOL, rollback_job_name, rollback_op_name
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.engine import planning, schema
from migration_assets.engine.rollback import rollback
from migration_assets.errors import SchemaNotRemoved
from migration_assets.staging import ledger


class RollbackConfig(dg.Config):
    """Roll back one phase (sample, full, delta-...) or, when empty, everything the migration did;
    `drop_schema` also removes the custom tables, columns and options the migration created (only with
    a rollback of everything: the data of another phase may still use them)."""

    phase: str = ""
    drop_schema: bool = False


def build_rollback_job(ctx: PairDefs) -> dg.JobDefinition:
    loaded, pair = ctx.loaded, ctx.pair

    @dg.op(
        name=rollback_op_name(pair),
        pool=POOL,
        description="Deletes what the migration created and restores the before-images of what it updated.",
    )
    def _rollback(context, config: RollbackConfig, staging: StagingResource, connections: ConnectionsResource) -> dict:
        record_process(context)
        phase = config.phase or None
        if config.drop_schema and phase:
            raise dg.Failure("--schema removes the migration's schema only with a rollback of every phase")
        dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)

        async def go(conn):
            try:
                spec = planning.effective_spec(conn, loaded)  # the tables the loads wrote to
                done = await rollback(spec, conn, dest, context.run.run_id, phase=phase, log=context.log.info)
                if config.drop_schema and not done.failed:
                    done.schema_created = schema.created_items(conn)
                    done.schema_removed, done.schema_left = await _drop_schema(dest, done.schema_created)
                    if not done.schema_left:
                        schema.mark_removed(conn)
                return done
            finally:
                await dest.aclose()

        with staging.connect(pair) as conn:
            ledger.ensure(conn)
            summary = asyncio.run(go(conn))
            if not config.drop_schema:
                summary.schema_created = schema.created_items(conn)
        report = ctx.paths.report_dir(pair) / f"rollback-{context.run.run_id[:8]}.json"
        report.write_text(json.dumps(summary.as_dict(), indent=2, default=str))
        context.add_output_metadata(
            {
                "deleted": dg.MetadataValue.json(summary.deleted),
                "restored": dg.MetadataValue.json(summary.restored),
                "schema_created_by_the_migration": len(summary.schema_created),
                "schema_removed": dg.MetadataValue.json(summary.schema_removed),
                "schema_left": dg.MetadataValue.json(summary.schema_left),
                "failed": len(summary.failed),
                "report": dg.MetadataValue.path(str(report)),
            }
        )
        if summary.failed:
            raise dg.Failure(
                f"rollback left {len(summary.failed)} record(s) unrestored; run it again",
                metadata={"failures": dg.MetadataValue.json(summary.failed[:50])},
            )
        if summary.schema_left:
            raise dg.Failure(
                f"rollback --schema left {len(summary.schema_left)} schema item(s): " + "; ".join(summary.schema_left),
                metadata={"schema_left": dg.MetadataValue.json(summary.schema_left), "report": str(report)},
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


async def _drop_schema(dest, items: list[dict]) -> tuple[list[str], list[str]]:
    """Remove the created schema: (what was removed, what is left and why). Nothing to remove is a
    no-op, so a second `rollback --schema` does nothing."""
    if not items:
        return [], []
    try:
        return await dest.drop_schema(items), []
    except SchemaNotRemoved as exc:
        return exc.removed, exc.left
    except NotImplementedError as exc:
        return [], [f"{_item(i)} ({exc}: remove it by hand)" for i in items]


def _item(item: dict) -> str:
    kind, table, name = item.get("kind"), item.get("table"), item.get("name")
    return f"{kind} {table}" if kind == "table" or name in (None, "", table) else f"{kind} {table}.{name}"
