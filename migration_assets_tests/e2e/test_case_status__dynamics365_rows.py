"""Every mapping row of seed 000 end to end, on both licence tiers: sandbox Case Status → pipeline
(sample, approve, full) → sandbox Dataverse, read back from the destination's own records."""

from __future__ import annotations

import json

import pytest

from migration_assets.defs.naming import asset_key
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up

PAIR = "case_status__dynamics365"
CUSTOM_STAGES = {100000000, 100000001, 100000002, 100000003, 100000004}  # incident status reasons we add


def _snapshot(workbench) -> dict[str, list[dict]]:
    return dataverse_seed.snapshot(system("dynamics365").state_path(workbench.paths.sandbox))


def _metadata(workbench, *path: str) -> dict:
    event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, *path))
    assert event is not None, path
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


@pytest.fixture(scope="module")
def tiers():
    return {"enterprise": {}, "professional": {"dynamics365": {"tier": "professional"}}}


# the Professional tier is the tighter one (custom-table limit, no restricted tables) and runs in
# `make test`; the Enterprise tier runs the same rows in `make bench` (marked slow for the suite's time)
@pytest.mark.parametrize("tier", [pytest.param("enterprise", marks=pytest.mark.slow), "professional"])
def test_every_row_loads_and_reads_back_on_both_licence_tiers(workbench, tiers, tier):
    workbench.seed(scale=120, options=tiers[tier])
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success
    outcome = workbench.run(PAIR, "full")
    assert outcome.success, outcome.failures
    report = workbench.report(PAIR, "full")

    # counts add up for every object and every row type arrived
    assert_counts_add_up(report)
    for name, c in report["objects"].items():
        assert c["loaded"] > 0 and c["destination_count"] == c["loaded"], (name, c)
    assert report["diff"]["mismatches"] == 0, report["diff"]
    assert set(report["objects"]) >= {"account", "contact", "incident", "matter", "client_message", "document"}

    snap = _snapshot(workbench)
    case_table = "incident" if tier == "enterprise" else "cs_case"
    assert _metadata(workbench, "plan", "schema_diff")["variant"] == (
        "(base spec)" if tier == "enterprise" else "professional"
    )
    cases = {r["cs_case_id"]: r for r in snap[case_table]}
    assert len(cases) == report["objects"]["incident"]["loaded"]
    assert "incident" not in snap or tier == "enterprise"

    # matters point at their case row, whichever table holds cases
    case_ids = {r[f"{case_table}id"] for r in cases.values()}
    for matter in snap["cs_matter"]:
        assert matter["cs_caseid"]["type"] == case_table and matter["cs_caseid"]["id"] in case_ids

    # status labels → status reasons value by value, custom stages as their own reasons
    reasons = {r["statuscode"] for r in cases.values()}
    if tier == "enterprise":
        assert reasons & CUSTOM_STAGES, reasons
    else:
        assert reasons <= set(range(100000000, 100000012)), reasons

    # messages: activities regarding a migrated contact, original timestamps, active owners only
    contacts = {r["contactid"] for r in snap["contact"]}
    users = {u["systemuserid"]: u for u in snap["systemuser"]}
    # a message whose client does not exist loads without a regarding contact, reported; one with
    # no client at all (no case, no sender) has an empty lookup in staging
    reported = "select external_id from substitutions where \"column\" = 'regardingobjectid'"
    empty = "select _external_id from stage__client_message where regardingobjectid is null"
    allowed = {r[0] for r in workbench.sql(PAIR, reported)} | {r[0] for r in workbench.sql(PAIR, empty)}
    for message in snap["cs_clientmessage"]:
        if message.get("regardingobjectid") is None:
            assert message["cs_message_id"] in allowed, message["cs_message_id"]
            continue
        assert message["regardingobjectid"]["type"] == "contact"
        assert message["regardingobjectid"]["id"] in contacts
        assert message["actualstart"] == message["overriddencreatedon"]
        assert not users[message["ownerid"]["id"]]["isdisabled"]
    for table in ("contact", case_table, "cs_matter"):  # no record is owned by a disabled user
        assert not any(users[r["ownerid"]["id"]]["isdisabled"] for r in snap[table]), table

    # custom fields discovered from the JSON properties became typed columns with values
    contact = next(r for r in snap["contact"] if r.get("cs_referral_source") is not None)
    assert isinstance(contact["cs_referral_source"], int)  # a choice (option set)
    assert any(isinstance(r.get("cs_settlement_demand"), float) for r in cases.values())
    assert any(str(r.get("cs_filing_date") or "").endswith("Z") for r in cases.values())


