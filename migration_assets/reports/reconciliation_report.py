"""Reconciliation report: JSON for machines, HTML for the person who signs off the cutover.

The page reads top to bottom as a sign-off: a header (pair, phase, scope, run id, time, spec hash,
approval), one verdict (green: everything reconciles and nothing is held back; amber: reconciled,
but records are held back; red: unexplained differences or diff mismatches), the counts per object,
the field-level diff per object with examples of every mismatch, what is held back by root cause,
then one section per object with its value distributions (option values shown with their labels),
field population and linkage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from migration_assets.engine.diffing import normalize
from migration_assets.engine.reconciling import ObjectReconciliation
from migration_assets.reports import html
from migration_assets.spec.loader import LoadedSpec

COUNT_COLUMNS = ("source", "loaded", "quarantined", "excluded", "destination_count")
EXAMPLES = 5  # mismatches shown per object (the JSON diff report keeps every one)


@dataclass(frozen=True)
class SignOff:
    """The facts at the top of the report: what was reconciled, by which run, under which spec."""

    pair: str
    phase: str
    scope: list[str]
    run_id: str
    written_at: datetime
    spec_hash: str
    source: str = ""
    destination: str = ""
    approval: dict[str, Any] | None = None  # approver, approved_at, sample_run_id, note, override_reason


@dataclass
class DiffSummary:
    """The field-level diff of the phases in scope, per object (from the verify/diff step)."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # object -> records, fields, mismatches

    @property
    def mismatches(self) -> int:
        return sum(int(o["mismatches"]) for o in self.objects.values())


def option_labels(loaded: LoadedSpec, obj_name: str) -> dict[str, dict[str, str]]:
    """{column: {value as reconciliation keys it: "Label (value)"}} for every value-mapped column.

    Labels come from the spec: the option labels its `schema:` declares for the column, else the
    source labels the value map sends to that value ("Closed, Closed Won (5)").
    """
    obj = loaded.spec.objects[obj_name]
    declared = loaded.spec.schema_.get(obj.table)
    out: dict[str, dict[str, str]] = {}
    for column, node in obj.fields.items():
        if not (isinstance(node, dict) and node.get("op") == "value_map"):
            continue
        vmap = loaded.spec.value_maps.get(str(node.get("map")))
        if vmap is None:
            continue
        index = vmap.outputs.index(node["output"]) if node.get("output") in vmap.outputs else 0
        by_value: dict[str, list[str]] = {}
        for label, value in vmap.values.items():
            picked = value[index] if isinstance(value, list) else value
            by_value.setdefault(str(normalize(picked)), []).append(label)
        options = declared.columns.get(column).options if declared and column in declared.columns else []
        for option in options:
            if not isinstance(option, str) and option.value is not None:
                by_value[str(normalize(option.value))] = [option.label]
        out[column] = {key: _label(labels, key) for key, labels in by_value.items()}
    return out


def _label(labels: list[str], key: str) -> str:
    shown = ", ".join(labels[:3]) + (f" +{len(labels) - 3}" if len(labels) > 3 else "")
    raw = key.removesuffix(".0")
    return shown if shown == raw else f"{shown} ({raw})"


def write(
    directory: Path,
    signoff: SignOff,
    results: list[ObjectReconciliation],
    held_back: dict[str, Any] | None = None,
    diff: DiffSummary | None = None,
    labels: dict[str, dict[str, dict[str, str]]] | None = None,
) -> tuple[Path, Path]:
    """Write `reconciliation-<phase>.json` and `.html` in `directory`.

    Args:
        directory: the pair's report folder.
        signoff: the header facts.
        results: one reconciliation per object.
        held_back: the quarantine summary of the phase (total, by_root_cause, ...).
        diff: the field-level diff of the phases in scope.
        labels: {object: {column: {value: label}}} (see `option_labels`).

    Returns:
        (JSON path, HTML path).
    """
    stem = directory / f"reconciliation-{signoff.phase}"
    held = held_back or {"total": 0}
    diff = diff or DiffSummary()
    data = {
        **asdict(signoff),
        "verdict": verdict_level(results, held, diff),
        "held_back": held,
        "diff": diff.objects,
        "objects": [asdict(r) for r in results],
    }
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(data, indent=2, default=str))
    html_path = stem.with_suffix(".html")
    html_path.write_text(render(signoff, results, held, diff, labels or {}))
    return json_path, html_path


def verdict_level(results: list[ObjectReconciliation], held: dict[str, Any], diff: DiffSummary) -> str:
    """green only when everything reconciles, the diff is clean and nothing is held back."""
    if any(ps for r in results for ps in r.problems.values()) or diff.mismatches:
        return "red"
    return "amber" if held.get("total") else "green"


def verdict(signoff: SignOff, results: list[ObjectReconciliation], held: dict[str, Any], diff: DiffSummary) -> str:
    """The headline banner of the page."""
    problems = [f"{r.object}: {p}" for r in results for ps in r.problems.values() for p in ps]
    loaded = sum(r.counts.get("loaded", 0) for r in results)
    level = verdict_level(results, held, diff)
    command = f"migrate quarantine {signoff.pair} --phase {signoff.phase}"
    if level == "red":
        details = [*problems[:20], *([f"{diff.mismatches} field mismatch(es) in the diff"] if diff.mismatches else [])]
        return html.verdict("red", "Not reconciled: unexplained differences", details)
    if level == "amber":
        reasons = [f"{r['root_cause']}: {r['records']}" for r in held.get("by_root_cause", [])[:5]]
        after = (
            f"<p>Every held-back record, with its reason: <code>{html.esc(command)}</code> (add <code>--csv</code> "
            "for a corrections file).</p>"
        )
        headline = f"{loaded:,} records loaded and reconciled; {held['total']:,} held back, by root cause:"
        return html.verdict("amber", headline, reasons, after)
    return html.verdict("green", f"Everything reconciles: {loaded:,} records loaded, none held back.")


