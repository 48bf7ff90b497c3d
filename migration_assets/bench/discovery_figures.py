"""Figures `make bench` prints for issue #7: the proposer's precision/recall against every
hand-confirmed spec, and the estimator's predicted vs measured duration of the full phase."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.table import Table

from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.discovery import estimating
from migration_assets.discovery.destination_schema import discover_destination
from migration_assets.discovery.proposing import is_confirmed, propose, score_against, to_yaml
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import LoadedSpec, load_all, load_spec

DEFINITION = (
    "a proposed (table, column) is correct when the hand-confirmed spec fills the same column from the "
    "same source fields (the fields its expression reads); precision = correct / proposed, "
    "precision_in_scope = correct / proposed for tables the hand spec maps, recall = correct / hand-mapped "
    "columns (fields and lookups)"
)


async def _destination(system: str, sandbox: Path) -> dict:
    dest = open_destination(system, resolve_connection(system, state_dir=sandbox, environ={}))
    try:
        return (await discover_destination(dest)).to_json()
    finally:
        await dest.aclose()


def proposer_scores(paths: Paths, spec_dir: Path | None = None) -> dict[str, dict]:
    """Precision/recall of `propose` per hand-confirmed pair (destinations discovered on the sandbox)."""
    out = {}
    for hand in load_all(spec_dir):
        if not is_confirmed(hand):
            continue
        destination = asyncio.run(_destination(hand.spec.destination, paths.sandbox))
        draft = propose(hand.spec.source, hand.spec.destination, destination)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{hand.pair}.yaml"
            path.write_text(to_yaml(draft), encoding="utf-8")
            out[hand.pair] = score_against(load_spec(path), hand)
    return out


def estimate_error(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    loaded: LoadedSpec,
    paths: Paths,
    rehearsals: tuple[list, list] = ([], []),
) -> dict | None:
    """Predict the pair's latest full run from what was known before it started (discovery, the
    earlier runs' steps and any `rehearsals`: steps and runs of the pair measured elsewhere), and
    compare with the run's measured wall time (per step too: `steps` holds the predicted seconds)."""
    from migration_assets.defs.discover import estimate_with, run_plan
    from migration_assets.defs.layers import PairDefs
    from migration_assets.defs.naming import migrate_job_name
    from migration_assets.defs.phases import phases_def
    from migration_assets.defs.resources import ConnectionsResource

    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=migrate_job_name(loaded.pair), tags={"dagster/partition": "full"}), limit=1
    )
    if not runs:
        return None
    stats = instance.get_run_stats(runs[0].run_id)
    if not run_plan(defs, instance, loaded.pair, "full", estimate_only=True).success:
        return None
    connections = ConnectionsResource(sandbox_dir=str(paths.sandbox))
    ctx = PairDefs(loaded, phases_def(loaded.pair), paths)
    data = estimate_with(instance, connections, ctx, before=stats.start_time, rehearsals=rehearsals)
    full = data["phases"]["full"]
    return {
        **estimating.compare(full["seconds"], stats.end_time - stats.start_time),
        "records": sum(full["records"].values()),
        "requests": full["requests"],
        "measured_runs": data["measured_runs"],
        "steps": {s["step"]: s["seconds"] for s in full["steps"]},
    }


def print_discovery_figures(
    defs: dg.Definitions, instance: dg.DagsterInstance, paths: Paths, pairs: list[str], console: Console
) -> dict:
    """Print and return the proposer and estimator figures."""
    scores = proposer_scores(paths)
    table = Table(title="mapping proposer vs hand-confirmed specs")
    for column in ("pair", "proposed", "hand_mapped", "correct", "precision", "precision_in_scope", "recall"):
        table.add_column(column, justify="left" if column == "pair" else "right")
    for pair, s in scores.items():
        table.add_row(
            pair,
            *(str(s[k]) for k in ("proposed", "hand_mapped", "correct", "precision", "precision_in_scope", "recall")),
        )
    console.print(table)
    console.print(f"[dim]{DEFINITION}[/]")
    errors = {}
    specs = {s.pair: s for s in load_all(SPEC_DIR)}
    table = Table(title="estimator: full phase predicted vs measured")
    for column in ("pair", "records", "requests", "predicted_s", "measured_s", "error_%"):
        table.add_column(column, justify="left" if column == "pair" else "right")
    for pair in pairs:
        figures = estimate_error(defs, instance, specs[pair], paths) if pair in specs else None
        if figures:
            errors[pair] = figures
            table.add_row(
                pair,
                str(figures["records"]),
                str(figures["requests"]),
                str(figures["predicted_seconds"]),
                str(figures["measured_seconds"]),
                f"{figures['error_percent']:+.1f}",
            )
    console.print(table)
    return {"proposer": scores, "estimator": errors}
