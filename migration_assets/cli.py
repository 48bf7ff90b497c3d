"""`migrate`: a thin command line over the same Dagster assets the UI shows.

Runs launched here are recorded in the Dagster instance at $DAGSTER_HOME (default: the repository
root, where dagster.yaml lives), so they appear in `make ui`. Only MigrationError is caught: any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from migration_assets.errors import MigrationError, known_values
from migration_assets.settings import default_paths

console = Console(stderr=True, soft_wrap=True)  # long lines are not cut at 80 columns in logs
if not console.is_terminal and not os.environ.get("COLUMNS"):
    console.width = 150  # tables written to a log or a pipe: wider than rich's 80-column default
VERBOSE = {"on": False}  # --verbose of the running command: Dagster's engine events and stack traces


def _instance():
    """The instance of the project's dagster.yaml (pools, run queue) with storage under the var dir,
    the same one `make ui` shows; dead runs are reclaimed before anything is launched."""
    from migration_assets.defs.instance import project_instance, reclaim_dead_runs

    instance = project_instance(default_paths())
    for run_id in reclaim_dead_runs(instance):
        console.print(f"[yellow]run {run_id[:8]} had lost its process: marked failed, its pool slots freed[/]")
    return instance


def _defs():
    """The Dagster definitions of the specs and var dir this command sees ($MIGRATE_SPEC_DIR,
    $MIGRATE_VAR_DIR read now, not when a module was first imported)."""
    from migration_assets.definitions import build_definitions
    from migration_assets.settings import default_spec_dir

    return build_definitions(default_paths(), default_spec_dir())


def _specs():
    from migration_assets.settings import default_spec_dir
    from migration_assets.spec.loader import load_all

    return {s.pair: s for s in load_all(default_spec_dir())}


def _spec(pair: str):
    specs = _specs()
    if pair not in specs:
        raise MigrationError(f"unknown pair {pair!r} {known_values(specs)}")
    return specs[pair]


def cmd_pairs(args) -> int:
    for pair, spec in _specs().items():
        print(
            f"{pair}\t{spec.spec.source} -> {spec.spec.destination}\tobjects: {', '.join(spec.load_order)}"
            f"\tspec {spec.content_hash}"
        )
    return 0


def cmd_sandbox(args) -> int:
    from migration_assets.sandbox import seeding

    paths = default_paths()
    options = _parse_options(args.option or [])
    if args.action in ("reset", "seed") and not args.keep_staging:
        _forget_pipeline_state(paths)
    if args.action == "reset":
        done = seeding.reset(paths.sandbox, options)
        console.print(f"reset: {', '.join(done)} in {paths.sandbox}")
    elif args.action == "seed":
        with console.status(f"seeding every sandbox (scale {args.scale}, seed {args.seed}) ..."):
            counts = seeding.seed(paths.sandbox, scale=args.scale, seed=args.seed, options=options)
        _print_seeded(counts, paths.sandbox, args)
    elif args.action == "apply-schema-plan":
        _apply_schema_plan(paths, args.pair)
    elif args.action == "simulate-delta":
        from migration_assets.systems import systems

        sources = [args.source] if args.source else [d.name for d in systems("source")]
        changes = {name: seeding.simulate_delta(paths.sandbox, name) for name in sources}
        if args.json:
            print(json.dumps(changes, indent=2, default=str))
        else:
            console.print("simulated source changes: " + "; ".join(f"{n} {_brief(c)}" for n, c in changes.items()))
    else:
        from migration_assets.sandbox.serve import serve

        asyncio.run(serve(paths.sandbox, host="127.0.0.1", port=args.port))
    return 0


def _print_seeded(counts: dict, folder: Path, args) -> None:
    """One line: records per source, users per destination (the JSON with --json)."""
    if args.json:
        print(json.dumps(counts, indent=2))
        return
    users = counts.get("destination_users", {})
    sources = [f"{name} {sum(c.values()) if isinstance(c, dict) else c:,} records" for name, c in counts.items()
               if name != "destination_users"]
    console.print(
        f"seeded {', '.join(sources)}; destination users: "
        + ", ".join(f"{name} {n}" for name, n in users.items())
        + f" (in {folder}, scale {args.scale}, seed {args.seed})",
        highlight=False,
    )


def _brief(changes) -> str:
    """A source's simulated changes in a few words: `{updated: 12, created: 3}` -> '12 updated, 3 created'."""
    if isinstance(changes, dict):
        parts = [f"{v} {k}" if isinstance(v, int) else f"{len(v)} {k}" for k, v in changes.items()
                 if isinstance(v, int | list | dict)]
        return ", ".join(parts) or "no change"
    return str(changes)


