"""Freshsales connector: the hourly budget is checked before sending, stops cleanly, and a later
window resumes without duplicates; estimates per path and per plan tier."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path

import pytest

from migration_assets.connectors.base import UpsertRow
from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.connectors.freshsales.budget import HourlyBudget
from migration_assets.errors import BudgetExhausted
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import connection

KEY = "cf_source_system_id"
FIELD = {"kind": "field", "entity": "sales_accounts", "label": "Source System ID", "type": "text", "unique": True}


def account(tmp_path: Path, **sandbox_options: object) -> Path:
    path = tmp_path / "fs.sqlite"
    seed.reset(path, **sandbox_options)
    seed.apply_field_plan(path, [FIELD])
    return path


def firms(n: int, start: int = 0) -> list[UpsertRow]:
    return [UpsertRow(f"A-{i}", {"name": f"Firm {i}"}) for i in range(start, start + n)]


def test_tracker_prefers_the_server_figure_and_keeps_the_reserve():
    budget = HourlyBudget(limit=100, window=60, reserve=10)
    for _ in range(5):
        budget.note_sent(now=1000.0)
    assert budget.remaining(now=1001.0) == 95
    budget.observe("40", now=1001.0)  # other processes used the account too
    budget.note_sent(now=1002.0)
    assert budget.remaining(now=1002.0) == 39 and budget.fits(29, now=1002.0) and not budget.fits(30, now=1002.0)
    assert budget.remaining(now=1070.0) == 100  # a window later, the old figures are gone


def test_estimates_per_path_and_per_plan_tier(tmp_path):
    fs = FreshsalesDestination.from_connection(connection(account(tmp_path), bulk_threshold=4, concurrency=4))
    assert fs.estimate_calls(3, "contact") == 1 + 3  # a search, then one upsert each
    assert fs.estimate_calls(100, "contact") == 1 + (1 + 2) + 1  # search, submit + 2 polls, a view page
    assert fs.estimate_calls(1000, "contact") == 10 + 10 * 3 + (10 + 3)
    assert fs.estimate_calls(50, "task") == 50
    assert fs.requests_per_record("contact") == {"bulk": 0.05, "single": 1.01}
    assert fs.requests_per_record("task") == {"single": 1.0}


async def test_estimate_load_gives_calls_against_the_budget_and_hours_per_plan(tmp_path):
    fs = FreshsalesDestination.from_connection(connection(account(tmp_path)))
    estimate = await fs.estimate_load("contact", [100] * 200)  # 20,000 contacts
    assert estimate["calls"] == 200 * (1 + 5) and estimate["path"] == "bulk"
    assert estimate["hours_by_plan"] == {"garden": 1.2, "estate": 0.6, "forest": 0.24}
    assert estimate["limit"] == 1000 and estimate["fits"] is False
    single = await fs.estimate_load("task", [100] * 200)
    assert single["calls"] == 20_000 and single["hours_by_plan"]["garden"] == 20.0
    await fs.aclose()


async def test_batch_that_does_not_fit_is_refused_before_sending(tmp_path):
    path = account(tmp_path, hourly_limit=12)
    fs = FreshsalesDestination.from_connection(connection(path, hourly_limit=12, bulk_threshold=100))
    assert all(r.ok for r in await fs.upsert("sales_account", KEY, firms(3)))  # 1 search + 3 upserts
    used = seed.usage(path)["used"]
    with pytest.raises(BudgetExhausted) as caught:
        await fs.upsert("sales_account", KEY, firms(8, start=3))  # needs 9, 8 are left
    assert seed.usage(path)["used"] == used  # nothing was sent
    message = str(caught.value)
    assert re.search(r"needs 9 requests, used 4 of 12 this hour \(8 left, 0 kept in reserve\)", message)
    assert datetime.fromisoformat(caught.value.resume_after) > datetime.fromisoformat("2000-01-01T00:00:00+00:00")
    assert all(r.ok for r in await fs.upsert("sales_account", KEY, firms(7, start=3)))  # 8 fit exactly
    await fs.aclose()


async def test_reserve_is_never_spent(tmp_path):
    path = account(tmp_path, hourly_limit=10)
    options = {"hourly_limit": 10, "hourly_budget_reserve": 5, "bulk_threshold": 100}
    fs = FreshsalesDestination.from_connection(connection(path, **options))
    with pytest.raises(BudgetExhausted, match="5 kept in reserve"):
        await fs.upsert("sales_account", KEY, firms(5))  # a search and 5 upserts > 10 - 5
    assert all(r.ok for r in await fs.upsert("sales_account", KEY, firms(4)))
    await fs.aclose()


async def load(fs: FreshsalesDestination, batches: list[list[UpsertRow]]) -> tuple[list[str], BudgetExhausted | None]:
    """Upsert batch after batch like the loader; (external ids written, the stop if any)."""
    done: list[str] = []
    for batch in batches:
        try:
            results = await fs.upsert("sales_account", KEY, batch)
        except BudgetExhausted as stop:
            return done, stop
        done += [r.external_id for r in results if r.ok]
    return done, None


async def test_load_stops_at_the_hourly_budget_and_the_next_run_resumes_in_a_new_hour(tmp_path):
    path = account(tmp_path, hourly_limit=15)
    batches = [firms(10, start=10 * b) for b in range(4)]
    # bulk per batch: a search, the submit, 2 polls, a view page (+ the view list once) = 6, 5, then 5 > 4
    first_run = FreshsalesDestination.from_connection(connection(path, hourly_limit=15))
    done, stop = await load(first_run, batches)
    assert len(done) == 20 and stop is not None
    assert re.search(r"needs 5 requests, used 11 of 15 this hour \(4 left", str(stop))
    assert seed.usage(path)["used"] == 11  # the refused batch sent nothing
    await first_run.aclose()
    seed.reset_usage(path)  # the hour is over
    next_run = FreshsalesDestination.from_connection(connection(path, hourly_limit=15))
    rest, stop = await load(next_run, batches[2:])
    assert stop is None and len(rest) == 20
    assert await next_run.count("sales_account", KEY) == 40  # no duplicate, nothing lost
    await next_run.aclose()


async def test_a_short_window_reopens_for_the_same_connector(tmp_path):
    options = {"hourly_limit": 12, "hourly_window_seconds": 2}
    path = account(tmp_path, **options)
    fs = FreshsalesDestination.from_connection(connection(path, **options))
    batches = [firms(10, start=10 * b) for b in range(20)]
    done, stop = await load(fs, batches)
    assert stop is not None and stop.resume_after
    loop = asyncio.get_running_loop()
    until = loop.time() + 20
    while seed.usage(path)["used"] or not fs.budget_tracker.fits(6):  # the server's and our window moved on
        assert loop.time() < until, "the window did not reopen"
        await asyncio.sleep(0.05)
    next_batch = batches[len(done) // 10]
    results = await fs.upsert("sales_account", KEY, next_batch)
    assert all(r.ok and r.operation == "created" for r in results)
    await fs.aclose()


async def test_persistent_429_becomes_budget_exhausted(tmp_path):
    path = account(tmp_path, hourly_limit=6)
    fs = FreshsalesDestination.from_connection(connection(path, throttle_wait_seconds=0))
    other = FreshsalesDestination.from_connection(connection(path))
    await fs.count("sales_account", KEY)  # fs believes 5 are left
    for _ in range(5):
        await other.count("sales_account", KEY)  # another process spends them
    with pytest.raises(BudgetExhausted) as caught:
        await fs.count("sales_account", KEY)
    assert "answered 429" in str(caught.value) and caught.value.resume_after
    assert fs.budget()["remaining"] == 0
    await fs.aclose()
    await other.aclose()


async def test_facts_follow_the_server_remaining_header(tmp_path):
    path = account(tmp_path, plan="estate")
    fs = FreshsalesDestination.from_connection(connection(path, plan="estate"))
    facts = (await fs.describe(["sales_account"])).facts
    assert facts["hourly_limit"] == 2000 and facts["minute_limit"] == 400
    assert facts["hourly_requests_remaining"] == 2000 - seed.usage(path)["used"]
    await fs.aclose()
