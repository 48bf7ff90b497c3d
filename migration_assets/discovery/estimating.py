"""Estimate each phase of a pair before it runs: records, API requests, batches and duration.

The prediction is built per step of the pair's `__migrate` job:
- the records a step handles come from the discovered record counts (collapsed objects count the
  distinct values of their key field; the sample phase takes the spec's sample size for the anchor
  and the same share of the other objects; a delta takes the share of records updated within the
  delta window, assuming updates spread evenly over the discovered `updated_at` range); the plan
  steps that inventory the source (custom fields, owners) handle every extracted record;
- requests: the source is paged through completely in every phase (its API has no filter), the
  destination takes one request per batch (or what the connector's `estimate_calls` says for a
  batch of that table) and the read-back of the diff and of the reconciliation one request per 100
  ids each;
- duration: when earlier runs of the pair measured the step (the Dagster instance's step stats,
  or rehearsals on smaller copies, each placed at the records it handled), a line
  `seconds = overhead + records x seconds_per_record` fitted on them; otherwise the
  request model `max(requests / rate, batches x BATCH_SECONDS / concurrency)`;
- the destination's request budget (facts: a daily or an hourly window, see budget.py) turns into
  the number of windows a phase spans and the time waited for them; when the destination lists
  its plan tiers, the requests and hours of each phase are given per tier too.

`compare` puts a finished run beside its prediction: predicted vs measured seconds and the error %.
"""

from __future__ import annotations

import inspect
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from migration_assets.discovery.budget import RequestBudget, request_budget
from migration_assets.discovery.source_schema import SourceSchema
from migration_assets.spec.loader import LoadedSpec
from migration_assets.systems import system

BATCH_SECONDS = 0.25  # a destination batch round trip when nothing was measured yet
STEP_OVERHEAD = 0.05  # seconds a step costs beyond its records, when nothing was measured yet
RUN_OVERHEAD = 1.0  # seconds a run costs beyond its steps (launch, events), when not measured
READ_BACK_CHUNK = 100
PHASES = ("sample", "full", "delta")
SCANNING_PLAN_STEPS = ("plan__custom_fields", "plan__owners")  # plan steps whose work grows with the source
WRITING_LAYERS = ("load", "patch")  # steps whose records are the rows they wrote (known after a run)
SAME_WORK_LAYERS = ("extract", "stage")  # the whole source in every phase (see `_same_work`)


@dataclass(frozen=True)
class StepMeasure:
    """One step of an earlier run: its key without the pair prefix ('load__contact'), the phase,
    the seconds it took, and the records it handled when known (a run on a source of another size,
    e.g. a rehearsal on a smaller copy); without them, the records the current discovery gives that
    phase."""

    step: str
    phase: str
    seconds: float
    run_id: str = ""
    records: int | None = None


@dataclass(frozen=True)
class RunMeasure:
    run_id: str
    phase: str
    seconds: float  # wall time of the run
    steps_seconds: float  # sum of its steps
    started: float = 0.0  # unix time


@dataclass
class StepEstimate:
    step: str
    records: int
    requests: int
    batches: int
    seconds: float
    basis: str  # "measured (n runs)" or "model"


@dataclass
class PhaseEstimate:
    phase: str
    records: dict[str, int]
    requests: int
    batches: int
    seconds: float  # work plus the budget windows waited for
    days: int
    steps: list[StepEstimate] = field(default_factory=list)
    windows: int = 1  # budget windows (days, hours) the phase spans
    budget_period: str | None = None  # "daily", "hourly": the destination's budget window
    by_tier: dict[str, dict[str, Any]] = field(default_factory=dict)  # plan tier -> requests, windows, hours


@dataclass(frozen=True)
class Limits:
    """Throughput facts the model uses (from the spec's load options and the connectors)."""

    batch_size: int
    concurrency: int
    rate_per_second: float
    source_page_size: int = 100
    source_rate_per_second: float = 5.0
    daily_requests: int | None = None  # remaining destination requests per 24 h, when known
    budget: RequestBudget | None = None  # the destination's request budget window, when it has one

    def request_budget(self) -> RequestBudget | None:
        """The budget the phases are measured against (a bare `daily_requests` is a daily one)."""
        if self.budget is not None:
            return self.budget
        if self.daily_requests:
            return RequestBudget("daily", self.daily_requests, self.daily_requests, 86400.0)
        return None


def limits_for(loaded: LoadedSpec, facts: Mapping[str, Any]) -> Limits:
    """The Limits of a pair: spec load options, the source connector's settings, destination facts."""
    load = loaded.spec.options.load
    source = system(loaded.spec.source, "source").connector_class()
    return Limits(
        batch_size=load.batch_size,
        concurrency=load.concurrency,
        rate_per_second=load.rate_per_second,
        source_page_size=source.page_size,
        source_rate_per_second=source.rate_per_second,
        daily_requests=daily_budget(facts),
        budget=request_budget(facts),
    )