def _apply_schema_plan(paths, pair: str | None) -> None:
    """Play the destination's admin: apply the pair's latest schema plan in its sandbox (writing the
    plan first when no run has); nothing to do where the destination creates its schema itself."""
    from migration_assets.sandbox.schema_plan import apply_schema_plan, latest_plan, needs_admin

    if not pair:
        raise MigrationError("apply-schema-plan needs the PAIR whose latest schema plan to apply")
    spec = _spec(pair)
    destination = spec.spec.destination
    if not needs_admin(destination):
        console.print(f"{destination} creates its custom schema itself (plan/schema_apply): nothing to apply here")
        return
    try:
        latest_plan(paths, pair)
    except MigrationError:
        defs = _defs()
        from migration_assets.defs.schema_plan import run_schema_plan

        with console.status(f"{pair}: writing the schema plan ..."):
            result = run_schema_plan(defs, _instance(), spec, verbose=VERBOSE["on"])
        if not result.success:
            raise MigrationError(f"{pair}: the schema plan could not be written (run {result.run_id})") from None
    plan_file, done = apply_schema_plan(paths, pair, destination)
    console.print(f"applied {plan_file}: " + ("; ".join(done) if done else "everything existed already"))


def _forget_pipeline_state(paths) -> None:
    """A reset sandbox makes the staging ledgers, approvals and reports describe records that no
    longer exist (a re-run would skip them as already loaded): start them afresh too."""
    import shutil

    for folder in (paths.staging, paths.reports):
        if folder.exists():
            shutil.rmtree(folder)
            console.print(f"cleared {folder} (it described the previous sandbox data; --keep-staging keeps it)")


