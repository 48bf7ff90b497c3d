"""`migrate run`, `migrate plan` and `migrate summary`: launching runs and saying how they ended.

Before a run is launched its preconditions are checked (`preflight`): every system either fully
configured or left to its sandbox, and a sandbox seeded; for full and delta runs, an approval of the
current spec. A refusal or a failure is one plain paragraph ending with the next command to run;
Dagster's engine events and stack traces are shown only with `--verbose`.

Every run ends with its summary table and the reports it wrote; `migrate summary` is the short
human ending of `make demo`: per phase run, what loaded, what is held back and why, the diff, where
the reports are and what to do next.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table

from migration_assets.cli_progress import RunProgress
from migration_assets.errors import MigrationError
from migration_assets.settings import Paths, default_paths
from migration_assets.spec.loader import LoadedSpec

UI_URL = "http://127.0.0.1:3000"


def me() -> str:
    """How this command was invoked (`.venv/bin/migrate` from `make`), for the next commands we print."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "migrate":
        return "migrate"
    try:
        return str(argv0.resolve().relative_to(Path.cwd()))
    except ValueError:
        return "migrate"


def shown(path: Path) -> str:
    """A path as a person types it: relative to the current folder when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- preconditions ---------------------------------------------------------------------------------
def preflight(spec: LoadedSpec, phase: str, paths: Paths) -> dict[str, str]:
    """Check what a run needs before launching it; returns {role: target} (sandbox or a URL).

    Raises:
        MigrationError: a system partly configured (names the missing variables), a sandbox not
            seeded, or a full/delta run without an approval of the current spec; each message ends
            with the command to run next.
    """
    from migration_assets.connectors import resolve_connection
    from migration_assets.systems import system

    targets, unseeded = {}, []
    for role, name in (("source", spec.spec.source), ("destination", spec.spec.destination)):
        connection = resolve_connection(name, state_dir=paths.sandbox)
        targets[role] = connection.describe()["target"]
        if connection.sandbox and not sandbox_seeded(system(name).state_path(paths.sandbox), role):
            unseeded.append(name)
    if unseeded:
        raise MigrationError(
            f"the sandbox of {' and '.join(unseeded)} has no data yet (nothing in {shown(paths.sandbox)}). "
            f"Run `{me()} sandbox seed` first (the demo uses --scale 500 --seed 42), then this command again."
        )
    if phase != "sample":
        _require_approval(spec, phase, paths)
    return targets


def sandbox_seeded(state: Path, role: str) -> bool:
    """A sandbox state file that exists and, for a source, holds records (a reset leaves none)."""
    if not state.exists():
        return False
    if role != "source":
        return True
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return any(
            conn.execute(f'select 1 from "{t}" limit 1').fetchone() for t in tables if t != "sandbox_options"
        )


def _require_approval(spec: LoadedSpec, phase: str, paths: Paths) -> None:
    import duckdb

    from migration_assets.errors import ApprovalRequired
    from migration_assets.staging import approvals

    db = paths.staging_db(spec.pair)
    if not db.exists():
        raise MigrationError(
            f"the {phase} run of {spec.pair} needs an approved sample, and no sample has run yet. Run "
            f"`{me()} run {spec.pair} --phase sample`, review its reports, then "
            f"`{me()} approve {spec.pair} --by <you>`."
        )
    try:
        with duckdb.connect(str(db), read_only=True) as conn:
            approvals.require(conn, spec.pair, spec.content_hash, phase)
    except duckdb.IOException:
        return  # a run holds the staging file: its approval gate decides
    except ApprovalRequired:
        raise MigrationError(
            f"the {phase} run of {spec.pair} needs an approval of the sample under spec {spec.content_hash} "
            "(nobody approved yet, or the spec changed since). Review the sample "
            f"({shown(paths.report_dir(spec.pair) / 'index.html')}), then run "
            f"`{me()} approve {spec.pair} --by <you>`."
        ) from None


# -- after a run -----------------------------------------------------------------------------------
def failure_paragraph(pair: str, phase: str, run_id: str, failures: list[str], skipped: int) -> str:
    """One paragraph: what failed, what did not run, and the command to run next."""
    from migration_assets.defs.naming import step_label

    step_key, _, message = failures[0].partition(": ")
    label = step_label(pair, step_key)
    more = f" ({len(failures) - 1} other step(s) failed too)" if len(failures) > 1 else ""
    after = f" {skipped} step(s) after it did not run." if skipped else ""
    return (
        f"The {phase} run of {pair} stopped at {label}: {message.rstrip('.')}.{more}{after} "
        f"Next: {_next_step(pair, phase, message)} The run is {run_id[:8]} in the UI (`make ui`, Runs); "
        "add --verbose for Dagster's events and the stack trace."
    )


def _next_step(pair: str, phase: str, message: str) -> str:
    text = message.lower()
    if "approv" in text and "refused" in text:
        return f"review the sample's reports, then `{me()} approve {pair} --by <you>`."
    if "schema" in text and "not applied" in text:
        return (
            f"do the schema setup checklist (`{me()} sandbox apply-schema-plan {pair}` in the sandbox), then "
            f"`{me()} run {pair} --phase {phase}` again."
        )
    if "budget" in text:
        return f"`{me()} run {pair} --phase {phase}` again once the budget resets (nothing is redone)."
    return f"fix the cause, then `{me()} run {pair} --phase {phase}` again (loaded records are skipped)."


def summary_table(report: dict[str, Any]) -> Table:
    """The per-object counts of a run report."""
    title = f"{report['pair']} · {report['phase']} · spec {report['spec_hash']}"
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, show_edge=False)
    columns = {"source": "source", "loaded": "loaded", "quarantined": "held back", "excluded": "excluded"}
    columns["destination_count"] = "in destination"
    table.add_column("object")
    for label in columns.values():
        table.add_column(label, justify="right")
    for name, c in report["objects"].items():
        table.add_row(name, *(f"{c[k]:,}" for k in columns))
    return table


def report_lines(paths: dict[str, Path], index: Path) -> list[str]:
    """`reports: index` then one line per report file the run wrote (HTML/Markdown before JSON twins)."""
    lines = [f"reports: {shown(index)} (every report of the pair)"]
    readable = {p for p in paths.values() if p.suffix != ".json"}
    twins = {p.with_suffix(".json") for p in readable}
    listed = [p for p in dict.fromkeys(paths.values()) if p not in twins and p != index]
    lines += [f"  {shown(p)}" for p in listed]
    return lines


def headline(report: dict[str, Any]) -> str:
    """`478 loaded, 22 held back (top reason), diff: 0 mismatches in 3,201 fields`."""
    loaded = sum(c["loaded"] for c in report["objects"].values())
    held = report.get("held_back") or {}
    d = report["diff"]
    text = f"{loaded:,} loaded, {held.get('total', 0):,} held back"
    if held.get("by_root_cause"):
        top = held["by_root_cause"][0]
        text += f" (most: {top['root_cause']}, {top['records']})"
    diff = f"{d['mismatches']:,} mismatches in {d['fields_compared']:,} fields"
    return f"{text}; diff: {diff}"


def timed(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def print_report(console: Console, report: dict[str, Any]) -> None:
    """The summary table of a run report, its diff, what it holds back and the duration."""
    console.print(summary_table(report))
    d = report["diff"]
    console.print(
        f"diff: {d['records_compared']:,} records, {d['fields_compared']:,} fields compared, "
        f"{d['mismatches']:,} mismatches"
    )
    _print_held_back(console, report)
    e = report.get("estimate") or {}
    if e.get("measured_seconds") is not None and e.get("predicted_seconds") is not None:
        console.print(
            f"duration: predicted {e['predicted_seconds']}s, measured {e['measured_seconds']}s "
            f"(error {e['error_percent']:+.1f}%)"
        )


def _print_held_back(console: Console, report: dict) -> None:
    held = report.get("held_back") or {}
    if not held.get("total"):
        console.print("held back: none")
    else:
        top = "; ".join(f"{r['root_cause']} ({r['records']})" for r in held["by_root_cause"][:3])
        console.print(f"[yellow]held back: {held['total']:,} record(s)[/]: {top}")
        console.print(f"  see `{me()} quarantine {report['pair']} --phase {report['phase']}`")
    preview = [c for c in report["objects"].values() if "full_preview_held_back" in c]
    if preview:
        would = sum(c["full_preview_held_back"] for c in preview)
        of = sum(c["full_preview_source"] for c in preview)
        console.print(f"the full run would hold back {would:,} of {of:,} records at staging (before loading)")
    partial = sum(held.get("partial_records", {}).values())
    if partial:
        console.print(f"loaded without a broken optional part: {partial:,} record(s) (see the stage metadata)")


# -- the commands ------------------------------------------------------------------------------------
def cmd_run(args, console: Console) -> int:
    """`migrate run PAIR --phase P [--quiet] [--verbose]`."""
    from datetime import UTC, datetime

    from migration_assets.cli import _defs, _instance, _report, _spec
    from migration_assets.defs.phases import delta_partition_key
    from migration_assets.defs.runner import report_paths, run_phase
    from migration_assets.reports.index import write_index

    spec = _spec(args.pair)
    phase = delta_partition_key(datetime.now(UTC)) if args.phase == "delta" else args.phase
    if phase not in ("sample", "full") and not phase.startswith("delta-"):
        raise MigrationError(f"unknown phase {args.phase!r} (known: sample, full, delta)")
    paths = default_paths()
    targets = preflight(spec, phase, paths)
    instance = _instance()
    if not args.quiet:
        console.print(
            f"{spec.pair} · {phase} · source {spec.spec.source}: {targets['source']} · "
            f"destination {spec.spec.destination}: {targets['destination']}"
        )
    started = time.monotonic()
    tags = {f"migrate/{role}_target": target for role, target in targets.items()}
    with RunProgress(console, f"{spec.pair} {phase}", spec.pair, steps=not args.quiet) as display:
        say = display.progress.console.print
        outcome = run_phase(
            _defs(), instance, spec.pair, phase, tags=tags, say=say, verbose=args.verbose, on_event=display.on_event
        )
    index = write_index(paths.report_dir(spec.pair), spec.pair)
    if not outcome.success:
        return _failed(console, args, outcome, display.skipped, index)
    report = _report(spec, phase)
    elapsed = timed(time.monotonic() - started)
    if args.quiet:
        console.print(f"[green]✓[/] {spec.pair} {phase} in {elapsed}: {headline(report)}")
        console.print(f"  reports: {shown(index)}", highlight=False)
    else:
        console.print(f"[green]✓[/] {spec.pair} {phase}: run {outcome.run_id[:8]}, {display.done} steps in {elapsed}")
        print_report(console, report)
        for line in report_lines(report_paths(instance, outcome.run_id), index):
            console.print(line, highlight=False)
    for check in outcome.failed_checks:
        console.print(f"  [yellow]check failed:[/] {check}")
    return 0 if not outcome.failed_checks else 2


def _failed(console: Console, args, outcome, skipped: int, index: Path) -> int:
    if args.verbose:
        for trace in outcome.tracebacks:
            console.print(trace, markup=False, highlight=False)
    console.print(
        "[red]✗[/] " + failure_paragraph(outcome.pair, outcome.phase, outcome.run_id, outcome.failures, skipped),
        highlight=False,
    )
    console.print(f"  reports so far: {shown(index)}", highlight=False)
    return 1


def cmd_plan(args, console: Console) -> int:
    """`migrate plan PAIR [--phase sample]`: the <pair>__plan job (discovery, profiles, estimate, grade)."""
    from migration_assets.cli import _defs, _instance, _spec
    from migration_assets.defs.discover import run_plan
    from migration_assets.defs.runner import failures_of
    from migration_assets.reports.discovery_report import read_report
    from migration_assets.reports.index import write_index

    spec = _spec(args.pair)
    paths = default_paths()
    preflight(spec, "sample", paths)
    with RunProgress(console, f"{spec.pair} plan", spec.pair, steps=not args.quiet) as display:
        result = run_plan(
            _defs(), _instance(), spec.pair, args.phase, verbose=args.verbose, on_event=display.on_event
        )
    folder = paths.report_dir(spec.pair)
    index = write_index(folder, spec.pair)
    if not result.success:
        failures, traces = failures_of(result)
        if args.verbose:
            for trace in traces:
                console.print(trace, markup=False, highlight=False)
        paragraph = failure_paragraph(spec.pair, f"plan ({args.phase})", result.run_id, failures, display.skipped)
        console.print("[red]✗[/] " + paragraph, highlight=False)
        return 1
    grade = (read_report(folder / "plan" / "report.json") or {}).get("grade", {})
    console.print(
        f"[green]✓[/] plan of {spec.pair}: grade {grade.get('grade', '?')}, {grade.get('summary', '')}".rstrip(", "),
        highlight=False,
    )
    console.print(f"  reports: {shown(folder / 'plan' / 'report.html')} (profiles, discovery: {shown(index)})")
    return 0


def cmd_summary(args, console: Console) -> int:
    """`migrate summary [PAIR ...]`: the short human ending of a demo, per pair that has run."""
    from migration_assets.cli import _instance, _specs

    specs = _specs()
    unknown = [p for p in args.pairs if p not in specs]
    if unknown:
        raise MigrationError(f"unknown pair(s) {', '.join(unknown)} (known: {', '.join(specs)})")
    paths = default_paths()
    pairs = args.pairs or [p for p in specs if paths.staging_db(p).exists()]
    if not pairs:
        raise MigrationError(f"no pair has run yet: run `{me()} run <pair> --phase sample` first")
    instance = _instance()
    for pair in pairs:
        _pair_summary(console, specs[pair], instance, paths)
    return 0


def _phases_run(instance, pair: str) -> list[str]:
    """sample, full and the latest delta, for those with a successful migrate run."""
    import dagster as dg

    from migration_assets.defs.naming import migrate_job_name

    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=migrate_job_name(pair), statuses=[dg.DagsterRunStatus.SUCCESS]), limit=50
    )
    keys = [r.tags.get("dagster/partition", "") for r in runs]
    deltas = sorted(k for k in keys if k.startswith("delta-"))
    return [p for p in ("sample", "full") if p in keys] + deltas[-1:]


def _pair_summary(console: Console, spec: LoadedSpec, instance, paths: Paths) -> None:
    from migration_assets.cli import _report
    from migration_assets.systems import system

    pair = spec.pair
    phases = _phases_run(instance, pair)
    reports = {phase: _report(spec, phase) for phase in phases}
    title = f"{system(spec.spec.source).title} → {system(spec.spec.destination).title}"
    console.print(f"[bold]{pair}[/] · {title} · spec {spec.content_hash} · {_approved(spec, paths)}", highlight=False)
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 3, 0, 0))
    for column, justify in (("phase", "left"), ("loaded", "right"), ("held back", "right"), ("diff", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for phase, report in reports.items():
        loaded = sum(c["loaded"] for c in report["objects"].values())
        d = report["diff"]
        verdict = "[green]✓[/]" if not d["mismatches"] else "[red]✗[/]"
        diff = f"{verdict} {d['mismatches']:,} mismatches in {d['fields_compared']:,} fields"
        table.add_row(phase, f"{loaded:,}", f"{report['held_back'].get('total', 0):,}", diff)
    console.print(Padding(table, (0, 0, 0, 2)))
    focus = "full" if "full" in reports else (phases[-1] if phases else None)
    held = reports[focus]["held_back"] if focus else {}
    if held.get("total"):
        top = "; ".join(f"{r['root_cause']} ({r['records']})" for r in held.get("by_root_cause", [])[:3])
        console.print(f"  held back in {focus}, most: {top}", highlight=False)
    folder = paths.report_dir(pair)
    links = [folder / "index.html", *(folder / f"reconciliation-{p}.html" for p in phases[-1:])]
    links.append(folder / "plan" / "report.html")
    for i, link in enumerate(shown(p) for p in links if p.exists()):
        console.print(f"  {'reports' if i == 0 else '':<9}{link}", highlight=False)
    commands = _next_commands(pair, focus)
    width = max(len(c) for c, _ in commands)
    for i, (command, why) in enumerate(commands):
        console.print(f"  {'next' if i == 0 else '':<9}{command:<{width}}  {why}", highlight=False)


def _approved(spec: LoadedSpec, paths: Paths) -> str:
    import duckdb

    from migration_assets.staging import approvals

    try:
        with duckdb.connect(str(paths.staging_db(spec.pair)), read_only=True) as conn:
            approval = approvals.current(conn, spec.pair, spec.content_hash)
    except duckdb.Error:
        approval = None
    return f"approved by {approval.approver}" if approval else "[yellow]not approved[/]"


def _next_commands(pair: str, phase: str | None) -> list[tuple[str, str]]:
    return [
        ("make ui", f"the asset graph, runs and checks on {UI_URL}"),
        (f"{me()} quarantine {pair} --phase {phase or 'full'}", "every held-back record and why"),
        (f"{me()} approve {pair} --by <you>", "after a spec change or corrections"),
        (f"{me()} rollback {pair} --schema", "undo everything in the destination"),
    ]
