"""Admission control (`AdaptiveLimiter`), one per system identity (system + base URL + client id or
a digest of the API key, plus the served state file for an in-process sandbox) in a module-level
registry, so every session of that identity in this process shares it. No rate is fixed up front:
- requests go out as fast as the server answers until it throttles (429) or its rate headers say
  the allowance is nearly spent;
- a 429 pauses the whole identity for its `Retry-After` (a 503 too) and estimates the server's
  rate: its window is full, so what it served this identity over the last `max(Retry-After, 1 s)`
  (a server never announces a wait longer than its window) bounds its sustained rate. Requests are
  then paced at 98% of the estimate. A later 429 after an upward probe returns to the estimate
  before it; one while the identity was served at its own pace (the edge of a window) keeps it;
  any other lowers the estimate to what was served since the last change or pause, by at most 10%
  at a time, and never below half the first estimate (a fault or a neighbour on the same identity
  is not a new limit). 200 paced answers (at least 10 s, at most 300 s) without a 429 while the
  pacing holds requests back raise it by 2%, 4%, 8%... (the limit may have moved; a probe too high
  costs a few 429s, so it comes at most once per 200 answers). A 429 that says "retry at once"
  (Retry-After: 0) only pauses: no rate limit announces itself that way;
- paced starts are also kept under the window the rate is counted over (the rate header's window,
  else the period of the first 429's estimate), lengthened by the recent spread of the waits from
  a start to its answer (the server counts a request somewhere in between): the client counts its own
  starts as the server's sliding window does, so requests sent before the pacing began, or a burst
  before a pause, are not followed by a full window's worth; requests that waited through a pause
  take new starts;
- concurrency is AIMD: +1/limit per good answer while the limit is reached, halved on 429/503;
- per-connector rate-header hooks (`RateHeaders` or any `RateHintReader`): a concurrency hint caps
  the limit (Dataverse `x-ms-dop-hint`); a remaining allowance with the window length in the
  answer paces at 98% of the window's sustained rate from the first answer (HubSpot, BackDocket's
  IETF fields): a burst would stay in a sliding window a whole window long; a remaining
  allowance without a window stops the upward probe while it is low (Dataverse, Freshsales); a
  window longer than an hour is a budget, reported in `snapshot()` and left to the connector
  (Salesforce's daily API requests).
Limiters are per process: other processes of the same identity are seen only through the server's
answers, which is how the sandboxes' shared per-identity windows are met.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

THROTTLE_STATUSES = frozenset({429, 503})


# -- rate hints --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RateHint:
    """What one answer says about the identity's allowance.

    Attributes:
        remaining: requests left in the current window.
        limit: requests allowed per window, when the system says.
        window_seconds: the window's length, when the answer says it (None: unknown).
        concurrency: the parallelism the server suggests.
    """

    remaining: int | None = None
    limit: int | None = None
    window_seconds: float | None = None
    concurrency: int | None = None


RateHintReader = Callable[[httpx.Headers], RateHint | None]


@dataclass(frozen=True)
class RateHeaders:
    """A RateHintReader from header names; each connector names its system's headers.

    Example (the names the systems document):
        Dataverse: RateHeaders(remaining="x-ms-ratelimit-burst-remaining-xrm-requests",
                               concurrency="x-ms-dop-hint")
        HubSpot:   RateHeaders(remaining="X-HubSpot-RateLimit-Remaining",
                               limit="X-HubSpot-RateLimit-Max",
                               window_ms="X-HubSpot-RateLimit-Interval-Milliseconds")
        Freshsales: RateHeaders(remaining="X-RateLimit-Remaining", limit="X-RateLimit-Limit")
        IETF draft: RateHeaders(remaining="RateLimit-Remaining", limit="RateLimit-Limit",
                                policy="RateLimit-Policy")   # `120;w=60`: the window's seconds
    """

    remaining: str | None = None
    limit: str | None = None
    window_seconds: str | None = None
    window_ms: str | None = None
    concurrency: str | None = None
    policy: str | None = None

    def __call__(self, headers: httpx.Headers) -> RateHint | None:
        hint = RateHint(
            remaining=_int_header(headers, self.remaining),
            limit=_int_header(headers, self.limit),
            window_seconds=_window(headers, self.window_seconds, self.window_ms)
            or _policy_window(headers, self.policy),
            concurrency=_int_header(headers, self.concurrency),
        )
        return None if hint == RateHint() else hint


def _int_header(headers: httpx.Headers, name: str | None) -> int | None:
    raw = headers.get(name) if name else None
    try:
        return int(float(raw)) if raw is not None else None
    except ValueError:
        return None


def _policy_window(headers: httpx.Headers, name: str | None) -> float | None:
    """The `w=` parameter of an IETF RateLimit-Policy item (`120;w=60`), the first one given."""
    raw = headers.get(name) if name else None
    for part in (raw or "").split(",")[0].split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "w":
            try:
                return float(value) if float(value) > 0 else None
            except ValueError:
                return None
    return None


def _window(headers: httpx.Headers, seconds: str | None, millis: str | None) -> float | None:
    if (value := _int_header(headers, seconds)) is not None:
        return float(value) if value > 0 else None
    if (value := _int_header(headers, millis)) is not None:
        return value / 1000 if value > 0 else None
    return None


# -- admission control -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ticket:
    """One admitted request: the limiter state it was sent under."""

    epoch: int
    rate: float | None
    saturated: bool
    start: float = 0.0  # when it was scheduled to go out (monotonic seconds)


Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class AdaptiveLimiter:
    """Admission control for one system identity: requests in flight (AIMD) and pacing rate (learnt
    from 429s and rate headers); see the module docstring for the rules. Thread- and loop-safe, so
    sessions on different event loops of one process can share it.

    Args:
        identity: the key it is registered under (never holds a secret).
        concurrency: requests in flight allowed at first.
        max_concurrency: the ceiling of the additive increase.
        max_rate: an optional hard ceiling in requests per second (a documented contractual rate);
            None lets the server decide.
    """

    DECREASE = 0.5  # concurrency after a 429/503, as a share of what it was
    MARGIN = 0.02  # pace this far under the estimated limit
    STEP_DOWN = 0.9  # one 429 lowers the estimate by at most this much (a fault is not a new limit)
    QUIET_SECONDS = 10.0  # without throttling this long, the estimate is raised (the limit may have moved)
    QUIET_ANSWERS = 200.0  # ... and for this many answers at the paced rate (a probe too high costs a
    MAX_QUIET_SECONDS = 300.0  # few 429s: at most one per 100 answers), waiting at most this long
    MEASURE_SECONDS = 600.0
    BUCKET_SECONDS = 0.1
    MIN_RATE = 0.01
    MAX_PACED_WINDOW = 3600.0  # longer windows are budgets (daily API requests), not rates
    MAX_STARTS = 200_000  # starts remembered for the client-side window

    def __init__(
        self, identity: str, *, concurrency: int = 4, max_concurrency: int = 64, max_rate: float | None = None
    ) -> None:
        self.identity = identity
        self.max_concurrency = max(1, max_concurrency)
        self.limit = float(min(max(1, concurrency), self.max_concurrency))
        self.max_rate = max_rate
        self.estimate: float | None = None  # the server's sustained rate as last measured at a 429
        self._confirmed = 0.0  # the estimate before any upward probe since the last 429
        self.in_flight = 0
        self.peak_in_flight = 0
        self.epoch = 0
        self.remaining: int | None = None
        self._floor = self.MIN_RATE
        self._hint_cap: int | None = None
        self._hint_rate: float | None = None
        self._max_remaining = 0
        self._changed_at = 0.0
        self._quiet_steps = 0
        self._demand = False
        self._held_until = 0.0
        self._resume_at = 0.0
        self._next_slot = 0.0
        self._window: float | None = None  # the length of the window the pacing rate is counted over
        self._starts: deque[float] = deque(maxlen=self.MAX_STARTS)  # scheduled starts, in order
        self._lags: deque[float] = deque(maxlen=32)  # recent seconds from a scheduled start to its answer
        self._streak = 0
        self._first: tuple[int, float] | None = None  # (epoch, seconds) of the first estimate
        self._served: deque[list[float]] = deque()  # [bucket start, answers] over MEASURE_SECONDS
        self._lock = threading.Lock()
        # callers waiting for a slot, in order; those asking `first` (reads) are woken before the rest
        self._waiters: dict[bool, deque[Waiter]] = {True: deque(), False: deque()}

    # -- admission ----------------------------------------------------------------------------
    def slots(self) -> int:
        """Requests that may be in flight now."""
        cap = min(self.max_concurrency, self._hint_cap or self.max_concurrency)
        return max(1, min(int(self.limit), cap))

    def pacing(self) -> float | None:
        """The rate requests start at now (requests per second), None when unpaced."""
        learnt = self.estimate * (1 - self.MARGIN) if self.estimate else None
        rates = [r for r in (learnt, self.max_rate, self._hint_rate) if r]
        return min(rates) if rates else None

    def paused_for(self) -> float:
        """Seconds until the identity may send again after a throttle (0 when it may)."""
        return max(0.0, self._resume_at - time.monotonic())

    async def acquire(self, *, first: bool = False) -> Ticket:
        """Wait for a slot (concurrency), the end of any pause (Retry-After) and the next paced start.

        A slot freed while requests wait is handed to the first of them (reads before writes, each in
        order): a request that arrives meanwhile does not take it. Taking it was the norm, not a race:
        a load sends its next batch in the very turn its last answer comes in, so before-image reads
        waiting behind a stream of batches went only when the batches ran out, and the updates that
        wait for them went last.

        Args:
            first: wait for a slot ahead of the requests already waiting (a read that writes wait for).
        """
        while True:
            waiter = None
            with self._lock:
                now = time.monotonic()
                pause = self._resume_at - now
                if pause <= 0 and self.in_flight < self.slots() and not self._queued_ahead(first):
                    self.in_flight += 1
                    ticket = self._admitted(now)
                elif pause <= 0:
                    waiter = (asyncio.get_running_loop(), asyncio.get_running_loop().create_future())
                    self._waiters[first].append(waiter)
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            if waiter is not None:
                await self._wait(waiter, self._waiters[first])
                with self._lock:  # the slot was counted as it was handed over
                    ticket = self._admitted(time.monotonic())
            try:
                return await self._until_start(ticket)
            except BaseException:
                self._unreserve(ticket)
                self.release(ticket)
                raise

    def _queued_ahead(self, first: bool) -> bool:
        """Whether requests wait that a new one of this kind must not pass."""
        return bool(self._waiters[True]) or (not first and bool(self._waiters[False]))

    def _admitted(self, now: float) -> Ticket:
        """The ticket of a request whose slot is counted in `in_flight` (under the lock)."""
        start = self._reserve(now)
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return Ticket(self.epoch, self.pacing(), self.in_flight >= self.slots(), start)

    async def _until_start(self, ticket: Ticket) -> Ticket:
        """Sleep until the ticket's start; a throttle that arrives meanwhile pauses the identity, and
        the start is then taken anew after the pause, so the requests that waited do not all go out
        together when it ends (a burst that would fill the server's window again). A start that is
        due goes without a turn of the event loop: requests admitted together would otherwise each
        build their bodies before the first of them is sent."""
        if (wait := ticket.start - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        while (wait := self.paused_for()) > 0:
            await asyncio.sleep(wait)
            with self._lock:
                self._forget_start(ticket.start)
                ticket = replace(ticket, rate=self.pacing(), start=self._reserve(time.monotonic()))
            await asyncio.sleep(max(0.0, ticket.start - time.monotonic()))
        return ticket

    def _reserve(self, now: float) -> float:
        """The start of the next request: the paced slot, and no earlier than the client's own count
        of its starts allows in the pacing window (the server's sliding window, seen from here: it
        also holds requests sent before the pacing began, or in a burst before a pause)."""
        rate = self.pacing()
        start = now
        if rate is not None:
            start = max(self._next_slot, now)
            window, cap = self._client_window(rate)
            if len(self._starts) >= cap:
                start = max(start, self._starts[-cap] + window)
            self._next_slot = start + 1.0 / rate
            while self._starts and self._starts[0] <= now - window:
                self._starts.popleft()
            if start > now:
                self._demand = True  # the pacing, not the caller, is what holds requests back
        self._starts.append(start)
        return start

    def _client_window(self, rate: float) -> tuple[float, int]:
        """(seconds, starts) of the client-side window: the window's whole allowance, floored (the
        pacing rate carries the margin; flooring the margined count would cost up to one request per
        window: 5% of 20 per second, 20% of 5), in the window lengthened by the recent spread of the
        waits from a scheduled start to its answer, at most by half. The server counts a request
        somewhere in that wait, so two starts a window apart land in one of its windows only when
        one of them waited longer than the other: by the spread, not by the whole wait."""
        window = self._window or 1.0
        spread = max(self._lags, default=0.0) - min(self._lags, default=0.0)
        return window + min(spread, window / 2), max(1, int(rate * window / (1 - self.MARGIN) + 1e-9))

    def _forget_start(self, start: float) -> None:
        """Drop a start that did not happen (searched from the newest end, where it sits)."""
        for i in range(len(self._starts) - 1, -1, -1):
            if self._starts[i] <= start:
                if self._starts[i] == start:
                    del self._starts[i]
                return

    def _unreserve(self, ticket: Ticket) -> None:
        """Give back the paced start of a request cancelled before it was sent (a page asked ahead
        that turned out to lie past the end), so that it does not delay the next one."""
        with self._lock:
            self._forget_start(ticket.start)
            if ticket.rate:
                self._next_slot = max(time.monotonic(), self._next_slot - 1.0 / ticket.rate)

    async def _wait(self, waiter: Waiter, queue: deque[Waiter]) -> None:
        """Until a slot is handed to `waiter`; one handed over as its caller gave up is handed on."""
        try:
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(waiter[1]), timeout=0.25)
                    return
                except TimeoutError:  # a missed hand-over must not strand it: look again now and then
                    with self._lock:
                        handed = self._hand_over()
                    self._wake(handed)
        except BaseException:
            with self._lock:
                if waiter in queue:
                    queue.remove(waiter)
                    handed = []
                else:  # handed a slot it will not use
                    self.in_flight -= 1
                    handed = self._hand_over()
            self._wake(handed)
            raise

    def _wake(self, handed: list[Waiter]) -> None:
        """Tell each waiter its slot is there (on its own event loop); the slot of one whose loop has
        closed since goes to the next."""
        for loop, future in handed:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop closed after the hand-over
                with self._lock:
                    self.in_flight -= 1
                    more = self._hand_over()
                self._wake(more)

    def _hand_over(self) -> list[Waiter]:
        """The waiters given the slots free now, counted in flight (under the lock): reads first,
        each kind in order; those of a closed event loop are dropped."""
        handed: list[Waiter] = []
        for queue in (self._waiters[True], self._waiters[False]):
            while queue and self.in_flight < self.slots():
                waiter = queue.popleft()
                if not waiter[0].is_closed():
                    self.in_flight += 1
                    handed.append(waiter)
        return handed

    def release(
        self,
        ticket: Ticket,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: RateHint | None = None,
    ) -> None:
        """Account for the answer of an admitted request (status None: no answer).

        Args:
            ticket: from `acquire`.
            status: the HTTP status, or None after a transport error.
            retry_after: the parsed `Retry-After` of a 429/503, in seconds.
            hint: what the answer's rate headers said.
        """
        with self._lock:
            now = time.monotonic()
            self.in_flight -= 1
            if hint is not None:
                self._observe(hint, now)
            if status in THROTTLE_STATUSES:
                self._on_throttle(ticket, status, retry_after, now)
            elif status is not None and status < 500:
                self._on_answer(ticket, now)
            if status is not None and ticket.start:
                self._lags.append(now - ticket.start)
            handed = self._hand_over()
        self._wake(handed)

    # -- learning -------------------------------------------------------------------------------
    def _on_answer(self, ticket: Ticket, now: float) -> None:
        self._streak = 0
        self._count_served(now)
        if self._first is not None and ticket.epoch < self._first[0]:
            self._served_late(self._first[1])
        if ticket.saturated and self.limit < self.max_concurrency:
            self.limit += 1.0 / self.limit
        quiet = now - self._changed_at
        if self.estimate is None or not self._demand or quiet < self._quiet() or now < self._held_until:
            return
        # paced and held back for a while without a throttle: the limit may be higher; the step
        # doubles with each quiet period in a row (5%, 10%, 20%...), as far as twice the estimate
        self._quiet_steps += 1
        self._raise(self.estimate * min(1 + self.MARGIN * 2 ** (self._quiet_steps - 1), 2.0), now)

    def _served_late(self, seconds: float) -> None:
        """A request sent before the first 429 and answered after it, served: the server counted it
        in the window that 429 found full (the 429 came back first, the page took longer), so the
        first estimate, made from the answers back by then, counts it too."""
        self.estimate = (self.estimate or 0.0) + 1.0 / seconds
        self._confirmed, self._floor = self.estimate, self.estimate / 2

    def _quiet(self) -> float:
        """How long the pacing must hold requests back without a 429 before the estimate is raised."""
        rate = self.estimate or self.MIN_RATE
        return min(self.MAX_QUIET_SECONDS, max(self.QUIET_SECONDS, self.QUIET_ANSWERS / rate))

    def _count_served(self, now: float) -> None:
        start = now - now % self.BUCKET_SECONDS
        if self._served and self._served[-1][0] == start:
            self._served[-1][1] += 1
        else:
            self._served.append([start, 1.0])
        while self._served and self._served[0][0] < now - self.MEASURE_SECONDS:
            self._served.popleft()

    def _served_rate(self, now: float, seconds: float) -> tuple[float, float]:
        """(answers served in the last `seconds`, that count per second); the bucket the boundary
        cuts counts for the part of it inside."""
        since, count = now - seconds, 0.0
        for start, n in reversed(self._served):
            if start >= since:
                count += n
            else:
                count += n * max(0.0, start + self.BUCKET_SECONDS - since) / self.BUCKET_SECONDS
                break
        return count, count / seconds

    def _on_throttle(self, ticket: Ticket, status: int | None, retry_after: float | None, now: float) -> None:
        self._streak += 1
        pause = retry_after
        if pause is None:
            base = min(0.2 * 2 ** (self._streak - 1), 30.0)
            pause = base + random.uniform(0, base / 2)
        resumed = self._resume_at  # the end of the previous pause
        self._resume_at = max(self._resume_at, now + pause)
        self._next_slot = max(self._next_slot, self._resume_at)
        if ticket.epoch != self.epoch:
            return  # sent before the last decrease: the same episode
        self.epoch += 1
        self.limit = max(1.0, self.limit * self.DECREASE)
        if status == 429 and retry_after != 0:  # "retry at once" is no rate limit (an injected fault)
            self._lower_estimate(now, max(pause, 1.0), since=resumed)

    def _lower_estimate(self, now: float, seconds: float, *, since: float = 0.0) -> None:
        """A 429: the server's window is full, so what it served over the last `seconds` (the pause
        it announces is no longer than its window) bounds its rate. Later 429s: one after an upward
        probe goes back to the estimate before the probe; one while this identity was served at its
        own pace is the edge of a window (or a neighbour's burst), not a lower limit; otherwise what
        was served since the estimate last changed or the last pause ended (the pause at least,
        30 s at most), or in the window the 429 found full if that is more, bounds it."""
        self._quiet_steps, self._first = 0, None
        if self.estimate is None:
            count, measured = self._served_rate(now, seconds)
            if count < 2:
                return  # nothing served yet (another process spent the window, or a fault): pause only
            self._floor = measured / 2  # no fault or neighbour pushes the pacing below half of it
            self._window = self._window or seconds
            self._confirmed = measured
            self._raise(measured, now)
            self._first = (self.epoch, seconds)  # requests of this window still in flight count too
            return
        if self.estimate > self._confirmed:  # a probe too high
            self._raise(self._confirmed, now)
            return
        period = min(max(seconds, now - max(self._changed_at, since)), self.QUIET_SECONDS * 3)
        # the window the 429 found full is the server's own count; the longer period alone would
        # read a stretch the client could not keep its pace (a starved event loop) as a lower limit
        measured = max(self._served_rate(now, period)[1], self._served_rate(now, seconds)[1])
        paced = self._paced_rate()
        if paced and measured >= 0.97 * paced:
            self._changed_at, self._demand = now, False  # at its own pace: keep the estimate
            return
        self._confirmed = max(min(self.estimate, measured / (1 - self.MARGIN)), self.estimate * self.STEP_DOWN)
        self._raise(self._confirmed, now)

    def _paced_rate(self) -> float | None:
        """The rate the pacing lets requests start at, with the client-side window's count."""
        rate = self.pacing()
        if rate is None:
            return None
        window, cap = self._client_window(rate)
        return min(rate, cap / window)

    def _raise(self, estimate: float, now: float) -> None:
        self.estimate = max(estimate, self._floor, self.MIN_RATE)
        self._changed_at, self._demand = now, False

    def _observe(self, hint: RateHint, now: float) -> None:
        if hint.concurrency:
            self._hint_cap = max(1, hint.concurrency)
        if hint.remaining is None:
            return
        self.remaining = hint.remaining
        if hint.window_seconds and hint.window_seconds > self.MAX_PACED_WINDOW:
            return  # a budget: the connector decides what to do when it runs out
        self._max_remaining = max(self._max_remaining, hint.remaining)
        allowance = hint.limit or self._max_remaining + 1
        low = hint.remaining <= max(2 * self.slots(), 0.02 * allowance)
        if hint.window_seconds:
            # the window's sustained rate, from the first answer: a burst that spends the allowance
            # first stays in a sliding window for a whole window and makes the pace after it too fast
            self._hint_rate = (1 - self.MARGIN) * allowance / hint.window_seconds
            self._window = hint.window_seconds
        elif low:
            self._held_until = now + self.QUIET_SECONDS  # no upward probe while the allowance is low

    def snapshot(self) -> dict[str, float]:
        """`concurrency` (current limit), `in_flight_peak`, `rate_per_second` (0: unpaced) and
        `remaining` (last allowance a rate header reported; -1: none)."""
        with self._lock:
            return {
                "concurrency": float(self.slots()),
                "in_flight_peak": float(self.peak_in_flight),
                "rate_per_second": round(self.pacing() or 0.0, 3),
                "remaining": float(self.remaining if self.remaining is not None else -1),
            }


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_LIMITERS: dict[str, AdaptiveLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(identity: str, **settings: Any) -> AdaptiveLimiter:
    """The process-wide limiter of `identity`, created with `settings` on first use (the first
    session's settings win: the limiter then learns its own).

    Args:
        identity: see `identity_of`.
        **settings: AdaptiveLimiter keyword arguments.

    Returns:
        The limiter every session of this identity shares.
    """
    with _LIMITERS_LOCK:
        if identity not in _LIMITERS:
            _LIMITERS[identity] = AdaptiveLimiter(identity, **settings)
        return _LIMITERS[identity]