def _parse_options(items: Sequence[str]) -> dict[str, dict]:
    """'dynamics365.tier=professional' -> {"dynamics365": {"tier": "professional"}} (values as JSON)."""
    out: dict[str, dict] = {}
    for item in items:
        name, _, raw = item.partition("=")
        system, _, key = name.partition(".")
        if not key or not raw:
            raise MigrationError(f"--option {item!r}: expected SYSTEM.NAME=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out.setdefault(system, {})[key] = value
    return out


def cmd_run(args) -> int:
    from migration_assets.cli_run import cmd_run as run

    return run(args, console)


def cmd_plan(args) -> int:
    from migration_assets.cli_run import cmd_plan as run

    return run(args, console)


def cmd_summary(args) -> int:
    from migration_assets.cli_run import cmd_summary as run

    return run(args, console)


def _report(spec, phase: str) -> dict:
    import duckdb

    from migration_assets.defs.resources import ConnectionsResource
    from migration_assets.defs.run_history import latest_run
    from migration_assets.reports.run_report import build_report

    paths = default_paths()
    db_path = paths.staging_db(spec.pair)
    if not db_path.exists():
        raise MigrationError(f"{spec.pair} has not run yet: no staging file {db_path}")
    dest = ConnectionsResource(sandbox_dir=str(paths.sandbox)).destination(
        spec.spec.destination, spec.spec.destination_options
    )
    run = latest_run(_instance(), spec.pair, phase)
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return build_report(conn, spec, phase, dest, run=run)


def cmd_report(args) -> int:
    from migration_assets.defs.runner import latest_phase

    spec = _spec(args.pair)
    phase = args.phase or latest_phase(_instance(), spec.pair)
    if phase is None:
        raise MigrationError(f"{spec.pair} has no run yet: run `migrate run {spec.pair} --phase sample` first")
    report = _report(spec, phase)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        from migration_assets.cli_run import print_report

        print_report(console, report)
    return 0


def cmd_approve(args) -> int:
    defs = _defs()
    from migration_assets.defs.naming import approval_job_name, approval_op_name
    from migration_assets.defs.runner import execute

    spec = _spec(args.pair)
    job = defs.resolve_job_def(approval_job_name(spec.pair))
    op_name = approval_op_name(spec.pair)
    result = execute(
        job, _instance(), verbose=args.verbose, run_config={"ops": {op_name: {"config": _approval_config(args)}}}
    )
    return _finish(result, f"{args.by} approved the sample of {spec.pair} under spec {spec.content_hash}")


def _approval_config(args) -> dict[str, str]:
    return {"approver": args.by, "note": args.note or "", "override": args.override or ""}


def _finish(result, success_message: str) -> int:
    """A run's one line: the success message, or each failure's root message (its stack trace too
    with --verbose)."""
    from migration_assets.defs.runner import failures_of

    if result.success:
        console.print(f"[green]✓[/] {success_message}", highlight=False)
        return 0
    failures, traces = failures_of(result)
    for failure, trace in zip(failures, traces, strict=True):
        if VERBOSE["on"]:
            console.print(trace, markup=False, highlight=False)
        console.print(f"[red]✗[/] {failure.partition(': ')[2] or failure}", highlight=False)
    return 1


def cmd_rollback(args) -> int:
    defs = _defs()
    from migration_assets.defs.naming import rollback_job_name, rollback_op_name
    from migration_assets.defs.runner import execute

    spec = _spec(args.pair)
    job = defs.resolve_job_def(rollback_job_name(spec.pair))
    op_name = rollback_op_name(spec.pair)

    config = {"phase": args.phase or "", "drop_schema": bool(args.schema)}
    with console.status(f"rolling back {spec.pair} {args.phase or '(everything)'} ..."):
        result = execute(job, _instance(), verbose=args.verbose, run_config={"ops": {op_name: {"config": config}}})
    if result.success:
        done = result.output_for_node(op_name)
        if args.json:
            print(json.dumps(done, indent=2, default=str))
        else:
            console.print(_rollback_line(done), highlight=False)
    return _finish(result, f"{spec.pair} rolled back")


def _rollback_line(done: dict) -> str:
    """`deleted 412 (contact 200, ...), restored 3, schema removed 5` from the rollback's summary."""
    parts = []
    for key in ("deleted", "restored"):
        value = done.get(key) or {}
        if isinstance(value, dict):
            total = sum(v for v in value.values() if isinstance(v, int))
            each = ", ".join(f"{k} {v}" for k, v in value.items() if v)
            parts.append(f"{key} {total}" + (f" ({each})" if each else ""))
    removed = done.get("schema_removed") or []
    if removed:
        parts.append(f"schema removed: {len(removed)} item(s)")
    return "; ".join(parts) or "nothing to roll back"


def cmd_audit(args) -> int:
    import duckdb

    from migration_assets.staging import ledger

    spec = _spec(args.pair)
    db_path = default_paths().staging_db(spec.pair)
    if not db_path.exists():
        raise MigrationError(f"{spec.pair} has not run yet: no ledger")
    with duckdb.connect(str(db_path), read_only=True) as conn:
        frame = ledger.history(conn, phase=args.phase)
    if args.csv:
        sys.stdout.write(frame.write_csv())
        return 0
    _print_audit(spec.pair, args.phase, frame, args.last)
    return 0


def _print_audit(pair: str, phase: str | None, frame, last: int) -> None:
    """The latest operations as a table with short cells (ids cut in the middle), one row each."""
    from rich import box

    from migration_assets.defs.metadata import short_id

    scope = f"phase {phase}" if phase else "every phase"
    table = Table(title=f"{pair} · audit log · {scope}", box=box.SIMPLE_HEAD, title_justify="left")
    columns = ("recorded_at", "phase", "object", "operation", "outcome", "source_id", "destination_id", "error")
    for column in columns:
        table.add_column(column.replace("recorded_at", "time"))
    for row in frame.tail(last).iter_rows(named=True):
        when = row.get("recorded_at")
        cells = [when.strftime("%m-%d %H:%M:%S") if hasattr(when, "strftime") else str(when or "")]
        cells += [str(row.get(c) or "") for c in ("phase", "object", "operation", "outcome")]
        cells += [short_id(row.get("source_id")), short_id(row.get("destination_id")), str(row.get("error") or "")[:60]]
        table.add_row(*cells)
    console.print(table)
    console.print(f"the last {min(last, frame.height):,} of {frame.height:,} operations; --csv for every one")


def cmd_propose(args) -> int:
    from migration_assets.discovery.proposing import propose, to_yaml
    from migration_assets.settings import default_spec_dir

    destination = _discovered_destination(args.destination)
    draft = propose(args.source, args.destination, destination)
    out = args.out or default_spec_dir() / f"{args.source}__{args.destination}.yaml"
    if out.exists() and not args.out:
        raise MigrationError(f"{out} exists: pass --out FILE to write the draft elsewhere")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_yaml(draft), encoding="utf-8")
    n = sum(len(o.get("proposals", {})) for o in draft["objects"].values())
    console.print(f"[green]✓[/] {n} proposals in {len(draft['objects'])} objects written to {out} (unconfirmed)")
    return 0


