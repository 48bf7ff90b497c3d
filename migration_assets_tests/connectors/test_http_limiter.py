"""The adaptive limiter, measured by the emulator's own per-identity counter (SharedWindow), never
by the wall clock: under a binding limit it sits just under it with under 1% of requests answered
429, one limiter serves every session of an identity, and without a limit nothing holds requests
back (the concurrency grows)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors import limiter as limiter_module
from migration_assets.connectors.case_status import CaseStatusSource
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import AdaptiveLimiter, HttpSession, RateHeaders, RateHint
from migration_assets.connectors.limiter import Ticket
from migration_assets.connectors.salesforce.connector import daily_usage_hint
from migration_assets.sandbox._common import SharedWindow
from migration_assets.sandbox.case_status import create_app, seed
from migration_assets.sandbox.case_status.guard import WINDOW_NAME, key_identity, window_of
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system

CS = system("case_status").sandbox
USERS = "/v1/api/users"


def source(path: Path) -> CaseStatusSource:
    """A connector on its own app instance over `path`, as each step of a run builds one."""
    conn = Connection(
        "case_status",
        CS.host,
        api_key=SecretStr(CS.credentials["api_key"]),
        transport=httpx.ASGITransport(app=create_app(path)),
        sandbox=True,
    )
    return CaseStatusSource.from_connection(conn)


def throttled(*sessions: HttpSession) -> int:
    return sum(s.stats.throttled_by_status.get(429, 0) for s in sessions)


async def test_limiter_sits_under_a_binding_limit_with_under_1_percent_429s(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite"
    seed.reset(path, rate_per_second=50, burst=10)  # 50 requests per 1 s window, per API key
    state = open_state(path)
    window, (limit, seconds) = SharedWindow(state, WINDOW_NAME), window_of(state)
    identity = key_identity(CS.credentials["api_key"])
    first, second = source(path), source(path)
    assert first.session.limiter is second.session.limiter  # two steps, one identity, one limiter
    total, claimed, samples = 600, 0, []

    async def worker(session: HttpSession) -> None:
        nonlocal claimed
        while claimed < total:
            claimed += 1
            number = claimed
            await session.request("GET", USERS, params={"size": 1}, expect=(200,))
            if number % 5 == 0:  # requests the emulator counted in its window right now
                samples.append((number, window.used(identity, seconds)))

    await asyncio.gather(*(worker(s.session) for s in (first, second, first, second)))
    requests = first.session.stats.requests + second.session.stats.requests
    steady = [used for number, used in samples if number > total // 2]
    # the requests in flight when the first 429 comes back (the limit is learnt from it) are answered
    # 429 too: at most the concurrency reached before it, which is the run's peak; beyond them, < 1%
    learning = first.session.limiter.peak_in_flight
    assert (throttled(first.session, second.session) - learning) / requests < 0.01
    assert max(steady) <= limit and steady  # counted by the emulator: never over its window
    # the pace it learnt sits just under the limit (what a loaded machine then reaches is the bench's)
    assert 0.9 * limit <= (first.session.limiter.pacing() or 0) <= limit

    third = source(path)  # a later step of the same identity starts at the learnt pace
    for _ in range(30):
        await third.session.request("GET", USERS, params={"size": 1}, expect=(200,))
    assert throttled(third.session) == 0
    for s in (first, second, third):
        await s.aclose()


async def test_without_a_limit_nothing_holds_requests_back(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite"
    seed.reset(path, rate_per_second=1_000_000, burst=1_000_000)
    connector = source(path)
    limiter = connector.session.limiter
    start = limiter.slots()

    async def one() -> int:
        return (await connector.session.request("GET", USERS, params={"size": 1})).status_code

    statuses = await asyncio.gather(*(one() for _ in range(200)))
    assert statuses == [200] * 200
    assert limiter.pacing() is None  # never paced
    assert limiter.slots() > start and limiter.peak_in_flight > start  # requests in flight grew
    assert connector.session.stats.snapshot()["rate_per_second"] == 0.0
    await connector.aclose()


# -- rate headers -----------------------------------------------------------------------------------------
async def answer(limiter: AdaptiveLimiter, hint: RateHint | None) -> None:
    """One admitted request answered 200 with `hint`."""
    limiter.release(await limiter.acquire(), status=200, hint=hint)


async def test_concurrency_hint_caps_the_requests_in_flight() -> None:
    limiter = AdaptiveLimiter("hint-test", concurrency=8, max_concurrency=64)
    read = RateHeaders(remaining="x-remaining", concurrency="x-dop")
    hint = read(httpx.Headers({"x-dop": "3", "x-remaining": "90"}))
    assert hint == RateHint(remaining=90, concurrency=3)
    await answer(limiter, hint)
    assert limiter.slots() == 3 and limiter.snapshot()["remaining"] == 90


async def test_a_read_waiting_for_a_slot_goes_before_the_writes_waiting_longer() -> None:
    limiter = AdaptiveLimiter("order-test", concurrency=1, max_concurrency=1)
    held = await limiter.acquire()
    order: list[str] = []

    async def request(name: str, first: bool) -> None:
        ticket = await limiter.acquire(first=first)
        order.append(name)
        limiter.release(ticket, status=200)

    writes = [asyncio.ensure_future(request(f"write {n}", False)) for n in (1, 2)]
    await asyncio.sleep(0.01)  # both writes wait for the slot
    reads = [asyncio.ensure_future(request(f"read {n}", True)) for n in (1, 2)]
    await asyncio.sleep(0.01)
    limiter.release(held, status=200)
    await asyncio.gather(*writes, *reads)
    # reads ahead of the writes (a load's writes wait for its reads), each kind in its own order
    assert order == ["read 1", "read 2", "write 1", "write 2"]


async def test_a_slot_freed_for_a_waiting_read_is_not_taken_by_a_write_sent_in_the_same_turn() -> None:
    # a load sends its next batch in the very turn an answer comes in: the read waiting for the slot
    # that answer frees must still get it, or reads wait for as long as batches keep coming
    limiter = AdaptiveLimiter("handover-test", concurrency=1, max_concurrency=1)
    held = await limiter.acquire()
    order: list[str] = []

    async def read() -> None:
        ticket = await limiter.acquire(first=True)
        order.append("read")
        limiter.release(ticket, status=200)

    waiting = asyncio.ensure_future(read())
    await asyncio.sleep(0.01)
    limiter.release(held, status=200)
    batch = await limiter.acquire()  # in the same turn as the answer
    order.append("batch")
    limiter.release(batch, status=200)
    await waiting
    assert order == ["read", "batch"]
    assert limiter.in_flight == 0


async def test_a_slot_handed_to_a_request_that_gave_up_goes_to_the_next_one() -> None:
    limiter = AdaptiveLimiter("give-up-test", concurrency=1, max_concurrency=1)
    held = await limiter.acquire()
    quitter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    later = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    limiter.release(held, status=200)  # handed to the quitter, which is cancelled before it runs
    quitter.cancel()
    ticket = await asyncio.wait_for(later, timeout=2)
    assert limiter.in_flight == 1
    limiter.release(ticket, status=200)
    assert limiter.in_flight == 0


async def test_a_slot_is_not_handed_to_a_waiter_whose_event_loop_has_closed() -> None:
    # a session on another thread's loop that ended while it waited: its slot goes to the next one
    limiter = AdaptiveLimiter("closed-loop-test", concurrency=1, max_concurrency=1)
    held = await limiter.acquire()
    gone = asyncio.new_event_loop()
    limiter._waiters[False].append((gone, gone.create_future()))
    gone.close()
    waiting = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    limiter.release(held, status=200)
    ticket = await asyncio.wait_for(waiting, timeout=2)
    assert limiter.in_flight == 1
    limiter.release(ticket, status=200)


async def test_an_allowance_with_its_window_paces_just_under_the_windows_rate() -> None:
    limiter = AdaptiveLimiter("window-test", concurrency=2)
    read = RateHeaders(remaining="x-left", limit="x-max", window_ms="x-interval")
    await answer(limiter, read(httpx.Headers({"x-left": "80", "x-max": "100", "x-interval": "10000"})))
    # 100 per 10 s, from the first answer: a burst would stay in the sliding window for 10 s
    assert limiter.pacing() == pytest.approx(9.8)
    await answer(limiter, read(httpx.Headers({"x-left": "2", "x-max": "100", "x-interval": "10000"})))
    assert limiter.pacing() == pytest.approx(9.8)


async def test_a_daily_budget_is_reported_not_paced() -> None:
    limiter = AdaptiveLimiter("budget-test")
    hint = daily_usage_hint(httpx.Headers({"Sforce-Limit-Info": "api-usage=14990/15000"}))
    assert hint is not None and hint.remaining == 10
    await answer(limiter, hint)
    assert limiter.pacing() is None and limiter.snapshot()["remaining"] == 10


async def test_the_first_estimate_counts_the_pages_served_after_the_first_429() -> None:
    # 10 requests per 2 s: ten sent at once, the eleventh refused while a page is still on its way
    limiter = AdaptiveLimiter("late-test", concurrency=11)
    tickets = [await limiter.acquire() for _ in range(11)]
    for ticket in tickets[:9]:
        limiter.release(ticket, status=200)
    limiter.release(tickets[10], status=429, retry_after=2.0)
    limiter.release(tickets[9], status=200)  # served in the window the 429 found full
    assert limiter.estimate == pytest.approx(5.0)  # 10 per 2 s, not the 9 back before the 429
    assert limiter.pacing() == pytest.approx(4.9)


def test_a_429_after_a_window_served_at_its_pace_keeps_the_estimate_however_slow_the_client_was_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 50 requests per 1 s, on a clock the test moves: a starved client (a busy machine) is served 40 per
    # second for four seconds, catches up to its pace, and a request at the window's edge is refused
    clock = [0.0]
    monkeypatch.setattr(limiter_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    limiter = AdaptiveLimiter("starved-test", concurrency=64)

    def served(per_second: int, seconds: int) -> None:
        for _ in range(per_second * seconds):
            clock[0] += 1.0 / per_second
            limiter.release(Ticket(limiter.epoch, limiter.pacing(), False), status=200)

    def refused() -> None:
        limiter.release(Ticket(limiter.epoch, limiter.pacing(), False), status=429, retry_after=1.0)

    served(50, 1)
    refused()
    assert limiter.estimate == pytest.approx(50.0)
    clock[0] += 1.0  # the pause
    served(40, 4)
    served(50, 1)
    refused()  # the window it found full was served at the pace: the limit did not move
    assert limiter.estimate == pytest.approx(50.0) and limiter.pacing() == pytest.approx(49.0)
    clock[0] += 1.0
    served(40, 2)
    refused()  # 40 per second was all the window held: a lower limit (or a neighbour), one step down
    assert limiter.estimate == pytest.approx(45.0)
