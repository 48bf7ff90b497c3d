"""Reconciliation report: JSON for machines, HTML with charts for the person signing off cutover."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from migration_assets.engine.reconciling import ObjectReconciliation
from migration_assets.reports import html


def write(
    directory: Path,
    pair: str,
    phase: str,
    scope: list[str],
    results: list[ObjectReconciliation],
    held_back: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    stem = directory / f"reconciliation-{phase}"
    held = held_back or {"total": 0}
    data = {"pair": pair, "phase": phase, "scope": scope, "held_back": held, "objects": [asdict(r) for r in results]}
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(data, indent=2, default=str))
    html_path = stem.with_suffix(".html")
    html_path.write_text(render(pair, phase, scope, results, held))
    return json_path, html_path


def verdict(pair: str, phase: str, results: list[ObjectReconciliation], held: dict[str, Any]) -> str:
    """The headline: green only when everything reconciles and nothing is held back."""
    problems = [f"{r.object}: {p}" for r in results for ps in r.problems.values() for p in ps]
    loaded = sum(r.counts.get("loaded", 0) for r in results)
    if problems:
        return (
            "<p class='bad'>Unexplained differences:</p><ul>"
            + "".join(f"<li>{html.esc(p)}</li>" for p in problems)
            + "</ul>"
        )
    if held.get("total"):
        reasons = "".join(
            f"<li>{html.esc(r['root_cause'])}: {r['records']}</li>" for r in held.get("by_root_cause", [])[:5]
        )
        return (
            f"<p class='warn'>{loaded} records loaded and reconciled; {held['total']} held back, by root cause:</p>"
            f"<ul>{reasons}</ul><p>The full list: <code>migrate quarantine {html.esc(pair)} --phase "
            f"{html.esc(phase)}</code> (CSV with <code>--csv</code>, for corrections).</p>"
        )
    return f"<p class='ok'>Everything reconciles: {loaded} records loaded, none held back.</p>"


def render(pair: str, phase: str, scope: list[str], results: list[ObjectReconciliation], held: dict[str, Any]) -> str:
    body = [
        f"<h1>Reconciliation · {html.esc(pair)}</h1>",
        f"<p>Phase {html.esc(phase)}; scope: {html.esc(', '.join(scope))}</p>",
        verdict(pair, phase, results, held),
    ]
    counts = {
        r.object: {k: r.counts.get(k, 0) for k in ("source", "loaded", "quarantined", "excluded", "destination_count")}
        for r in results
    }
    body.append(html.grouped_bars(counts, title="Records per object"))
    body.append(html.table([{"object": o, **c} for o, c in counts.items()]))
    for name, route in {r.route["route"]: r.route for r in results if r.route}.items():  # 1:many routing
        rows = [{"object": m, **c} for m, c in route["members"].items()]
        body.append(f"<h2>Route {html.esc(name)}: {route['source']} source records</h2>" + html.table(rows))
    for r in results:
        for column, values in r.distributions.items():
            chart = {v: {"staged": s["staged"], "destination": s["destination"]} for v, s in values.items()}
            body.append(html.grouped_bars(chart, title=f"{r.object}.{column}: staged vs destination"))
        body.append(f"<h2>{html.esc(r.object)}</h2>")
        body.append(
            "<h3>Field population</h3>"
            + html.table(
                [
                    {"column": c, "staged": f"{v['staged']:.0%}", "destination": f"{v['destination']:.0%}"}
                    for c, v in r.population.items()
                ]
            )
        )
        body.append(
            "<h3>Linkage</h3>"
            + html.table(
                [
                    {"lookup": c, "target": v["target"], "resolved": v["resolved"], "orphans": v["orphan_count"]}
                    for c, v in r.linkage.items()
                ]
            )
        )
        for column, v in r.linkage.items():
            if v["orphans"]:
                body.append(f"<h4>Orphans of {html.esc(column)}</h4>" + html.table(v["orphans"]))
    return html.page(f"Reconciliation {pair} {phase}", "".join(body))