def _discovered_destination(system: str) -> dict | None:
    """The destination's option sets for pick-list overlap (the sandbox unless credentials are set)."""
    from migration_assets.connectors import open_destination, resolve_connection
    from migration_assets.discovery.destination_schema import discover_destination

    async def run() -> dict:
        dest = open_destination(system, resolve_connection(system, state_dir=default_paths().sandbox))
        try:
            return (await discover_destination(dest)).to_json()
        finally:
            await dest.aclose()

    try:
        return asyncio.run(run())
    except MigrationError as exc:
        console.print(f"[yellow]destination not discovered ({exc}); proposing from the static catalog[/]")
        return None


def cmd_confirm(args) -> int:
    from migration_assets.discovery.confirmation import confirm_text
    from migration_assets.settings import default_spec_dir
    from migration_assets.spec.loader import load_spec

    spec = _spec(args.pair)
    if args.object and args.object not in spec.spec.objects:
        raise MigrationError(f"unknown object {args.object!r} {known_values(spec.spec.objects)}")
    path = default_spec_dir() / spec.file
    text, changed = confirm_text(path.read_text(encoding="utf-8"), spec, [args.object] if args.object else None)
    path.write_text(text, encoding="utf-8")
    load_spec(path)  # still valid
    console.print(f"[green]✓[/] {changed} mapping flag(s) confirmed in {path}")
    return 0


def cmd_estimate(args) -> int:
    defs = _defs()
    from migration_assets.defs.discover import run_plan
    from migration_assets.discovery.plan_report import phase_rows_table, tier_rows_table
    from migration_assets.reports.discovery_report import read_report

    spec = _spec(args.pair)
    with console.status(f"discovering and estimating {spec.pair} ..."):
        result = run_plan(defs, _instance(), spec.pair, "full", estimate_only=True, verbose=args.verbose)
    if not result.success:
        return _finish(result, "")
    data = read_report(default_paths().report_dir(spec.pair) / "plan" / "estimate.json") or {"phases": {}}
    title = f"{spec.pair} · estimate ({data.get('measured_runs', 0)} measured runs)"
    console.print(_rows_table(title, phase_rows_table(data)))
    tiers = tier_rows_table(data)
    if tiers:  # a destination with a request budget per plan tier: what each phase costs on each
        console.print(_rows_table(f"{spec.pair} · requests and hours per plan tier", tiers))
    return 0


def cmd_quarantine(args) -> int:
    from migration_assets.cli_quarantine import cmd_quarantine as run

    return run(args, console)


def cmd_corrections(args) -> int:
    from migration_assets.cli_quarantine import cmd_corrections as run

    return run(args, console)


