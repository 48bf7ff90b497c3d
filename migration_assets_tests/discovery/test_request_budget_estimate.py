"""The estimator against a destination's request budget window: a daily or an hourly one as the
destination's facts report it, the windows a phase spans, and requests and hours per plan tier."""

from __future__ import annotations

import pytest

from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.discovery import estimating
from migration_assets.discovery.budget import RequestBudget, request_budget
from migration_assets.discovery.plan_report import phase_rows_table, tier_rows_table
from migration_assets.discovery.source_schema import FieldProfile, ObjectProfile, SourceSchema
from migration_assets.sandbox.freshsales import seed as fs_seed
from migration_assets.sandbox.freshsales.testing import connection
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

SPEC = load_spec(SPEC_DIR / "case_status__freshsales.yaml")
HOURLY = {
    "hourly_requests_remaining": 600,
    "hourly_limit": 1000,
    "hourly_window_seconds": 3600,
    "hourly_limit_by_plan": {"garden": 1000, "estate": 2000, "forest": 5000},
}


def source_schema(cases: int) -> SourceSchema:
    def obj(name: str, count: int) -> ObjectProfile:
        stamp = FieldProfile(
            "updated_at", "datetime", "datetime", 1.0, count, min="2026-01-01T00:00:00Z", max="2026-01-11T00:00:00Z"
        )
        company = FieldProfile("company", "str", "str", 0.9, count // 4)
        return ObjectProfile(name, count, [stamp, company], updated_field="updated_at")

    counts = {"cases": cases, "clients": cases, "messages": 2 * cases, "notes": cases // 2, "files": cases // 2}
    sources = {o.source for o in SPEC.spec.objects.values()} | {j.source for o in SPEC.spec.objects.values()
                                                                for j in o.join.values()}  # fmt: skip
    return SourceSchema("case_status", {s: obj(s, counts.get(s, 10)) for s in sources})


def test_the_budget_window_comes_from_the_facts_shortest_window_first():
    hourly = request_budget(HOURLY)
    assert hourly == RequestBudget("hourly", 600, 1000, 3600.0, {"garden": 1000, "estate": 2000, "forest": 5000})
    daily = request_budget({"daily_requests_remaining": 15000})
    assert daily is not None and (daily.period, daily.limit, daily.window_seconds) == ("daily", 15000, 86400.0)
    assert request_budget({"hourly_requests_remaining": 5, **{"daily_requests_remaining": 9}}).period == "hourly"
    assert request_budget({"plan": "garden"}) is None
    assert estimating.budget_per_day(HOURLY) == 24_000 and estimating.budget_per_day({}) is None


def test_windows_count_the_rest_of_this_one_then_whole_ones_and_tiers_start_afresh():
    budget = request_budget(HOURLY)
    assert budget is not None
    assert [budget.windows(n) for n in (0, 600, 601, 1600, 1601)] == [1, 1, 2, 2, 3]
    tiers = budget.by_tier(4500, work_seconds=1800)
    assert {t: (v["windows"], v["hours"]) for t, v in tiers.items()} == {
        "garden": (5, 4.5),  # four whole hours waited, then half an hour of work
        "estate": (3, 2.5),
        "forest": (1, 0.5),
    }


def test_each_phase_gets_requests_windows_and_hours_per_plan_tier(fs):
    calls = estimating.calls_per_table(fs.estimate_calls)
    limits = estimating.Limits(100, 4, 6, budget=request_budget(HOURLY))
    full, = estimating.estimate(SPEC, source_schema(cases=3000), limits, calls_for=calls, phases=["full"])
    assert full.budget_period == "hourly" and full.windows == request_budget(HOURLY).windows(full.requests)
    assert full.seconds >= (full.windows - 1) * 3600
    hours = {t: v["hours"] for t, v in full.by_tier.items()}
    assert hours["garden"] > hours["estate"] > hours["forest"] > 0
    assert all(v["requests"] == full.requests for v in full.by_tier.values())
    data = {"phases": estimating.to_json([full]), "budget": {"period": "hourly"}}
    assert phase_rows_table(data)[0]["budget_windows"] == f"{full.windows} (hourly)"
    assert [r["tier"] for r in tier_rows_table(data)] == ["garden", "estate", "forest"]
    columns = {"phase", "tier", "requests_per_hour", "requests", "hours_of_budget", "hours"}
    assert set(tier_rows_table(data)[0]) == columns


def test_requests_per_batch_follow_the_table_bulk_objects_cost_less_than_one_request_per_record(fs):
    calls = estimating.calls_per_table(fs.estimate_calls)
    assert calls(100, "task") == 100  # one call per record: no bulk endpoint
    assert calls(100, "contact") < 10  # a bulk_upsert job for 100 contacts
    assert estimating.calls_per_table(lambda n: n // 10)(100, "anything") == 10  # connectors without tables
    load = {s.step: s for s in estimating.estimate(
        SPEC, source_schema(cases=1000), estimating.Limits(100, 4, 6),
        calls_for=calls, phases=["full"])[0].steps}  # fmt: skip
    assert load["load__message_task"].requests > 10 * load["load__contact"].requests


@pytest.fixture
async def fs(tmp_path):
    """A connector on an empty sandbox account (estimates make no request)."""
    fs_seed.reset(tmp_path / "fs.sqlite")
    connector = FreshsalesDestination.from_connection(connection(tmp_path / "fs.sqlite"))
    yield connector
    await connector.aclose()
