"""Safe cutover: no silent no-op after a rollback, no run of a phase that is not one, no refused run
that extracts or creates anything, no approval of a sample that did not verify, and the second pass
that writes deferred lookups (how a lookup cycle is broken)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from migration_assets.connectors import resolve_connection
from migration_assets.defs.naming import approval_op_name, asset_key, migrate_job_name, op_name, phases_name
from migration_assets.errors import MigrationError
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up, core_spec_dir

PAIR = "case_status__dynamics365"


def _approved_sample(workbench, tmp_path: Path, spec_dir: Path | None = None) -> None:
    workbench.spec_dir = spec_dir or core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=100)
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success


def test_rollback_then_full_loads_everything_again(workbench, tmp_path):
    _approved_sample(workbench, tmp_path)
    assert workbench.run(PAIR, "full").success
    first = workbench.report(PAIR, "full")
    assert workbench.rollback(PAIR, "full").success
    after_rollback = workbench.report(PAIR, "full")
    for name, counts in after_rollback["objects"].items():
        assert counts["loaded"] == 0, (name, counts)  # the ledger no longer believes rolled-back writes

    again = workbench.run(PAIR, "full")
    assert again.success, again.failures
    report = workbench.report(PAIR, "full")
    assert_counts_add_up(report)
    assert report["diff"]["mismatches"] == 0
    for name, counts in report["objects"].items():
        assert counts["loaded"] == first["objects"][name]["loaded"], name
        assert counts["destination_count"] >= counts["loaded"], name
    writes = workbench.sql(PAIR, "select count(*) from ledger where run_id = ? and outcome = 'ok'", [again.run_id])
    assert writes[0][0] >= sum(c["loaded"] for c in report["objects"].values())


@pytest.mark.parametrize("key", ["Sample", "delta-tomorrow", "full "])
def test_a_key_that_is_not_a_phase_writes_nothing_and_leaves_no_partition(workbench, tmp_path, key):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=60)
    workbench.instance.add_dynamic_partitions(phases_name(PAIR), [key])  # as the UI's "+ Add a partition" does
    job = workbench.defs.resolve_job_def(migrate_job_name(PAIR))
    result = job.execute_in_process(
        instance=workbench.instance, partition_key=key, raise_on_error=False, tags={"pair": PAIR}
    )
    assert not result.success
    materialized = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert materialized == []
    assert key not in workbench.instance.get_dynamic_partitions(phases_name(PAIR))
    assert (
        not workbench.paths.staging_db(PAIR).exists()
        or not workbench.sql(PAIR, "select count(*) from information_schema.tables where table_name like 'extract__%'")[
            0
        ][0]
    )


def test_a_full_run_without_approval_stops_before_extracting_or_creating_schema(workbench, tmp_path):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=60)
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    before = dataverse_seed.snapshot(state)
    refused = workbench.run(PAIR, "full")
    assert not refused.success
    assert refused.failures[0].startswith(op_name(asset_key(PAIR, "plan", "approval_gate"))), refused.failures
    assert workbench.instance.get_latest_materialization_event(asset_key(PAIR, "extract", "clients")) is None
    assert dataverse_seed.snapshot(state) == before


def test_partly_configured_real_system_is_an_error_naming_the_missing_variables(tmp_path):
    environ = {"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_CLIENT_ID": "app"}
    with pytest.raises(MigrationError) as err:
        resolve_connection("dynamics365", state_dir=tmp_path, environ=environ)
    assert "DATAVERSE_TOKEN_URL" in str(err.value) and "DATAVERSE_CLIENT_SECRET" in str(err.value)
    assert resolve_connection("dynamics365", state_dir=tmp_path, environ={}).sandbox


def test_approve_refuses_a_sample_whose_diff_failed_unless_overridden(workbench, tmp_path):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=100)
    assert workbench.run(PAIR, "sample").success
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    contact = next(c for c in dataverse_seed.snapshot(state)["contact"] if c.get("cs_client_id"))
    dataverse_seed.seed_records(state, "contact", [{"contactid": contact["contactid"], "lastname": "Tampered"}])
    job = workbench.defs.resolve_job_def(migrate_job_name(PAIR))
    diff = job.execute_in_process(
        instance=workbench.instance,
        partition_key="sample",
        asset_selection=[asset_key(PAIR, "verify", "diff")],
        raise_on_error=False,
        tags={"pair": PAIR},
    )
    assert not all(e.passed for e in diff.get_asset_check_evaluations())

    refused = workbench.approve(PAIR)
    assert not refused.success
    messages = [str(e.step_failure_data.error.message) for e in refused.all_events if e.is_step_failure]
    assert any("did not verify" in m and "mismatch" in m for m in messages), messages

    config = {"approver": "lead@firm.example", "override": "cosmetic last name, fixed in source"}
    op = approval_op_name(PAIR)
    overridden = workbench.defs.resolve_job_def(f"{PAIR}__approve").execute_in_process(
        instance=workbench.instance, run_config={"ops": {op: {"config": config}}}, raise_on_error=False
    )
    assert overridden.success
    rows = workbench.sql(PAIR, "select approver, override_reason from approvals")
    assert rows == [("lead@firm.example", "cosmetic last name, fixed in source")]


def test_deferred_lookup_cycle_loads_both_sides_then_the_lookup(workbench, tmp_path):
    spec_dir = core_spec_dir(tmp_path / "specs")
    path = spec_dir / f"{PAIR}.yaml"
    spec = yaml.safe_load(path.read_text())
    # account → its primary contact, contact → its account: a cycle; the account side waits
    spec["objects"]["account"]["lookups"] = {"primarycontactid": {"object": "contact", "value": "id", "deferred": True}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    workbench.spec_dir = spec_dir
    workbench.seed(scale=100)
    outcome = workbench.run(PAIR, "sample")
    assert outcome.success, outcome.failures
    report = workbench.report(PAIR, "sample")
    assert report["diff"]["mismatches"] == 0
    patched = workbench.sql(PAIR, "select count(*) from ledger where object = 'account' and operation = 'patched'")
    assert patched[0][0] > 0
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    accounts = [a for a in dataverse_seed.snapshot(state)["account"] if a.get("cs_account_key")]
    linked = [a for a in accounts if (a.get("primarycontactid") or {}).get("type") == "contact"]
    assert len(linked) == patched[0][0]