def _rows_table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title)
    columns = list(rows[0]) if rows else []
    for column in columns:
        table.add_column(column, justify="left" if column in ("phase", "tier") else "right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    return table


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="show Dagster's engine events and the stack trace of failures"
    )
    p = argparse.ArgumentParser(prog="migrate", description=__doc__.splitlines()[0], parents=[common])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, fn) -> argparse.ArgumentParser:
        one = sub.add_parser(name, help=help_text, parents=[common])
        one.set_defaults(fn=fn)
        return one

    command("pairs", "list the pairs (one per mapping spec)", cmd_pairs)
    sb = command(
        "sandbox",
        "reset, seed or serve the sandbox emulators; apply a pair's schema plan as the destination's admin",
        cmd_sandbox,
    )
    sb.add_argument("action", choices=["reset", "seed", "serve", "simulate-delta", "apply-schema-plan"])
    sb.add_argument("pair", nargs="?", help="apply-schema-plan: the pair whose latest schema plan to apply")
    sb.add_argument("--scale", type=int, default=500, help="number of source cases to generate")
    sb.add_argument("--seed", type=int, default=42)
    sb.add_argument("--port", type=int, default=0, help="first port for serve (0: any free port)")
    sb.add_argument("--option", action="append", help="SYSTEM.NAME=VALUE, e.g. dynamics365.tier=professional")
    sb.add_argument("--keep-staging", action="store_true", help="reset/seed: keep var/staging and var/reports")
    sb.add_argument("--source", help="simulate-delta: only this source system (default: every source)")
    sb.add_argument("--json", action="store_true", help="seed/simulate-delta: the counts as JSON")
    run = command("run", "run one phase of a pair", cmd_run)
    run.add_argument("pair")
    run.add_argument("--phase", required=True, help="sample, full or delta")
    run.add_argument("-q", "--quiet", action="store_true", help="no line per step: one line for the run")
    pl_ = command("plan", "discover, profile, estimate and grade a pair (the <pair>__plan job)", cmd_plan)
    pl_.add_argument("pair")
    pl_.add_argument("--phase", default="sample", help="the phase whose extract is profiled (default: sample)")
    pl_.add_argument("-q", "--quiet", action="store_true", help="no line per step")
    ap = command("approve", "approve the verified sample of a pair (binds the spec hash)", cmd_approve)
    ap.add_argument("pair")
    ap.add_argument("--by", required=True, help="who approves (name or email)")
    ap.add_argument("--note")
    ap.add_argument("--override", help="approve a sample whose diff or reconciliation failed: why (recorded)")
    rb = command("rollback", "delete what the migration created, restore what it updated", cmd_rollback)
    rb.add_argument("pair")
    rb.add_argument("--phase", help="only this phase (default: everything)")
    rb.add_argument("--schema", action="store_true", help="also remove the custom schema the migration created")
    rb.add_argument("--json", action="store_true", help="what was deleted and restored, as JSON")
    au = command("audit", "every destination operation of the ledger", cmd_audit)
    au.add_argument("pair")
    au.add_argument("--phase")
    au.add_argument("--csv", action="store_true", help="every operation, every column")
    au.add_argument("--last", type=int, default=30, help="rows shown in the table (default 30)")
    qu = command("quarantine", "held-back rows by reason and root cause (CSV for corrections)", cmd_quarantine)
    qu.add_argument("pair")
    qu.add_argument("--phase", help="one phase (default: every phase)")
    qu.add_argument("--csv", action="store_true", help="one row per record, with an empty fix_value column")
    qu.add_argument("--json", action="store_true")
    cr = command("corrections", "import corrected values for held-back rows", cmd_corrections)
    cr.add_argument("action", choices=["import"])
    cr.add_argument("pair")
    cr.add_argument("file", help="the quarantine CSV with fix_value filled in")
    cr.add_argument("--by", required=True, help="who corrected the values (recorded)")
    cr.add_argument("--note", help="why, or where the values come from")
    rep = command("report", "counts and diff of the latest run", cmd_report)
    rep.add_argument("pair")
    rep.add_argument("--phase", help="a phase other than the latest run's")
    rep.add_argument("--json", action="store_true")
    su = command("summary", "per pair: what loaded, what is held back, the diff, the reports, what next", cmd_summary)
    su.add_argument("pairs", nargs="*", help="pairs to summarize (default: every pair that has run)")
    pr = command("propose", "write a draft mapping spec with unconfirmed proposals", cmd_propose)
    pr.add_argument("source")
    pr.add_argument("destination")
    pr.add_argument("--out", type=Path, help="file to write (default: mapping_specs/SOURCE__DESTINATION.yaml)")
    co = command("confirm", "confirm the proposed mappings of a pair (or one object)", cmd_confirm)
    co.add_argument("pair")
    co.add_argument("--object", help="only this object")
    es = command("estimate", "discover both systems and estimate records, requests and duration", cmd_estimate)
    es.add_argument("pair")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a MigrationError is one plain paragraph (its traceback only with --verbose)."""
    args = parser().parse_args(argv)
    VERBOSE["on"] = bool(args.verbose)
    try:
        return args.fn(args)
    except MigrationError as exc:
        if args.verbose:
            console.print_exception()
        console.print(f"[red]error:[/] {exc}", highlight=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
