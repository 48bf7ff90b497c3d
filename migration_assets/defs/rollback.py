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
                    done.schema_removed = await _drop_schema(dest, schema.created_items(conn))
                    schema.mark_removed(conn)
                return done
            finally:
                await dest.aclose()

        with staging.connect(pair) as conn:
            ledger.ensure(conn)
            summary = asyncio.run(go(conn))
            summary.schema_created = schema.created_items(conn) if not config.drop_schema else summary.schema_created
        report = ctx.paths.report_dir(pair) / f"rollback-{context.run.run_id[:8]}.json"
        report.write_text(json.dumps(summary.as_dict(), indent=2, default=str))
        context.add_output_metadata(
            {
                "deleted": dg.MetadataValue.json(summary.deleted),
                "restored": dg.MetadataValue.json(summary.restored),
                "schema_created_by_the_migration": len(summary.schema_created),
                "schema_removed": dg.MetadataValue.json(summary.schema_removed),
                "failed": len(summary.failed),
                "report": dg.MetadataValue.path(str(report)),
            }
        )
        if summary.failed:
            raise dg.Failure(
                f"rollback left {len(summary.failed)} record(s) unrestored; run it again",
                metadata={"failures": dg.MetadataValue.json(summary.failed[:50])},
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


async def _drop_schema(dest, items: list[dict]) -> list[str]:
    """Remove the created schema, newest first; a destination that cannot is a plain failure."""
    try:
        return await dest.drop_schema(list(reversed(items)))
    except NotImplementedError as exc:
        listed = "; ".join(f"{i.get('kind')} {i.get('table')}.{i.get('name') or ''}" for i in items)
        raise dg.Failure(f"{exc}: remove by hand: {listed}") from exc
