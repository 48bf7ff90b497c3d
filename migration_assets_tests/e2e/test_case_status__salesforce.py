"""Case Status -> Salesforce end to end on the sandboxes: sample, approve, full, simulated delta,
each with 0 diff mismatches and counts that add up, read back from the Salesforce emulator."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from migration_assets.defs.phases import delta_partition_key
from migration_assets.sandbox.case_status.simulate import simulate_delta
from migration_assets.spec.expressions import company_key
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up

PAIR = "case_status__salesforce"


def read_back(workbench, table: str, key: str, ids: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    async def go() -> dict[str, dict[str, Any]]:
        dest = workbench.destination("salesforce")
        try:
            return await dest.read_back(table, key, ids, columns)
        finally:
            await dest.aclose()

    return asyncio.run(go())


def picklist_values(workbench, table: str, column: str) -> tuple[str, ...]:
    async def go():
        dest = workbench.destination("salesforce")
        try:
            return (await dest.describe([table])).tables[table].columns[column].options
        finally:
            await dest.aclose()

    return tuple(asyncio.run(go()))


def loaded_ids(workbench, obj: str, phase: str) -> list[str]:
    rows = workbench.sql(
        PAIR,
        "select distinct external_id from ledger where object = ? and phase = ? and outcome = 'ok' order by 1",
        [obj, phase],
    )
    return [r[0] for r in rows]


def extracted_cases(workbench) -> dict[str, dict]:
    """The cases of the full phase as extracted from the source (every value as text)."""
    rows = workbench.sql(
        PAIR, "select id, client_ids, readable_id, portal_access from extract__cases where _phase = 'full'"
    )
    return {str(r[0]): {"client_ids": json.loads(r[1]), "readable_id": r[2], "portal_access": r[3]} for r in rows}


def firm_keys(workbench) -> dict[str, str]:
    """Client id -> the Account key of the client's firm (the client's own id without a firm)."""
    rows = workbench.sql(PAIR, "select id, company from extract__clients where _phase = 'full'")
    return {str(i): company_key(c) or str(i) for i, c in rows}


def test_sample_approve_full_delta_on_salesforce_with_no_mismatch_and_counts_that_add_up(workbench):
    workbench.seed(scale=150)
    sample = workbench.run(PAIR, "sample")
    assert sample.success, sample.failures
    assert not sample.failed_checks
    sample_report = workbench.report(PAIR, "sample")
    assert_counts_add_up(sample_report)
    assert 100 <= sample_report["objects"]["case"]["source"] <= 500
    assert sample_report["diff"]["mismatches"] == 0

    assert workbench.approve(PAIR).success
    full = workbench.run(PAIR, "full")
    assert full.success, full.failures
    assert not full.failed_checks, full.failed_checks
    report = workbench.report(PAIR, "full")
    assert_counts_add_up(report)
    assert report["diff"]["mismatches"] == 0, report["diff"]
    assert report["diff"]["fields_compared"] > report["diff"]["records_compared"] > 500
    for name, c in report["objects"].items():
        assert c["destination_count"] == c["loaded"] > 0, (name, c)
    reasons = [r[0] for r in workbench.sql(PAIR, "select reason from quarantine where _phase = 'full'")]
    assert not any("value map case_status" in r for r in reasons)  # every stage the data has is mapped
    # a case without a client loads without an account (Salesforce allows it) instead of being held
    clientless = workbench.sql(PAIR, "select _external_id from stage__case where _phase = 'full' and AccountId is null")
    assert clientless and not any("AccountId" in r for r in reasons)

    # the Case Status vocabulary was added to Case.Status before the load; Practice_Area__c exists
    statuses = picklist_values(workbench, "Case", "Status")
    assert {"New", "Closed", "On Hold", "Closed Won", "Negotiation"} <= set(statuses)
    assert "Family Law" in picklist_values(workbench, "Case", "Practice_Area__c")

    # read back: a case links the Account and Contact of its primary client, keeps its number
    cases = extracted_cases(workbench)
    case_ids = loaded_ids(workbench, "case", "full")
    got = read_back(
        workbench,
        "Case",
        "Case_External_ID__c",
        case_ids,
        ["AccountId", "ContactId", "Status", "Case_Status_Number__c", "Client_Portal_Access__c"],
    )
    accounts = read_back(
        workbench, "Account", "Account_External_ID__c", loaded_ids(workbench, "account", "full"), ["Name"]
    )
    firm = firm_keys(workbench)
    assert len(accounts) < len(firm)  # clients of one firm share its Account
    for case_id in case_ids[:25]:
        clients = [str(c) for c in cases[case_id]["client_ids"]]
        if not clients or clients[0] not in firm:  # no (live) client: loaded without an account
            assert got[case_id]["AccountId"] is None
            continue
        primary = clients[0]
        assert got[case_id]["AccountId"] == accounts[firm[primary]]["id"]
        assert got[case_id]["Case_Status_Number__c"] == cases[case_id]["readable_id"]
        assert got[case_id]["Client_Portal_Access__c"] == (cases[case_id]["portal_access"].lower() == "true")

    # additional clients of a case are co-clients of the case's Account; the primary is direct
    links = loaded_ids(workbench, "client_link", "full")
    relations = read_back(workbench, "AccountContactRelation", "ACR_External_ID__c", links, ["AccountId", "Roles"])
    assert len(relations) == len(links) > 0
    for ext, rel in relations.items():
        assert rel["AccountId"] == accounts[ext.split(":")[0]]["id"]
        assert rel["Roles"] == "Co-Client"

    # notes keep their rich text, sanitized
    notes = read_back(workbench, "Note", "Note_External_ID__c", loaded_ids(workbench, "note", "full"), ["Body"])
    bodies = [n["Body"] for n in notes.values()]
    assert any("<li>" in b for b in bodies)
    assert not any("<script" in b or "javascript:" in b for b in bodies)

    # files: ContentVersions published to their Case, folder kept, oversize ones skipped with a reason
    file_ids = loaded_ids(workbench, "document", "full")
    versions = read_back(
        workbench, "ContentVersion", "File_External_ID__c", file_ids, ["FirstPublishLocationId", "Description"]
    )
    assert len(versions) == len(file_ids) > 0
    case_of = dict(workbench.sql(PAIR, "select id, case_id from extract__files where _phase = 'full'"))
    for ext, version in versions.items():
        assert version["FirstPublishLocationId"] == got[str(case_of[ext])]["id"]
    assert any(str(v["Description"]).startswith("Original folder: ") for v in versions.values())
    skipped = [r[0] for r in workbench.sql(PAIR, "select reason from excluded where object = 'document'")]
    assert skipped and all("above the 26214400-byte limit" in r for r in skipped)

    # a simulated cutover burst, picked up as a delta: new case created, updated ones changed, no duplicates
    changes = simulate_delta(system("case_status").state_path(workbench.paths.sandbox))
    delta = delta_partition_key(datetime.now(UTC))
    outcome = workbench.run(PAIR, delta)
    assert outcome.success, outcome.failures
    delta_report = workbench.report(PAIR, delta)
    assert_counts_add_up(delta_report, every_object_has_rows=False)
    assert delta_report["diff"]["mismatches"] == 0, delta_report["diff"]
    assert delta_report["objects"]["case"]["loaded"] >= 1
    new_case = changes["created"][1].split("/")[1]
    updated = [c.split("/")[1] for c in changes["updated"]]
    after = read_back(workbench, "Case", "Case_External_ID__c", [new_case, *updated], ["Status", "Subject"])
    assert after[new_case]["Subject"] == "Cutover v. Window"
    assert {after[c]["Status"] for c in updated if c in after} <= {"Closed"}
    assert delta_report["objects"]["case"]["destination_count"] == report["objects"]["case"]["loaded"] + 1
