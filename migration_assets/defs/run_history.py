"""What the Dagster instance remembers of earlier runs, as plain measures for the estimator and the
run report (the only place that reads run and step statistics)."""

from __future__ import annotations

import dagster as dg

from migration_assets.defs.naming import migrate_job_name, step_name
from migration_assets.discovery.estimating import WRITING_LAYERS, RunMeasure, StepMeasure


def history(
    instance: dg.DagsterInstance, pair: str, *, before: float | None = None, limit: int = 20
) -> tuple[list[StepMeasure], list[RunMeasure]]:
    """Steps and runs of the latest successful migrate runs of `pair` that started before `before`."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=migrate_job_name(pair), statuses=[dg.DagsterRunStatus.SUCCESS]), limit=limit
    )
    steps, runs = [], []
    for record in records:
        run = record.dagster_run
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time is None or stats.end_time is None:
            continue
        if before is not None and stats.start_time >= before:
            continue
        phase = run.tags.get("dagster/partition", "")
        phase = "delta" if phase.startswith("delta-") else phase
        total = 0.0
        handled = _written_rows(instance, pair, run.run_id)
        for s in instance.get_run_step_stats(run.run_id):
            if s.start_time is None or s.end_time is None:
                continue
            seconds = s.end_time - s.start_time
            total += seconds
            name = step_name(pair, s.step_key)
            steps.append(StepMeasure(name, phase, seconds, run.run_id, handled.get(s.step_key)))
        runs.append(RunMeasure(run.run_id, phase, stats.end_time - stats.start_time, total, stats.start_time))
    return steps, runs


def _written_rows(instance: dg.DagsterInstance, pair: str, run_id: str) -> dict[str, int]:
    """Rows each load or patch step of the run wrote or skipped (its `dagster/row_count`): what the
    step really handled. A sample's rows are not the share of the source the estimator would
    assume (its anchors bring their children along), and a point at the wrong place bends the line."""
    out = {}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    for record in records:
        entry = record.event_log_entry
        if not entry.step_key or step_name(pair, entry.step_key).partition("__")[0] not in WRITING_LAYERS:
            continue
        count = entry.dagster_event.event_specific_data.materialization.metadata.get("dagster/row_count")
        if count is not None:
            out[entry.step_key] = int(getattr(count, "value", count))
    return out


def latest_run(instance: dg.DagsterInstance, pair: str, phase: str) -> tuple[str, float, float] | None:
    """(run id, start, end) of the latest successful migrate run of `phase`."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=migrate_job_name(pair), statuses=[dg.DagsterRunStatus.SUCCESS], tags={"dagster/partition": phase}
        ),
        limit=1,
    )
    if not records:
        return None
    stats = instance.get_run_stats(records[0].dagster_run.run_id)
    if stats.start_time is None or stats.end_time is None:
        return None
    return records[0].dagster_run.run_id, stats.start_time, stats.end_time
