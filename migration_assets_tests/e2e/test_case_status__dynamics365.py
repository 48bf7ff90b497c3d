"""Case Status -> Dynamics 365 end to end on the sandboxes: seed, sample, full, read back."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from migration_assets.checks.stage_gate import run_gate
from migration_assets.defs.naming import asset_key
from migration_assets.engine import planning
from migration_assets.staging import db, state
from migration_assets_tests.conftest import assert_counts_add_up, core_spec_dir

PAIR = "case_status__dynamics365"


def test_seed_sample_full_read_back_and_rerun_creates_no_duplicate(workbench, tmp_path):
    # the core objects; every other row is in test_case_status__dynamics365_rows.py
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=300)
    sample = workbench.run(PAIR, "sample")
    assert sample.success, sample.failures
    sample_report = workbench.report(PAIR, "sample")
    assert_counts_add_up(sample_report)
    assert 100 <= sample_report["objects"]["incident"]["source"] <= 500
    assert sample_report["diff"]["mismatches"] == 0

    assert workbench.approve(PAIR).success
    full = workbench.run(PAIR, "full")
    assert full.success, full.failures
    report = workbench.report(PAIR, "full")
    assert_counts_add_up(report)
    assert report["diff"]["mismatches"] == 0, report["diff"]
    assert report["diff"]["fields_compared"] > report["diff"]["records_compared"] > 0
    for name, c in report["objects"].items():
        assert c["destination_count"] == c["loaded"], (name, c)
    # the dirty data is quarantined with reasons, not loaded and not lost
    assert report["objects"]["incident"]["quarantined"] > 0
    reasons = [r[0] for r in workbench.sql(PAIR, "select reason from quarantine where _phase = 'full'")]
    assert any("customerid" in r for r in reasons)  # cases without a client: held back, with the reason

    again = workbench.run(PAIR, "full")
    assert again.success, again.failures
    rerun = workbench.report(PAIR, "full")
    for name in report["objects"]:
        assert rerun["objects"][name]["destination_count"] == report["objects"][name]["destination_count"], name
    assert rerun["diff"]["mismatches"] == 0


def test_gate_failure_stops_the_load_in_later_runs(workbench, tmp_path: Path):
    """The gate re-checks what staging promises, independently of the staging code: a staged slice
    that breaks it (a duplicated external id written behind staging's back) fails the gate, and a
    later run that selects only the load refuses because the guard reads the gate's recorded result."""
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=120)
    assert workbench.run(PAIR, "sample").success
    loaded = workbench.spec(PAIR)
    with duckdb.connect(str(workbench.paths.staging_db(PAIR))) as conn:
        conn.execute("insert into stage__incident select * from stage__incident where _phase = 'sample' limit 1")
        frame = db.read_slice(conn, "stage__incident", "sample")
        spec = planning.effective_spec(conn, loaded, "sample")
        passed, failures = run_gate(spec, "incident", frame, planning.custom_fields(conn))
        state.record_gate(conn, "incident", "sample", passed)
    assert not passed and "_external_id" in failures["column"].to_list()

    load_only = dg.define_asset_job("load_only", selection=[asset_key(PAIR, "load", "incident")])
    defs = dg.Definitions.merge(workbench.defs, dg.Definitions(jobs=[load_only]))
    result = defs.resolve_job_def("load_only").execute_in_process(
        instance=workbench.instance, partition_key="sample", raise_on_error=False, tags={"pair": PAIR}
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "schema gate of incident failed" in failure.step_failure_data.error.message
