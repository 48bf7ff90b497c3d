"""The discovery, profile, estimate and plan assets materialize on the sandbox and link their
HTML + JSON reports in the asset metadata (what the Dagster UI shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migration_assets.defs.discover import run_plan
from migration_assets.defs.extract import source_objects
from migration_assets.defs.naming import asset_key

PAIRS = ["case_status__dynamics365", "case_status__salesforce"]


@pytest.mark.parametrize("pair", PAIRS)
def test_plan_job_materializes_discovery_profiles_estimate_and_report(workbench, pair):
    spec_file = workbench.spec_dir / f"{pair}.yaml"
    if not spec_file.exists():
        pytest.skip(f"{pair} has no spec yet")
    workbench.seed(scale=100)
    result = run_plan(workbench.defs, workbench.instance, pair, "sample")
    assert result.success
    loaded = workbench.spec(pair)
    keys = [asset_key(pair, "discover", "source_schema"), asset_key(pair, "discover", "destination_schema")]
    keys += [asset_key(pair, "profile", s) for s in source_objects(loaded)]
    keys += [asset_key(pair, "plan", "estimate"), asset_key(pair, "plan", "report")]
    latest = workbench.instance.get_latest_materialization_events(keys)
    for key in keys:
        event = latest.get(key)
        assert event is not None, key
        metadata = event.asset_materialization.metadata
        html, data = Path(metadata["report_html"].value), Path(metadata["report_json"].value)
        assert html.exists() and data.exists(), key
        assert html.read_text().startswith("<!doctype html>")
        assert "summary" in metadata or "grade" in metadata, key

    reports = workbench.paths.reports / pair
    source = json.loads((reports / "discover" / "source_schema.json").read_text())
    assert source["objects"]["cases"]["count"] > 0
    statuses = next(f for f in source["objects"]["cases"]["fields"] if f["name"] == "status")
    assert "Closed" in statuses["declared_values"]
    assert any(c["container"] == "custom_properties" for c in source["objects"]["clients"]["custom_fields"])
    destination = json.loads((reports / "discover" / "destination_schema.json").read_text())
    assert destination["users"] and destination["facts"]
    plan = json.loads((reports / "plan" / "report.json").read_text())
    assert plan["grade"]["grade"] in "ABCD"
    assert (
        f"of {len(loaded.spec.objects)} objects map 1:1" in plan["grade"]["summary"]
        or "All" in plan["grade"]["summary"]
    )
    estimate = json.loads((reports / "plan" / "estimate.json").read_text())
    assert set(estimate["phases"]) == {"sample", "full", "delta"}
    # at this scale the sample is the whole data set; every phase pages the full source
    assert estimate["phases"]["full"]["requests"] >= estimate["phases"]["sample"]["requests"] > 0
