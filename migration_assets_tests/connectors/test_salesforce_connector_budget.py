"""Salesforce connector: the daily API budget is checked before sending and survives a reset."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import pytest

from migration_assets.connectors.base import TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.connectors.salesforce.budget import ApiBudget, parse_limit_info
from migration_assets.errors import BudgetExhausted
from migration_assets.sandbox.salesforce.seed import reset_usage
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets_tests.connectors.destinations import connect_salesforce

KEY = "Account_External_ID__c"


@pytest.fixture
async def sf(tmp_path: Path):
    async with aclosing(connect_salesforce(tmp_path, collection_size=2, bulk_threshold=100)) as connector:
        await connector.apply_schema([TableRequirement("Account", keys={KEY: (KEY,)})])
        yield connector


def rows(n: int) -> list[UpsertRow]:
    return [UpsertRow(f"A-{i}", {"Name": f"Firm {i}"}) for i in range(n)]


async def limit_to(tmp_path: Path, sf: SalesforceDestination, spare: int) -> None:
    """Make the org's daily limit `spare` calls above what is already used, and let `sf` see it."""
    used = (await sf.refresh_budget())["used"] or 0
    open_state(tmp_path / "salesforce.sqlite").set_options({"daily_api_limit": used + spare})
    await sf.refresh_budget()


def test_limit_info_header_is_parsed_with_extra_segments() -> None:
    assert parse_limit_info("api-usage=25/15000") == (25, 15000)
    assert parse_limit_info("api-usage=25/15000; api-bursts=1/750") == (25, 15000)
    assert parse_limit_info("api-bursts=1/750") is None and parse_limit_info(None) is None


def test_reserve_is_kept_free() -> None:
    budget = ApiBudget(reserve=10, used=80, max=100)
    assert budget.fits(10) and not budget.fits(11)
    assert budget.snapshot() == {"used": 80, "max": 100, "remaining": 20}


def test_estimate_calls_per_path(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path, collection_size=200, bulk_threshold=2000, bulk_poll_estimate=3)
    assert sf.estimate_calls(401) == 3
    assert sf.estimate_calls(2000) == 8 and sf.estimate_calls(25_000) == 24
    assert sf.estimate_calls(10, "bulk") == 8 and sf.estimate_calls(0) == 0


async def test_budget_follows_the_limit_info_header(sf: SalesforceDestination) -> None:
    before = sf.budget()
    await sf.upsert("Account", KEY, rows(2))
    after = sf.budget()
    assert after["max"] == 15000 and after["used"] == before["used"] + 1
    assert after["remaining"] == 15000 - after["used"]


async def test_batch_that_does_not_fit_is_refused_before_sending(sf: SalesforceDestination, tmp_path: Path) -> None:
    await sf.count("Account", KEY)
    await limit_to(tmp_path, sf, 2)
    with pytest.raises(BudgetExhausted) as caught:
        await sf.upsert("Account", KEY, rows(6))  # 3 collections calls
    assert caught.value.resume_after
    assert sf.budget()["remaining"] == 2  # nothing was spent
    await sf.upsert("Account", KEY, rows(4))  # 2 calls still fit
    assert await _count_after_reset(sf, tmp_path) == 4


async def test_run_resumes_after_usage_reset(sf: SalesforceDestination, tmp_path: Path) -> None:
    await sf.count("Account", KEY)
    await limit_to(tmp_path, sf, 1)
    with pytest.raises(BudgetExhausted):
        await sf.upsert("Account", KEY, rows(6))
    reset_usage(tmp_path / "salesforce.sqlite")
    results = await sf.upsert("Account", KEY, rows(6))
    assert all(r.ok for r in results)


async def test_reserve_option_refuses_earlier(tmp_path: Path) -> None:
    sf = connect_salesforce(tmp_path, collection_size=2, daily_budget_reserve=5)
    await sf.apply_schema([TableRequirement("Account", keys={KEY: (KEY,)})])
    await limit_to(tmp_path, sf, 6)
    with pytest.raises(BudgetExhausted):
        await sf.upsert("Account", KEY, rows(4))  # 2 calls + 5 reserved > 6
    await sf.aclose()


async def test_server_limit_exceeded_raises_budget_exhausted(sf: SalesforceDestination, tmp_path: Path) -> None:
    await sf.count("Account", KEY)  # sf now believes plenty is left
    other = connect_salesforce(tmp_path)
    await limit_to(tmp_path, sf, 1)
    await other.count("Account", KEY)  # another process spends the last call
    with pytest.raises(BudgetExhausted) as caught:
        await sf.count("Account", KEY)
    assert "REQUEST_LIMIT_EXCEEDED" in str(caught.value)
    await other.aclose()


async def _count_after_reset(sf: SalesforceDestination, tmp_path: Path) -> int:
    reset_usage(tmp_path / "salesforce.sqlite")
    return await sf.count("Account", KEY)
