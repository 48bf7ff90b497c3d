"""The per-phase run report: counts that add up for every object, and the diff totals.

Shape (other keys may be added):
    {"pair", "phase", "spec_hash",
     "objects": {obj: {"source", "loaded", "quarantined", "excluded", "destination_count"}},
     "diff": {"records_compared", "fields_compared", "mismatches"}}
where source = loaded + quarantined + excluded for every object, and destination_count counts the
destination records that carry this pair's external id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import duckdb

from migration_assets.connectors.base import DestinationConnector
from migration_assets.discovery.estimating import predicted_vs_measured
from migration_assets.engine.planning import effective_spec
from migration_assets.engine.transform import EXT
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import db, ledger, quarantine, state
from migration_assets.staging.tables import stage_table


def object_counts(conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, obj: str, phase: str) -> dict[str, int]:
    staged = db.read_slice(conn, stage_table(obj), phase)
    staged_ids = set(staged[EXT].to_list()) if staged.height else set()
    counts = state.stage_counts(conn, obj, phase) or {"source": 0, "quarantined": 0, "excluded": 0}
    outcomes = ledger.phase_outcomes(conn, obj, phase) if db.table_exists(conn, "ledger") else {}
    loaded_n = sum(1 for e in staged_ids if outcomes.get(e) == "ok")
    load_q = (
        {
            r[0]
            for r in conn.execute(
                "select distinct external_id from quarantine where _phase = ? and object = ? and step = 'load'",
                [phase, obj],
            ).fetchall()
        }
        if db.table_exists(conn, "quarantine")
        else set()
    )
    load_q = {e for e in load_q if e in staged_ids and outcomes.get(e) != "ok"}
    out = {
        "source": int(counts["source"]),
        "loaded": loaded_n,
        "quarantined": int(counts["quarantined"]) + len(load_q),
        "excluded": int(counts["excluded"]),
        "source_rows": int(counts.get("source_rows", counts["source"])),
        "merged": int(counts.get("merged", 0)),
    }
    out["unaccounted"] = out["source"] - out["loaded"] - out["quarantined"] - out["excluded"]
    if "full_preview_held_back" in counts:  # the sample's preview of the full run, at staging
        out["full_preview_held_back"] = int(counts["full_preview_held_back"])
        out["full_preview_source"] = int(counts["full_preview_source"])
    return out


def held_back(conn: duckdb.DuckDBPyConnection, phase: str) -> dict[str, Any]:
    """What the phase holds back, by reason and root cause, and the records it loaded partially or
    with a substitution (so a report never says "all good" while records wait)."""
    return {
        **quarantine.summary(quarantine.rows(conn, phase)),
        "partial_records": quarantine.counts(conn, "partial_fields", phase),
        "substitutions": quarantine.counts(conn, "substitutions", phase),
    }


def diff_totals(conn: duckdb.DuckDBPyConnection, phase: str) -> dict[str, int]:
    if not db.table_exists(conn, "diff_results"):
        return {"records_compared": 0, "fields_compared": 0, "mismatches": 0}
    row = conn.execute(
        "select coalesce(sum(records_compared),0), coalesce(sum(fields_compared),0), coalesce(sum(mismatches),0) "
        "from diff_results where phase = ?",
        [phase],
    ).fetchall()[0]
    return {"records_compared": int(row[0]), "fields_compared": int(row[1]), "mismatches": int(row[2])}


async def destination_counts(loaded: LoadedSpec, dest: DestinationConnector) -> dict[str, int]:
    try:
        return {name: await dest.count(obj.table, obj.external_id.column) for name, obj in loaded.spec.objects.items()}
    finally:
        await dest.aclose()


def build_report(
    conn, loaded: LoadedSpec, phase: str, dest: DestinationConnector, *, run: tuple[str, float, float] | None = None
) -> dict[str, Any]:
    """The report of one phase; with its latest `run` (run id, start, end), `estimate` also holds
    the measured duration beside the plan/estimate prediction and the error in percent."""
    loaded = effective_spec(conn, loaded, phase)  # the tables of the variant the phase used
    counts = asyncio.run(destination_counts(loaded, dest))
    objects = {}
    for name in loaded.load_order:
        objects[name] = {**object_counts(conn, loaded, name, phase), "destination_count": counts[name]}
    return {
        "pair": loaded.pair,
        "phase": phase,
        "spec_hash": loaded.content_hash,
        "objects": objects,
        "diff": diff_totals(conn, phase),
        "held_back": held_back(conn, phase),
        "estimate": predicted_vs_measured(conn, phase, run),
    }