def test_data_quality_is_handled_and_reported(workbench):
    workbench.seed(scale=200)
    assert workbench.run(PAIR, "sample").success
    reasons = [r[0] for r in workbench.sql(PAIR, "select reason from quarantine where _phase = 'sample'")]
    excluded = [r[0] for r in workbench.sql(PAIR, "select reason from excluded where _phase = 'sample'")]
    partial = [r[0] for r in workbench.sql(PAIR, "select reason from partial_fields where _phase = 'sample'")]
    notes = [r[0] for r in workbench.sql(PAIR, "select note from substitutions where _phase = 'sample'")]
    assert any("is not valid JSON" in r for r in partial)  # malformed custom-property JSON: the rest loads
    assert any("used for an empty last_name" in n for n in notes)  # the last-name fallback, reported
    assert any("customerid: no contact to link to" in r for r in reasons)  # cases without a client
    assert not any("value map case_status" in r for r in reasons)  # every label the data has is mapped
    assert any("above the 26214400-byte limit" in r for r in excluded), excluded[:5]  # oversize documents

    owners = _metadata(workbench, "plan", "owners")
    assert owners["owners_disabled"] >= 1 and owners["owners_unmatched"] >= 1
    owner_report = (workbench.paths.reports / PAIR / "owners_sample.md").read_text()
    assert "disabled" in owner_report and "unmatched" in owner_report
    people = json.loads((workbench.paths.reports / PAIR / "owners_sample.json").read_text())["people"]
    assert {p["status"] for p in people} >= {"matched", "disabled", "unmatched"}

    contacts = _metadata(workbench, "stage", "contact")
    assert contacts["duplicates"] >= 1  # the same email twice: reported, both kept (spec: report)

    diff = json.loads((workbench.paths.reports / PAIR / "schema_diff_sample.json").read_text())
    created = {(i["table"], i["name"]) for i in diff["to_create"]}
    assert ("cs_matter", "cs_matter") in created and ("incident", "statuscode") in created
    assert not diff["conflicting"]
    custom = json.loads((workbench.paths.reports / PAIR / "custom_fields_sample.json").read_text())["fields"]
    kinds = {f["column"]: f["type"] for f in custom if f["object"] == "incident"}
    assert kinds["cs_filing_date"] == "datetime" and kinds["cs_settlement_demand"] == "decimal"
    assert _metadata(workbench, "plan", "schema_diff")["to_create"] == len(diff["to_create"])


def test_professional_table_limit_is_reported_before_anything_is_created(workbench):
    workbench.seed(scale=100, options={"dynamics365": {"tier": "professional", "custom_table_limit": 2}})
    outcome = workbench.run(PAIR, "sample")
    assert not outcome.success
    assert any("schema_diff:no_conflicts" in c for c in outcome.failed_checks), outcome.failed_checks
    text = (workbench.paths.reports / PAIR / "schema_diff_sample.md").read_text()
    assert "custom table limit of 2" in text
    assert "professional" in text and "needs 3 custom table(s)" in text  # the mappings and what they need
    tables = set(_snapshot(workbench))
    assert not {"cs_case", "cs_matter", "cs_clientmessage"} & tables  # nothing was created
