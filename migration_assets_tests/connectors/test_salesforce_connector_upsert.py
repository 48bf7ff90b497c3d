"""Salesforce connector upserts: sObject Collections below the threshold, Bulk API 2.0 at or above it."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.connectors.base import ColumnRequirement, LookupRef, TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.errors import RemoteRejected
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets_tests.connectors.destinations import connect_salesforce

REQUIRED = [
    TableRequirement("Account", keys={"Account_External_ID__c": ("Account_External_ID__c",)}),
    TableRequirement("Contact", keys={"Contact_External_ID__c": ("Contact_External_ID__c",)}),
    TableRequirement(
        "Case",
        columns=(ColumnRequirement("Status", "picklist", options=("New", "Active")),),
        keys={"Case_External_ID__c": ("Case_External_ID__c",)},
    ),
]
PATHS = ["collections", "bulk"]


@pytest.fixture(params=PATHS)
async def sf(request: pytest.FixtureRequest, tmp_path: Path):
    # The threshold decides the path: 1 sends everything through Bulk, a huge one through Collections.
    threshold = 1 if request.param == "bulk" else 10_000
    connector = connect_salesforce(tmp_path, bulk_threshold=threshold, collection_size=3)
    await connector.apply_schema(REQUIRED)
    yield connector
    await connector.aclose()


def accounts(n: int, suffix: str = "") -> list[UpsertRow]:
    return [UpsertRow(f"A-{i}", {"Name": f"Firm {i}{suffix}", "Phone": "555-0100"}) for i in range(n)]


async def test_upsert_creates_then_updates_without_duplicates(sf: SalesforceDestination, request) -> None:
    first = await sf.upsert("Account", "Account_External_ID__c", accounts(7))
    assert [r.operation for r in first] == ["created"] * 7 and all(r.destination_id for r in first)
    assert sf.last_path == request.node.callspec.params["sf"]
    second = await sf.upsert("Account", "Account_External_ID__c", accounts(7, " LLP"))
    assert [r.operation for r in second] == ["updated"] * 7
    assert [r.destination_id for r in second] == [r.destination_id for r in first]
    assert await sf.count("Account", "Account_External_ID__c") == 7
    back = await sf.read_back("Account", "Account_External_ID__c", ["A-3"], ["Name"])
    assert back["A-3"]["Name"] == "Firm 3 LLP" and back["A-3"]["id"] == first[3].destination_id


async def test_rejected_row_fails_alone_with_the_remote_error(sf: SalesforceDestination) -> None:
    rows = [
        UpsertRow("C-1", {"Subject": "ok", "Status": "Active"}),
        UpsertRow("C-2", {"Subject": "bad", "Status": "Pending"}),
        UpsertRow("C-3", {"Subject": "ok too", "Status": "New"}),
    ]
    results = await sf.upsert("Case", "Case_External_ID__c", rows)
    assert [r.external_id for r in results] == ["C-1", "C-2", "C-3"]
    assert [r.ok for r in results] == [True, False, True]
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in (results[1].error or "")
    assert "Pending" in (results[1].error or "")


async def test_row_without_external_id_fails_unsent(sf: SalesforceDestination) -> None:
    results = await sf.upsert("Account", "Account_External_ID__c", [UpsertRow("", {"Name": "x"}), *accounts(1)])
    assert not results[0].ok and results[0].error == "empty external id"
    assert results[1].ok and await sf.count("Account", "Account_External_ID__c") == 1


async def test_lookup_columns_carry_destination_ids(sf: SalesforceDestination) -> None:
    [account] = await sf.upsert("Account", "Account_External_ID__c", accounts(1))
    rows = [
        UpsertRow(f"P-{i}", {"LastName": f"Ng {i}"}, {"AccountId": LookupRef("Account", account.destination_id)})
        for i in range(2)
    ]
    results = await sf.upsert("Contact", "Contact_External_ID__c", rows)
    assert all(r.ok for r in results), results
    back = await sf.read_back("Contact", "Contact_External_ID__c", ["P-0", "P-1"], ["AccountId"])
    assert {v["AccountId"] for v in back.values()} == {account.destination_id}


async def test_polymorphic_what_and_who_ids_take_case_and_contact_ids(sf: SalesforceDestination) -> None:
    [case] = await sf.upsert("Case", "Case_External_ID__c", [UpsertRow("C-1", {"Subject": "Matter"})])
    [contact] = await sf.upsert("Contact", "Contact_External_ID__c", [UpsertRow("P-1", {"LastName": "Ng"})])
    task = UpsertRow(
        "T-1",
        {"Subject": "Call client", "Status": "Completed", "ActivityDate": "2024-06-18"},
        {"WhatId": LookupRef("Case", case.destination_id), "WhoId": LookupRef("Contact", contact.destination_id)},
    )
    await sf.apply_schema([TableRequirement("Task", keys={"Task_External_ID__c": ("Task_External_ID__c",)})])
    [result] = await sf.upsert("Task", "Task_External_ID__c", [task])
    assert result.ok, result.error
    got = await sf.read_by_ids("Task", [result.destination_id], ["WhatId", "WhoId", "ActivityDate"])
    assert got[result.destination_id] == {
        "WhatId": case.destination_id,
        "WhoId": contact.destination_id,
        "ActivityDate": "2024-06-18",
    }


async def test_missing_lookup_target_is_a_row_error(sf: SalesforceDestination) -> None:
    row = UpsertRow("P-9", {"LastName": "Orphan"}, {"AccountId": LookupRef("Account", "001000000000000AAA")})
    [result] = await sf.upsert("Contact", "Contact_External_ID__c", [row])
    assert not result.ok and "INVALID_CROSS_REFERENCE_KEY" in (result.error or "")


async def test_none_clears_a_field_on_update(sf: SalesforceDestination) -> None:
    await sf.upsert("Account", "Account_External_ID__c", accounts(2))
    cleared = [UpsertRow(f"A-{i}", {"Name": f"Firm {i}", "Phone": None}) for i in range(2)]
    assert all(r.ok for r in await sf.upsert("Account", "Account_External_ID__c", cleared))
    back = await sf.read_back("Account", "Account_External_ID__c", ["A-0", "A-1"], ["Phone"])
    assert [v["Phone"] for v in back.values()] == [None, None]


async def test_special_characters_survive_the_round_trip(sf: SalesforceDestination) -> None:
    text = 'Smith, "Jr."\nline two — naïve 日本'
    await sf.upsert("Account", "Account_External_ID__c", [UpsertRow("A-x", {"Name": "Firm", "Description": text})])
    back = await sf.read_back("Account", "Account_External_ID__c", ["A-x"], ["Description"])
    assert back["A-x"]["Description"] == text


async def test_unknown_field_fails_every_row_naming_the_field(sf: SalesforceDestination) -> None:
    # Collections answer INVALID_FIELD for the request; Bulk fails the job (InvalidBatch) unprocessed.
    rows = [UpsertRow("A-1", {"Name": "x", "Foo__c": 1}), UpsertRow("A-2", {"Name": "y", "Foo__c": 2})]
    results = await sf.upsert("Account", "Account_External_ID__c", rows)
    assert [r.ok for r in results] == [False, False]
    assert all("Foo__c" in (r.error or "") for r in results)


async def test_unknown_object_raises_remote_rejected(sf: SalesforceDestination) -> None:
    with pytest.raises(RemoteRejected):
        await sf.upsert("Matter__c", "Matter_External_ID__c", [UpsertRow("M-1", {"Name": "x"})])


async def test_path_stats_count_rows_per_path(sf: SalesforceDestination, request) -> None:
    await sf.upsert("Account", "Account_External_ID__c", accounts(4))
    path = request.node.callspec.params["sf"]
    stats = sf.path_stats[path]
    assert stats["calls"] == 1 and stats["rows"] == 4 and stats["ok"] == 4 and stats["requests"] >= 1
    if path == "bulk":
        assert stats["jobs"] == 1 and stats["polls"] >= 1
    else:
        assert stats["requests"] == 2  # 4 rows in collections of 3


async def test_bulk_waits_with_backoff_until_the_job_completes(tmp_path: Path) -> None:
    open_state(tmp_path / "salesforce.sqlite").set_options({"bulk_poll_until_complete": 3})
    sf = connect_salesforce(tmp_path, bulk_threshold=1)
    await sf.apply_schema(REQUIRED)
    results = await sf.upsert("Account", "Account_External_ID__c", accounts(3))
    assert all(r.ok for r in results) and sf.path_stats["bulk"]["polls"] >= 3
    await sf.aclose()


async def test_rows_of_a_failed_bulk_job_are_reported_unprocessed(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path, bulk_threshold=1)
    await sf.apply_schema(REQUIRED)
    rows = [UpsertRow("A-1", {"Name": "x", "Foo__c": 1}), UpsertRow("A-2", {"Name": "y"})]
    results = await sf.upsert("Account", "Account_External_ID__c", rows)
    assert [r.ok for r in results] == [False, False]
    assert all((r.error or "").startswith("unprocessed: job Failed") for r in results)
    await sf.aclose()
