"""`verify/diff`: read every loaded record back and compare it field by field with staging."""

import asyncio
import json
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from migration_assets.defs import metadata as md
from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.engine import planning
from migration_assets.engine.diffing import ObjectDiff, diff_object
from migration_assets.engine.patching import deferred_columns
from migration_assets.engine.readback import ReadTimer
from migration_assets.engine.reconciling import reconcile_object, scope_phases
from migration_assets.reports import reconciliation_report
from migration_assets.reports.index import write_index
from migration_assets.reports.reconciliation_report import DiffSummary, SignOff, option_labels
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import approvals, ledger, quarantine
from migration_assets.systems import system

DIFF_DDL = """
create table if not exists diff_results (phase varchar, object varchar, records_compared bigint,
    fields_compared bigint, mismatches bigint, run_id varchar, checked_at timestamptz, spec_hash varchar);
create table if not exists diff_mismatches (phase varchar, object varchar, external_id varchar,
    "column" varchar, staged varchar, destination varchar);
"""


def build_diff_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, paths, pair = ctx.loaded, ctx.paths, ctx.pair
    key = ctx.key("verify", "diff")

    @pair_asset(
        ctx,
        "verify",
        "diff",
        deps=[
            *(ctx.key("load", o) for o in loaded.load_order),
            *(ctx.key("patch", o) for o in loaded.load_order if deferred_columns(loaded, o)),
        ],
        check_specs=[
            dg.AssetCheckSpec("no_mismatches", asset=key, description="every mapped field reads back as staged")
        ],
        description="Field-level diff: every loaded record is read back from the destination and each "
        "mapped field compared with its staged value.",
    )
    def _diff(context, staging: StagingResource, connections: ConnectionsResource):
        phase = context.partition_key
        with staging.connect(pair) as conn:
            ledger.ensure(conn)
            conn.execute(DIFF_DDL)
            spec = planning.effective_spec(conn, loaded, phase)
            timer = ReadTimer()
            diffs = asyncio.run(_diff_all(connections, spec, phase, conn, timer))
            _store(conn, phase, diffs, context.run.run_id, loaded.content_hash)
        report = _write_report(paths, loaded, phase, diffs)
        mismatches = [m for d in diffs for m in d.mismatches]
        totals = {
            "records_compared": sum(d.records_compared for d in diffs),
            "fields_compared": sum(d.fields_compared for d in diffs),
            "mismatches": len(mismatches),
        }
        preview = md.table_preview(pl.DataFrame(mismatches[:50]) if mismatches else pl.DataFrame())
        yield dg.MaterializeResult(
            metadata={
                "phase": phase,
                **totals,
                "readback_seconds": round(timer.seconds, 2),  # reading the destination, of the step's time
                "readback_records": timer.records,
                "report": dg.MetadataValue.path(str(report)),
                "per_object": dg.MetadataValue.md(
                    md.md_table(
                        [
                            {
                                "object": d.object,
                                "records": d.records_compared,
                                "fields": d.fields_compared,
                                "mismatches": len(d.mismatches),
                            }
                            for d in diffs
                        ]
                    )
                ),
            }
        )
        yield dg.AssetCheckResult(
            check_name="no_mismatches",
            asset_key=key,
            passed=not mismatches,
            metadata={"mismatches": len(mismatches), "phase": phase, "first_mismatches": preview},
        )

    return _diff


async def _diff_all(
    connections: ConnectionsResource, loaded: LoadedSpec, phase: str, conn, timer: ReadTimer
) -> list[ObjectDiff]:
    dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
    try:
        return [await diff_object(loaded, name, phase, conn, dest, timer) for name in loaded.load_order]
    finally:
        await dest.aclose()


def _store(conn, phase: str, diffs: list[ObjectDiff], run_id: str, spec_hash: str) -> None:
    conn.execute("delete from diff_results where phase = ?", [phase])
    conn.execute("delete from diff_mismatches where phase = ?", [phase])
    now = datetime.now(UTC)
    for d in diffs:
        conn.execute(
            "insert into diff_results values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                phase,
                d.object,
                d.records_compared,
                d.fields_compared,
                len(d.mismatches),
                run_id,
                now,
                spec_hash,
            ],
        )
        for m in d.mismatches:
            conn.execute(
                "insert into diff_mismatches values (?, ?, ?, ?, ?, ?)",
                [phase, d.object, m["external_id"], m["column"], m["staged"], m["destination"]],
            )


def _write_report(paths: Paths, loaded: LoadedSpec, phase: str, diffs: list[ObjectDiff]):
    path = paths.report_dir(loaded.pair) / f"diff-{phase}.json"
    path.write_text(
        json.dumps(
            {
                "pair": loaded.pair,
                "phase": phase,
                "spec_hash": loaded.content_hash,
                "objects": {
                    d.object: {
                        "records_compared": d.records_compared,
                        "fields_compared": d.fields_compared,
                        "mismatches": d.mismatches,
                    }
                    for d in diffs
                },
            },
            indent=2,
            default=str,
        )
    )
    return path


RECONCILIATION_CHECKS = {
    "counts_reconcile": "source = loaded + quarantined + excluded, and every loaded record is in the destination",
    "distributions_match": "every value-mapped column has the same distribution, value by value",
    "population_matches": "every mapped column is filled as often in the destination as in staging",
    "lookups_resolved": "every lookup points at the record it should (orphans listed)",
}


