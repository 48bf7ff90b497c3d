"""Case Status -> Dynamics 365 end to end on the sandboxes: seed, sample, full, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from migration_assets.defs.naming import asset_key
from migration_assets.settings import SPEC_DIR
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
    assert any("has no entry in value map case_status" in r for r in reasons)

    again = workbench.run(PAIR, "full")
    assert again.success, again.failures
    rerun = workbench.report(PAIR, "full")
    for name in report["objects"]:
        assert rerun["objects"][name]["destination_count"] == report["objects"][name]["destination_count"], (
            name
        )
    assert rerun["diff"]["mismatches"] == 0


def test_gate_failure_stops_the_load_in_the_run_and_in_later_runs(workbench, tmp_path: Path):
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    text = (SPEC_DIR / f"{PAIR}.yaml").read_text()
    # Declare a column shorter than the data: staging keeps the value, the gate must refuse it.
    text = text.replace(
        "cs_readable_id: {type: string, max_length: 100", "cs_readable_id: {type: string, max_length: 3"
    )
    (spec_dir / f"{PAIR}.yaml").write_text(text)
    workbench.spec_dir = spec_dir
    workbench.seed(scale=120)

    outcome = workbench.run(PAIR, "sample")
    assert not outcome.success
    latest = workbench.instance.get_latest_materialization_events(
        [asset_key(PAIR, "load", o) for o in ("account", "contact", "incident")]
    )
    result_keys = {key for key, event in latest.items() if event is not None}
    assert asset_key(PAIR, "load", "incident") not in result_keys
    assert asset_key(PAIR, "load", "contact") in result_keys
    assert any("stage/incident:schema_gate" in c for c in outcome.failed_checks)

    # A later run that selects only the load still refuses: the guard reads the gate's result.
    defs = workbench.defs
    load_only = dg.define_asset_job("load_only", selection=[asset_key(PAIR, "load", "incident")])
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[load_only])).resolve_job_def("load_only")
    result = job.execute_in_process(instance=workbench.instance, partition_key="sample", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "schema gate of incident failed" in failure.step_failure_data.error.message
    shutil.rmtree(spec_dir)
