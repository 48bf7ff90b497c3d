"""What `migrate` shows while a Dagster run goes: one short line per finished step and a live bar.

`RunProgress.on_event` receives every event of the run as the instance stores it (see
`defs.runner.execute`). From them it prints, per finished step, one line: the step (`load/contact`),
its records (the materialization's `dagster/row_count`), the rate and the elapsed time; a check step
says passed or failed. While steps run, a rich progress display (transient: it leaves nothing behind)
shows the run's steps done / planned and, for a step that reports its progress in its log messages
("1,000/2,000 records", "25/100 files", "10/40 batches"), a bar with done / total, rate and ETA.
Steps skipped because an upstream step failed are counted, not listed.

Quiet mode (`steps=False`, used by `make demo`) keeps the live display and drops the per-step lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import dagster as dg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from migration_assets.defs.naming import step_label

PROGRESS = re.compile(r"(?P<done>[\d,]+)/(?P<total>[\d,]+) (?P<unit>records|rows|files|batches)\b")
LABEL_WIDTH = 34
PLANNED = (dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)


@dataclass
class Step:
    label: str
    started: float
    task: TaskID
    records: int | None = None
    check: str | None = None  # "passed" / "failed" for a check step
    check_name: str = ""


def records_of(metadata: dict) -> int | None:
    """The records a step handled, from its materialization's metadata (row count, else compared)."""
    for key in ("dagster/row_count", "records_compared"):
        value = getattr(metadata.get(key), "value", None)
        if isinstance(value, int):
            return value
    return None


def parse_progress(message: str) -> tuple[int, int, str] | None:
    """(done, total, unit) of a progress message such as "contact: 1,000/2,000 records written"."""
    found = PROGRESS.search(message or "")
    if not found:
        return None
    return int(found["done"].replace(",", "")), int(found["total"].replace(",", "")), found["unit"]


def step_line(label: str, seconds: float, records: int | None = None, check: str | None = None) -> str:
    """`  ✓ stage/contact                      487 records   1,203/s    0.4 s` (rich markup)."""
    if check == "failed":
        mark, what = "[yellow]![/]", "[yellow]check failed[/]"
    else:
        mark = "[green]✓[/]"
        what = "check passed" if check else (f"{records:>8,} records" if records is not None else "")
    rate = f"{records / seconds:>7,.0f}/s" if records and seconds >= 0.05 else ""
    return f"  {mark} {label:<{LABEL_WIDTH}} {what:<16} {rate:>9} {seconds:>7.1f} s"


class RateColumn(ProgressColumn):
    """`1,203/s` of a task that reports its progress (empty before rich can tell a speed)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed and task.total else "", style="progress.data.speed")


class RunProgress:
    """A context manager drawing one run's progress on `console` from its events."""

    def __init__(self, console: Console, title: str, pair: str, *, steps: bool = True) -> None:
        self.console, self.pair, self.steps = console, pair, steps
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=28),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            RateColumn(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.overall = self.progress.add_task(title, total=None, unit="steps")
        self.running: dict[str, Step] = {}
        self.planned: set[str] = set()
        self.done = 0
        self.skipped = 0
        self.failed: list[str] = []

    def __enter__(self) -> RunProgress:
        if self.console.is_terminal:  # a log file gets the step lines only, no redrawn display
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.console.is_terminal:
            self.progress.stop()

    def on_event(self, entry: Any) -> None:
        """Update the display with one stored event (an `EventLogEntry`)."""
        event = entry.dagster_event
        key = entry.step_key
        if event is None:
            if key in self.running and (found := parse_progress(entry.user_message)):
                self._advance(self.running[key], *found)
            return
        kind = event.event_type
        if kind in PLANNED:
            self.planned.add(key or "")
            self.progress.update(self.overall, total=len(self.planned))
        elif kind == dg.DagsterEventType.STEP_START:
            label = step_label(self.pair, key)
            task = self.progress.add_task(f"  {label}", total=None, unit="")
            self.running[key] = Step(label, entry.timestamp, task)
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and key in self.running:
            self.running[key].records = records_of(event.event_specific_data.materialization.metadata)
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION and key in self.running:
            passed = event.event_specific_data.passed
            name = event.event_specific_data.check_name
            if key.endswith(f"_{name}"):  # a check step of its own: `stage/contact · schema_gate`
                step = self.running[key]
                step.check, step.check_name = ("passed" if passed else "failed"), name
                step.label = f"{step.label.removesuffix(f'_{name}')} · {name}"
            elif not passed:
                self.failed.append(f"{step_label(self.pair, key)} {event.event_specific_data.check_name}")
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            self._finish(key, entry.timestamp, ok=kind == dg.DagsterEventType.STEP_SUCCESS)
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self.skipped += 1

    def _advance(self, step: Step, done: int, total: int, unit: str) -> None:
        self.progress.update(step.task, completed=done, total=total, unit=unit)

    def _finish(self, key: str, at: float, *, ok: bool) -> None:
        step = self.running.pop(key, None)
        self.done += 1
        self.progress.update(self.overall, completed=self.done)
        if step is None:
            return
        self.progress.remove_task(step.task)
        seconds = max(at - step.started, 0.0)
        if not self.steps:
            return
        if ok:
            self.progress.console.print(step_line(step.label, seconds, step.records, step.check), highlight=False)
        else:
            self.progress.console.print(f"  [red]✗[/] {step.label:<{LABEL_WIDTH}} failed after {seconds:.1f} s")
