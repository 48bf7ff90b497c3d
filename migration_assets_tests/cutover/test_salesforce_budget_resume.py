"""The Salesforce daily API budget through the pipeline: a full run that would exceed it stops
cleanly (a Dagster Failure saying what was used, what remains and when to continue), and a run after
the budget resets resumes without redoing confirmed rows or duplicating records."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migration_assets.defs.naming import asset_key
from migration_assets.sandbox.salesforce import seed as sf_seed
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets.settings import SPEC_DIR
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up

PAIR = "case_status__salesforce"
BUDGET = 60  # calls in the new "day": plan/schema_apply and the accounts fit, the contacts do not


def only_this_pair(workbench, tmp_path: Path) -> None:
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    # small batches, so the budget runs out in the middle of an object, not between two; every full
    # batch of 20 goes through a Bulk API 2.0 job (the rest through Collections), so both paths count
    text = (SPEC_DIR / f"{PAIR}.yaml").read_text()
    text = text.replace("batch_size: 1000", "batch_size: 20").replace("bulk_threshold: 1000", "bulk_threshold: 20")
    (spec_dir / f"{PAIR}.yaml").write_text(text)
    workbench.spec_dir = spec_dir


def new_day(workbench, limit: int) -> Path:
    path = system("salesforce").state_path(workbench.paths.sandbox)
    sf_seed.reset_usage(path)
    open_state(path).set_options({"daily_api_limit": limit})
    return path


def load_metadata(workbench, run_id: str) -> dict[str, dict]:
    out = {}
    for obj in workbench.spec(PAIR).load_order:
        event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "load", obj))
        if event is not None and event.run_id == run_id:
            out[obj] = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return out


# every object of the shipped spec in small batches: the longest machinery test, so it runs in `make bench`;
# `make test` keeps the budget stop and resume through the Freshsales hourly budget
# (e2e/test_case_status__freshsales_budget.py) and the Salesforce budget accounting in the connector tests
@pytest.mark.slow
def test_full_run_stops_at_the_daily_budget_and_resumes_after_the_reset_without_duplicates(workbench, tmp_path):
    only_this_pair(workbench, tmp_path)
    workbench.seed(scale=120)
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success

    new_day(workbench, BUDGET)
    stopped = workbench.run(PAIR, "full")
    assert not stopped.success
    message = next(f for f in stopped.failures if "daily API budget" in f)
    assert "__load__" in message.split(":")[0]  # a load stopped, not the schema step
    assert re.search(rf"used \d+ of {BUDGET} \(\d+ left", message)  # calls used and left of the allowance
    assert not any("Traceback" in f or "REQUEST_LIMIT_EXCEEDED" in f.split(":")[0] for f in stopped.failures)
    assert "resume after 20" in message and "Run phase full again after 20" in message  # when to continue
    assert "rows of phase full wait" in message
    first = dict(
        workbench.sql(PAIR, "select object, count(*) from ledger where phase = 'full' and outcome = 'ok' group by 1")
    )
    assert sum(first.values()) > 0
    assert "time_entry" not in first  # the last objects never started
    assert "account" in first and "case" not in first  # stopped inside the loads, before the cases

    new_day(workbench, 15000)
    resumed = workbench.run(PAIR, "full")
    assert resumed.success, resumed.failures
    twice = workbench.sql(
        PAIR,
        "select object, external_id from ledger where phase = 'full' and outcome = 'ok' "
        "group by 1, 2 having count(*) > 1",
    )
    assert twice == []  # nothing confirmed in the stopped run was written again
    meta = load_metadata(workbench, resumed.run_id)
    assert sum(m["skipped_already_loaded"] for m in meta.values()) == sum(first.values())
    for obj, m in meta.items():
        estimate = m["api_estimate"]
        if estimate:  # the estimate vs the remaining budget is recorded before writing
            assert estimate["calls"] > 0 and estimate["remaining"] <= 15000 and estimate["fits"], (obj, estimate)

    report = workbench.report(PAIR, "full")
    assert report["diff"]["mismatches"] == 0
    assert_counts_add_up(report)
    for name, c in report["objects"].items():
        assert c["destination_count"] == c["loaded"], (name, c)  # no duplicate records in Salesforce