CHECK_NAMES = tuple(RECONCILIATION_CHECKS)


def build_reconciliation_asset(ctx: PairDefs) -> dg.AssetsDefinition:
    loaded, paths, pair = ctx.loaded, ctx.paths, ctx.pair
    key = ctx.key("verify", "reconciliation")

    @pair_asset(
        ctx,
        "verify",
        "reconciliation",
        deps=[ctx.key("verify", "diff")],
        kinds={"html"},
        check_specs=[dg.AssetCheckSpec(name, asset=key, description=d) for name, d in RECONCILIATION_CHECKS.items()],
        description="Source against destination for the sample, or for the cutover so far (full + deltas): "
        "counts, status distributions, field population and linkage. HTML report with charts + JSON.",
    )
    def _reconciliation(context, staging: StagingResource, connections: ConnectionsResource):
        phase = context.partition_key

        timer = ReadTimer()

        async def run(conn, scope):
            dest = connections.destination(loaded.spec.destination, loaded.spec.destination_options)
            try:
                spec = planning.effective_spec(conn, loaded, phase)
                return [await reconcile_object(spec, name, scope, conn, dest, timer) for name in loaded.load_order]
            finally:
                await dest.aclose()

        with staging.connect(pair) as conn:
            ledger.ensure(conn)
            scope = scope_phases(conn, phase)
            results = asyncio.run(run(conn, scope))
            found = {n: [f"{r.object}: {p}" for r in results for p in r.problems.get(n, [])] for n in CHECK_NAMES}
            approvals.record_checks(conn, phase, context.run.run_id, loaded.content_hash, found)
            held = quarantine.summary(quarantine.rows(conn, phase))
            signoff = _signoff(conn, loaded, phase, scope, context.run.run_id)
            diff = diff_summary(conn, scope)
            labels = {r.object: option_labels(planning.effective_spec(conn, loaded, phase), r.object) for r in results}
        folder = paths.report_dir(pair)
        json_path, html_path = reconciliation_report.write(folder, signoff, results, held, diff, labels)
        index = write_index(folder, pair)
        yield dg.MaterializeResult(
            metadata={
                "phase": phase,
                "scope": ", ".join(scope),
                "readback_seconds": round(timer.seconds, 2),  # reading the destination, of the step's time
                "readback_records": timer.records,
                "readback_reused": timer.reused,  # taken from the diff's read (engine/readback.py)
                "report_html": dg.MetadataValue.path(str(html_path)),
                "report_json": dg.MetadataValue.path(str(json_path)),
                "reports_index": dg.MetadataValue.path(str(index)),
                "verdict": reconciliation_report.verdict_level(results, held, diff),
                "counts": dg.MetadataValue.md(md.md_table([{"object": r.object, **r.counts} for r in results])),
                "held_back": held["total"],
                "held_back_by_root_cause": dg.MetadataValue.md(md.md_table(held["by_root_cause"])),
            }
        )
        for name, problems in found.items():
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=key,
                passed=not problems,
                metadata={
                    "phase": phase,
                    "differences": len(problems),
                    "details": dg.MetadataValue.md("\n".join(f"- {f}" for f in problems[:50]) or "none"),
                },
            )

    return _reconciliation


MISMATCH_COLUMNS = ("external_id", "column", "staged", "destination")


def diff_summary(conn, scope: list[str]) -> DiffSummary:
    """The diff of the phases in `scope` per object (records, fields, mismatches summed over the
    phases) with the first mismatches of each object as examples."""
    conn.execute(DIFF_DDL)
    marks = ", ".join("?" for _ in scope) or "null"
    totals = conn.execute(
        f"select object, sum(records_compared), sum(fields_compared), sum(mismatches) from diff_results "
        f"where phase in ({marks}) group by object order by min(rowid)",
        scope,
    ).fetchall()
    summary = DiffSummary()
    for obj, records, fields, mismatches in totals:
        examples = conn.execute(
            f'select external_id, "column", staged, destination from diff_mismatches where phase in ({marks}) '
            "and object = ? limit ?",
            [*scope, obj, reconciliation_report.EXAMPLES],
        ).fetchall()
        summary.objects[obj] = {
            "records_compared": int(records or 0),
            "fields_compared": int(fields or 0),
            "mismatches": int(mismatches or 0),
            "examples": [dict(zip(MISMATCH_COLUMNS, e, strict=True)) for e in examples],
        }
    return summary


def _signoff(conn, loaded: LoadedSpec, phase: str, scope: list[str], run_id: str) -> SignOff:
    """The header facts of the reconciliation report (the approval the phase ran under, if any)."""
    approval = approvals.current(conn, loaded.pair, loaded.content_hash) if phase != "sample" else None
    return SignOff(
        pair=loaded.pair,
        phase=phase,
        scope=scope,
        run_id=run_id,
        written_at=datetime.now(UTC),
        spec_hash=loaded.content_hash,
        source=system(loaded.spec.source).title,
        destination=system(loaded.spec.destination).title,
        approval=_approval_facts(approval),
    )


def _approval_facts(approval) -> dict | None:
    if approval is None:
        return None
    return {
        "approver": approval.approver,
        "approved_at": approval.approved_at.isoformat(),
        "sample_run_id": approval.sample_run_id,
        "note": approval.note,
        "override_reason": approval.override_reason or "",
    }