def daily_budget(facts: Mapping[str, Any]) -> int | None:
    """Requests left for the day (the connectors' `daily_requests_remaining` fact), or None when the
    destination has no daily cap."""
    remaining = facts.get("daily_requests_remaining")
    return None if remaining is None else int(remaining)


def budget_per_day(facts: Mapping[str, Any]) -> int | None:
    """Requests the destination's budget allows per 24 hours, whatever its window (None: no cap)."""
    budget = request_budget(facts)
    if budget is None:
        return None
    return budget.remaining if budget.period == "daily" else budget.per_day()


CallsFor = Callable[[int, str], "int | None"]  # (rows of one upsert batch, destination table) -> requests


def calls_per_table(estimate_calls: Callable[..., int | None]) -> CallsFor:
    """A connector's `estimate_calls` as a CallsFor: given the table when it takes a `table` argument
    (a destination whose tables cost differently, e.g. bulk upserts for some), else rows alone."""
    if "table" in inspect.signature(estimate_calls).parameters:
        return lambda n, table: estimate_calls(n, table=table)
    return lambda n, _table: estimate_calls(n)


# -- records per phase --------------------------------------------------------------------------
def destination_rows(loaded: LoadedSpec, source: SourceSchema) -> dict[str, int]:
    """Rows each destination object will have after a full load (before quarantine)."""
    out = {}
    for name, obj in loaded.spec.objects.items():
        profile = source.objects.get(obj.source)
        count = profile.count if profile else 0
        if obj.collapse and profile:
            compiled = loaded.compile(name, "external_id.value", obj.external_id.value)
            distinct = [f.distinct for f in profile.fields if f.name in compiled.sources]
            count = min(count, (max(distinct) if distinct else count) + 1)
        out[name] = count
    return out


def _delta_share(loaded: LoadedSpec, source: SourceSchema) -> float:
    shares = []
    for obj in {o.source for o in loaded.spec.objects.values()}:
        profile = source.objects.get(obj)
        stamp = profile.field(profile.updated_field) if profile and profile.updated_field else None
        if stamp and stamp.min and stamp.max:
            try:
                span = _parse(stamp.max) - _parse(stamp.min)
            except ValueError:
                continue
            hours = max(span.total_seconds() / 3600, 1.0)
            shares.append(min(1.0, loaded.spec.options.delta.window_hours / hours))
    return max(shares) if shares else 0.05


def _parse(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=None)


def phase_rows(loaded: LoadedSpec, source: SourceSchema, phase: str) -> dict[str, int]:
    full = destination_rows(loaded, source)
    if phase == "full":
        return full
    if phase == "sample":
        anchor = loaded.spec.options.sample.anchor
        share = min(1.0, loaded.spec.options.sample.size / max(full.get(anchor, 0), 1))
    else:
        share = _delta_share(loaded, source)
    return {name: min(n, math.ceil(n * share)) for name, n in full.items()}


# -- measured steps -----------------------------------------------------------------------------
def step_records(loaded: LoadedSpec, source: SourceSchema, phase: str, step: str) -> int | None:
    """Records the step handles in `phase` (None: the step's time does not scale with records)."""
    layer, _, name = step.partition("__")
    rows = phase_rows(loaded, source, phase)
    counts = source.counts()
    if layer == "extract":
        return counts.get(name, 0)  # the API is paged through completely in every phase
    if layer == "stage":
        obj_name = name.removesuffix("_schema_gate")
        obj = loaded.spec.objects.get(obj_name)
        if obj is None:
            return None
        if name.endswith("_schema_gate"):
            return None  # one DuckDB query over the staged table: the same at any size we measured
        if phase == "delta":
            return rows.get(obj_name, 0)  # a delta extracts changes only
        return counts.get(obj.source, 0)  # staging transforms every extracted record, then samples
    if layer in ("load", "patch"):
        return rows.get(name, 0)
    if layer == "verify":
        return sum(rows.values())
    if step in SCANNING_PLAN_STEPS:  # they read every extracted record of the spec's sources
        return sum(counts.get(s, 0) for s in {o.source for o in loaded.spec.objects.values()})
    return None


