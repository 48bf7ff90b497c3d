"""Salesforce connector reads and rollback writes: read_back, read_by_ids, count, delete, restore."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import pytest

from migration_assets.connectors.base import TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.connectors.salesforce.soql import in_chunks, quote, select
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets_tests.connectors.destinations import connect_salesforce

KEY = "Account_External_ID__c"


@pytest.fixture
async def sf(tmp_path: Path):
    async with aclosing(connect_salesforce(tmp_path)) as connector:
        await connector.apply_schema([TableRequirement("Account", keys={KEY: (KEY,)})])
        yield connector


async def load(sf: SalesforceDestination, names: list[str]) -> dict[str, str]:
    results = await sf.upsert("Account", KEY, [UpsertRow(n, {"Name": f"Firm {n}", "Phone": "1"}) for n in names])
    assert all(r.ok for r in results), results
    return {r.external_id: r.destination_id for r in results}


def test_quote_escapes_quotes_backslashes_and_line_breaks() -> None:
    assert quote("O'Brien") == "'O\\'Brien'"
    assert quote("a\\b\nc") == "'a\\\\b\\nc'"


def test_select_removes_duplicate_fields_case_insensitively() -> None:
    assert select(["Id", "Name", "id", "NAME", "Phone"], "Account") == "SELECT Id, Name, Phone FROM Account"


def test_in_chunks_keep_each_list_short() -> None:
    chunks = list(in_chunks([f"value-{i:05d}" for i in range(1000)]))
    assert sum(len(c) for c in chunks) == 1000 and all(len(c) <= 200 for c in chunks)
    assert all(len(",".join(quote(v) for v in c)) < 4000 for c in chunks)


async def test_read_back_quotes_values_and_maps_by_external_id(sf: SalesforceDestination) -> None:
    ids = await load(sf, ["O'Brien", "plain", "back\\slash"])
    back = await sf.read_back("Account", KEY, ["O'Brien", "back\\slash", "missing"], ["Name", KEY])
    assert set(back) == {"O'Brien", "back\\slash"}
    assert back["O'Brien"] == {"id": ids["O'Brien"], KEY: "O'Brien", "Name": "Firm O'Brien"}


async def test_read_back_follows_next_records_url(sf: SalesforceDestination, tmp_path: Path) -> None:
    open_state(tmp_path / "salesforce.sqlite").set_options({"query_batch_size": 2})
    names = [f"A-{i}" for i in range(7)]
    await load(sf, names)
    assert set(await sf.read_back("Account", KEY, names, ["Name"])) == set(names)


async def test_read_by_ids_returns_requested_columns_and_skips_missing(sf: SalesforceDestination) -> None:
    ids = await load(sf, ["A-1", "A-2"])
    got = await sf.read_by_ids("Account", [ids["A-1"], "001000000000000AAA"], ["Name", "Phone"])
    assert got == {ids["A-1"]: {"Name": "Firm A-1", "Phone": "1"}}


async def test_count_counts_only_keyed_records(sf: SalesforceDestination) -> None:
    await load(sf, ["A-1", "A-2", "A-3"])
    assert await sf.count("Account", KEY) == 3


async def test_delete_is_idempotent(sf: SalesforceDestination) -> None:
    ids = list((await load(sf, ["A-1", "A-2"])).values())
    first = await sf.delete("Account", ids)
    assert [(r.ok, r.operation) for r in first] == [(True, "deleted")] * 2
    again = await sf.delete("Account", ids)
    assert all(r.ok for r in again), again
    assert await sf.count("Account", KEY) == 0


async def test_restore_writes_back_before_images(sf: SalesforceDestination) -> None:
    ids = await load(sf, ["A-1"])
    before = (await sf.read_by_ids("Account", [ids["A-1"]], ["Name", "Phone"]))[ids["A-1"]]
    await sf.upsert("Account", KEY, [UpsertRow("A-1", {"Name": "Changed", "Phone": None})])
    [result] = await sf.restore("Account", [{"id": ids["A-1"], **before}])
    assert result.ok and result.operation == "restored"
    assert (await sf.read_by_ids("Account", [ids["A-1"]], ["Name", "Phone"]))[ids["A-1"]] == before


async def test_restore_of_a_deleted_record_reports_it_cannot_undelete(sf: SalesforceDestination) -> None:
    ids = await load(sf, ["A-1"])
    await sf.delete("Account", [ids["A-1"]])
    [result] = await sf.restore("Account", [{"id": ids["A-1"], "Name": "Firm A-1"}])
    assert not result.ok and "cannot undelete" in (result.error or "")
