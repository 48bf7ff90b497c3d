"""Case Status -> Freshsales through the pipeline, on the core objects (accounts, contacts, deals):
the load refused until the admin created the custom fields, a dropdown value outside the field's
choices quarantined for its row alone (not the batch), and the per-account hourly API budget: a full
run that does not fit stops cleanly with requests used and left and when the hour reopens, and the
run in the next hour resumes without rewriting confirmed rows or duplicating records."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from migration_assets.defs.naming import asset_key
from migration_assets.sandbox.freshsales import seed as fs_seed
from migration_assets.sandbox.freshsales.store import open_state
from migration_assets_tests.conftest import assert_counts_add_up
from migration_assets_tests.e2e.test_case_status__freshsales import (
    PAIR,
    apply_checklist,
    counts,
    snapshot,
    spec_dir,
    state,
)

HOUR = 500  # the account's hourly limit in this test (a plan-like allowance the sample fits in)
SHORT = 28  # what is left of the hour when the full run starts: the schema and the accounts fit, not the rest
CORE = ("account", "contact", "deal")


def new_hour(workbench, limit: int) -> None:
    """The next hour of the account: its counted calls are forgotten, `limit` calls allowed."""
    fs_seed.reset_usage(state(workbench))
    open_state(state(workbench)).set_options({"hourly_limit": limit})


def without_a_choice(folder: Path, choice: str) -> None:
    """The spec's Matter Stage field lacks `choice` although its value map still produces it."""
    path = folder / f"{PAIR}.yaml"
    spec = yaml.safe_load(path.read_text())
    column = spec["schema"]["deal"]["columns"]["cf_matter_stage"]
    column["options"] = [o for o in column["options"] if o != choice]
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def load_metadata(workbench, run_id: str) -> dict[str, dict]:
    out = {}
    for obj in CORE:
        event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "load", obj))
        if event is not None and event.run_id == run_id:
            out[obj] = {k: v.value for k, v in event.asset_materialization.metadata.items()}
    return out


def test_refusal_dropdown_quarantine_and_hourly_budget_stop_and_resume(workbench, tmp_path, monkeypatch):
    workbench.spec_dir = spec_dir(tmp_path, keep=CORE, hourly_limit=SHORT, bulk_threshold=4)
    without_a_choice(workbench.spec_dir, "Discovery")
    workbench.seed(scale=60, options={"freshsales": {"hourly_limit": HOUR, "minute_limit": 1_000_000,
                                                     "bulk_polls_until_done": 1}})
    before = snapshot(workbench)

    # without the admin's setup the load refuses before writing anything, and says what to create
    refused = workbench.run(PAIR, "sample")
    assert not refused.success
    message = next(f for f in refused.failures if "schema_apply" in f.split(":")[0])
    assert "Follow the setup checklist of plan/schema_diff" in message
    assert "labelled 'Source System ID' (API name cf_source_system_id), marked unique" in message
    assert "Admin Settings > Deal pipelines: add 'Legal Matters'" in message
    assert snapshot(workbench) == before
    apply_checklist(workbench, monkeypatch)

    # a value the field's choices lack fails its own row in the bulk job; the rest of the batch loads
    new_hour(workbench, HOUR)
    sample = workbench.run(PAIR, "sample")
    assert sample.success and not sample.failed_checks, (sample.failures, sample.failed_checks)
    held = dict(
        workbench.sql(PAIR, "select external_id, reason from quarantine where _phase = 'sample' and step = 'load'")
    )
    rejected = {e: r for e, r in held.items() if r.startswith("rejected by freshsales")}
    assert rejected and all(
        r == "rejected by freshsales: cf_matter_stage: 'Discovery' is not a valid choice for Matter Stage"
        for r in rejected.values()
    )
    stages = dict(workbench.sql(PAIR, "select _external_id, cf_matter_stage from stage__deal where _phase = 'sample'"))
    assert set(rejected) == {e for e, s in stages.items() if s == "Discovery" and (e not in held or e in rejected)}
    sample_counts = counts(workbench, "sample")
    assert_counts_add_up(sample_counts)
    assert sample_counts["objects"]["deal"]["loaded"] == len(stages) - len(held) > 0
    assert sample_counts["diff"]["mismatches"] == 0
    assert workbench.approve(PAIR).success

    # the full run meets the end of the hour: a clean, resumable stop inside the loads
    new_hour(workbench, SHORT)
    stopped = workbench.run(PAIR, "full")
    assert not stopped.success
    message = next(f for f in stopped.failures if "hourly API budget" in f)
    assert "__load__" in message.split(":")[0]  # a load stopped, not the schema step
    assert re.search(rf"used \d+ of {SHORT} this hour \(\d+ left", message)
    assert "resume after 20" in message and "Run phase full again after 20" in message
    assert "rows of phase full wait" in message
    assert "Traceback" not in message and "429" not in message  # stopped before a call the account would refuse
    first = dict(
        workbench.sql(PAIR, "select object, count(*) from ledger where phase = 'full' and outcome = 'ok' group by 1")
    )
    assert first.get("account") and not first.get("deal")

    # the next hour: the run resumes, confirmed rows are skipped, nothing is duplicated
    new_hour(workbench, HOUR)
    resumed = workbench.run(PAIR, "full")
    assert resumed.success and not resumed.failed_checks, (resumed.failures, resumed.failed_checks)
    twice = workbench.sql(
        PAIR,
        "select object, external_id from ledger where phase = 'full' and outcome = 'ok' "
        "group by 1, 2 having count(*) > 1",
    )
    assert twice == []
    meta = load_metadata(workbench, resumed.run_id)
    assert sum(m["skipped_already_loaded"] for m in meta.values()) == sum(first.values())
    estimate = meta["deal"]["api_estimate"]
    assert estimate["calls"] > 0 and estimate["fits"]
    assert set(estimate["hours_by_plan"]) == {"garden", "estate", "forest"}
    full = counts(workbench, "full")
    assert_counts_add_up(full)
    assert full["diff"]["mismatches"] == 0
    snap = snapshot(workbench)
    for entity in ("contacts", "sales_accounts", "deals"):
        keys = [r["custom_field"]["cf_source_system_id"] for r in snap[entity]]
        assert len(keys) == len(set(keys)) == full["objects"][_object(entity)]["loaded"], entity


def _object(entity: str) -> str:
    return {"contacts": "contact", "sales_accounts": "account", "deals": "deal"}[entity]