def _fit(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """(overhead, seconds per record) of a least-squares line through (records, seconds)."""
    ns = {n for n, _ in points}
    if len(ns) < 2:
        n, t = points[-1][0], sum(t for _, t in points) / len(points)
        overhead = min(t, STEP_OVERHEAD)
        return overhead, (t - overhead) / n if n else 0.0
    mean_n = sum(n for n, _ in points) / len(points)
    mean_t = sum(t for _, t in points) / len(points)
    cov = sum((n - mean_n) * (t - mean_t) for n, t in points)
    var = sum((n - mean_n) ** 2 for n, _ in points)
    slope = max(cov / var, 0.0)
    return max(mean_t - slope * mean_n, 0.0), slope


# -- the estimate -------------------------------------------------------------------------------
def planned_steps(loaded: LoadedSpec, history: Sequence[StepMeasure]) -> list[str]:
    """Steps of a migrate run: those derived from the spec, plus any other step earlier runs had."""
    sources = sorted({o.source for o in loaded.spec.objects.values()})
    steps = [f"extract__{s}" for s in sources] + ["plan__sample", "plan__schema_apply"]
    for name in loaded.load_order:
        steps += [f"stage__{name}", f"stage__{name}_schema_gate", f"load__{name}"]
    steps += ["verify__diff", "verify__reconciliation"]
    return list(dict.fromkeys([*steps, *(m.step for m in history)]))


def estimate(
    loaded: LoadedSpec,
    source: SourceSchema,
    limits: Limits,
    history: Sequence[StepMeasure] = (),
    runs: Sequence[RunMeasure] = (),
    *,
    calls_for: CallsFor | None = None,
    phases: Sequence[str] = PHASES,
) -> list[PhaseEstimate]:
    """Predict every phase.

    Args:
        loaded: the pair's spec.
        source: the discovered source (record counts, distinct values, updated_at range).
        limits: batch size, concurrency, rates and the destination's request budget.
        history: steps of earlier successful runs (see `history_from_instance`).
        runs: earlier runs, for the overhead a run has beyond its steps.
        calls_for: destination requests to write one batch of n rows to a table (a connector's
            `estimate_calls`, see `calls_per_table`).
        phases: the phases to predict.

    Returns:
        One PhaseEstimate per phase.
    """
    overhead = sum(r.seconds - r.steps_seconds for r in runs) / len(runs) if runs else RUN_OVERHEAD
    budget = limits.request_budget()
    out = []
    for phase in phases:
        rows = phase_rows(loaded, source, phase)
        steps = [_step(loaded, source, limits, history, phase, s, calls_for) for s in planned_steps(loaded, history)]
        requests = sum(s.requests for s in steps)
        work = sum(s.seconds for s in steps) + max(overhead, 0.0)
        windows = budget.windows(requests) if budget else 1
        seconds = work + (windows - 1) * (budget.window_seconds if budget else 0.0)
        days = windows if budget and budget.period == "daily" else max(math.ceil(seconds / 86400), 1)
        out.append(
            PhaseEstimate(
                phase,
                rows,
                requests,
                sum(s.batches for s in steps),
                round(seconds, 2),
                days,
                steps,
                windows,
                budget.period if budget else None,
                budget.by_tier(requests, work) if budget else {},
            )
        )
    return out


def _step(loaded, source, limits: Limits, history, phase, step, calls_for) -> StepEstimate:
    layer, _, name = step.partition("__")
    n = step_records(loaded, source, phase, step)
    batches = math.ceil((n or 0) / limits.batch_size) if layer in ("load", "patch") else 0
    if layer == "extract":
        requests = math.ceil((n or 0) / limits.source_page_size) + 1
    elif layer in ("load", "patch"):
        requests = _load_requests(loaded, name, n or 0, limits.batch_size, calls_for)
    elif layer == "verify":  # the diff and the reconciliation each read every record back
        requests = math.ceil((n or 0) / READ_BACK_CHUNK)
    else:
        requests = 0
    measured = _measured(loaded, source, history, phase, step, n)
    if measured is None:
        seconds, basis = _modelled(layer, requests, batches, limits), "model"
    else:
        seconds, basis = measured.seconds, measured.basis
    return StepEstimate(step, n or 0, requests, batches, round(seconds, 3), basis)


def _load_requests(loaded: LoadedSpec, name: str, n: int, batch_size: int, calls_for: CallsFor | None) -> int:
    """Requests of a load of n rows in batches: what the connector says per batch, else one per batch."""
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    obj = loaded.spec.objects.get(name)
    if calls_for is None or obj is None:
        return len(sizes)
    calls = [calls_for(size, obj.table) for size in sizes]
    return sum(1 if c is None else c for c in calls)


def _points(loaded, source, history, step) -> list[tuple[int, float, str]]:
    """(records, seconds, phase) of every earlier run of `step`."""
    out = []
    for m in history:
        if m.step == step:
            records = m.records if m.records is not None else step_records(loaded, source, m.phase, step)
            out.append((records or 0, m.seconds, m.phase))
    return out


def _same_work(step: str) -> bool:
    """A step that does the same work in every phase at the same size: extraction pages through the
    whole source and staging transforms every extracted record (a sample too), as do the plan steps
    that scan it. For those a run of any phase is a measure of the step."""
    layer, _, name = step.partition("__")
    return (layer in SAME_WORK_LAYERS and not name.endswith("_schema_gate")) or step in SCANNING_PLAN_STEPS


@dataclass(frozen=True)
class _Measured:
    seconds: float
    basis: str


def _measured(loaded, source, history, phase, step, n) -> _Measured | None:
    """Seconds of `step` from earlier runs.

    A step that does the same work in every phase (`_same_work`) takes the mean of the runs at this
    very size when there are any, whatever their phase, else a line through all its runs. Any other
    step takes a line through the runs of the same phase when they measured it at two or more sizes
    (a sample writes to empty tables in small batches and creates the schema, a full run does
    neither, so the phases cost differently per record); through the one such run, sloped by every
    run's line, when there is one; else a line through every run.

    A step measured at other sizes only is not scaled by how much faster or slower the same-work
    steps ran here than their lines say: their own cost per record changes with size (extraction's
    concurrent pages: 102 us a message at 6,000, 47 us at 258,000), so at 1M records that comparison
    read a 13% faster machine while the loads ran 18-31% slower per record than their lines."""
    points = _points(loaded, source, history, step)
    if not points:
        return None
    pooled = _same_work(step)
    same = [(r, t) for r, t, p in points if pooled or p == phase]
    every = [(r, t) for r, t, _ in points]
    if n is None:
        used = same or every
        return _Measured(sum(t for _, t in used) / len(used), f"measured mean of {len(used)} run(s)")
    here = [t for r, t in same if r == n]
    if pooled and here:
        return _Measured(sum(here) / len(here), f"measured at this size ({len(here)} run(s))")
    if len({r for r, _ in same}) >= 2:
        a, b = _fit(same)
        return _Measured(a + b * n, f"measured, fitted on {len(same)} {phase} run(s)")
    a, b = _fit(every)
    if same:  # keep the line's slope, through the same phase's own point (the mean of its runs)
        records = max(r for r, _ in same)
        seconds = statistics.fmean(t for r, t in same if r == records)
        a = max(seconds - b * records, 0.0)
    return _Measured(a + b * n, f"measured, fitted on {len(every)} run(s)")


def _modelled(layer: str, requests: int, batches: int, limits: Limits) -> float:
    if layer == "extract":
        return STEP_OVERHEAD + requests / limits.source_rate_per_second
    if layer in ("load", "patch"):
        by_rate = requests / limits.rate_per_second
        by_latency = batches * BATCH_SECONDS / max(limits.concurrency, 1)
        return STEP_OVERHEAD + max(by_rate, by_latency)
    return STEP_OVERHEAD + requests * BATCH_SECONDS


def to_json(estimates: Sequence[PhaseEstimate]) -> dict[str, Any]:
    return {e.phase: asdict(e) for e in estimates}


def compare(predicted_seconds: float, measured_seconds: float) -> dict[str, float]:
    """Predicted vs measured and the error in percent of the measured value."""
    error = (predicted_seconds - measured_seconds) / measured_seconds * 100 if measured_seconds else 0.0
    return {
        "predicted_seconds": round(predicted_seconds, 2),
        "measured_seconds": round(measured_seconds, 2),
        "error_percent": round(error, 1),
    }


def predicted_vs_measured(conn, phase: str, run: tuple[str, float, float] | None) -> dict[str, Any]:
    """The latest successful migrate run of `phase` beside the prediction made before it started.

    Args:
        conn: the pair's staging DuckDB connection (holds `plan_estimates`).
        run: (run id, start, end) of that run (see `defs.run_history.latest_run`), or None.

    Returns:
        {"predicted_seconds", "measured_seconds", "error_percent", "run_id"}; values are None when
        unknown (no estimate made before the run, or no run).
    """
    from datetime import UTC

    from migration_assets.discovery import estimate_store

    empty: dict[str, Any] = {"predicted_seconds": None, "measured_seconds": None, "error_percent": None, "run_id": None}
    before = datetime.fromtimestamp(run[1], UTC) if run else None
    prediction = estimate_store.latest(conn, phase, before=before)
    if prediction is None:
        return empty
    if run is None:
        return {**empty, "predicted_seconds": round(prediction["predicted_seconds"], 2)}
    run_id, start, end = run
    return {**compare(prediction["predicted_seconds"], end - start), "run_id": run_id}