def _header(signoff: SignOff) -> str:
    approval = signoff.approval
    if approval:
        text = f"{approval.get('approver')} on {str(approval.get('approved_at', ''))[:19]}"
        text += f" (sample run {str(approval.get('sample_run_id', ''))[:8]})"
        if approval.get("override_reason"):
            text += f"; override: {approval['override_reason']}"
    else:
        text = "not needed for the sample" if signoff.phase == "sample" else "none recorded"
    return html.header_table(
        [
            ("Pair", f"{signoff.pair} ({signoff.source} → {signoff.destination})"),
            ("Phase", signoff.phase),
            ("Scope", ", ".join(signoff.scope)),
            ("Run id", signoff.run_id),
            ("Written at", signoff.written_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()),
            ("Spec hash", signoff.spec_hash),
            ("Approval", text),
        ]
    )


def render(
    signoff: SignOff,
    results: list[ObjectReconciliation],
    held: dict[str, Any],
    diff: DiffSummary,
    labels: dict[str, dict[str, dict[str, str]]],
) -> str:
    body = [
        f"<h1>Reconciliation · {html.esc(signoff.pair)} · {html.esc(signoff.phase)}</h1>",
        _header(signoff),
        verdict(signoff, results, held, diff),
        _counts(results),
        _diff_section(diff),
        _held_section(signoff, held),
        _routes(results),
    ]
    body += [_object_section(r, labels.get(r.object, {})) for r in results]
    nav = [("Index of reports", "index.html"), ("Counts", "#counts"), ("Field-level diff", "#diff")]
    nav += [("Held back", "#held-back")] if held.get("total") else []
    nav += [(r.object, f"#object-{r.object}") for r in results]
    return html.page(f"Reconciliation {signoff.pair} {signoff.phase}", "".join(body), nav)


def _counts(results: list[ObjectReconciliation]) -> str:
    counts = {r.object: {k: r.counts.get(k, 0) for k in COUNT_COLUMNS} for r in results}
    return (
        '<h2 id="counts">Counts per object</h2>'
        "<p class='muted'>source = loaded + quarantined + excluded; destination_count counts the "
        "destination records that carry this pair's external id.</p>"
        + html.table([{"object": o, **c} for o, c in counts.items()])
        + html.bar_chart(
            {o: {k: c[k] for k in ("source", "loaded", "destination_count")} for o, c in counts.items()},
            title="Records per object",
        )
    )


def _diff_section(diff: DiffSummary) -> str:
    out = ['<h2 id="diff">Field-level diff</h2>']
    if not diff.objects:
        return out[0] + "<p><em>no diff recorded for this scope (verify/diff has not run)</em></p>"
    out.append(
        "<p class='muted'>Every loaded record read back from the destination and each mapped field "
        "compared with its staged value.</p>"
    )
    rows = [
        {
            "object": name,
            "records compared": f"{int(d['records_compared']):,}",
            "fields compared": f"{int(d['fields_compared']):,}",
            "mismatches": f"{int(d['mismatches']):,}",
        }
        for name, d in diff.objects.items()
    ]
    out.append(html.table(rows))
    for name, d in diff.objects.items():
        if d.get("examples"):
            out.append(f"<h3>{html.esc(name)}: mismatches (first {len(d['examples'])})</h3>")
            out.append(html.table(d["examples"], ["external_id", "column", "staged", "destination"]))
    return "".join(out)


def _held_section(signoff: SignOff, held: dict[str, Any]) -> str:
    if not held.get("total"):
        return ""
    rows = [{"root cause": r["root_cause"], "records": r["records"]} for r in held.get("by_root_cause", [])[:15]]
    return (
        f'<h2 id="held-back">Held back: {held["total"]:,} record(s)</h2>'
        + html.table(rows)
        + f"<p>The list, one row per record: <code>migrate quarantine {html.esc(signoff.pair)} --phase "
        f"{html.esc(signoff.phase)}</code></p>"
    )


def _routes(results: list[ObjectReconciliation]) -> str:
    out = []
    for name, route in {r.route["route"]: r.route for r in results if r.route}.items():  # 1:many routing
        rows = [{"object": m, **c} for m, c in route["members"].items()]
        out.append(f"<h2>Route {html.esc(name)}: {route['source']} source records</h2>" + html.table(rows))
    return "".join(out)


def _object_section(r: ObjectReconciliation, labels: dict[str, dict[str, str]]) -> str:
    out = [f'<h2 id="object-{html.esc(r.object)}">{html.esc(r.object)}</h2>']
    if r.distributions:
        out.append("<h3>Value distributions</h3>")
    for column, values in r.distributions.items():
        named = labels.get(column, {})
        chart = {
            named.get(v, v.removesuffix(".0")): {"staged": s["staged"], "destination": s["destination"]}
            for v, s in values.items()
        }
        out.append(html.bar_chart(chart, title=f"{r.object}.{column}: staged vs destination"))
    out.append(
        "<h3>Field population</h3>"
        + html.table(
            [
                {"column": c, "staged": f"{v['staged']:.0%}", "destination": f"{v['destination']:.0%}"}
                for c, v in r.population.items()
            ]
        )
    )
    out.append(
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
            out.append(f"<h4>Orphans of {html.esc(column)}</h4>" + html.table(v["orphans"]))
    return "".join(out)
