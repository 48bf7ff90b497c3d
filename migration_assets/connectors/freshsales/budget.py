"""The hourly API budget of a Freshsales account, as the client sees it.

Freshsales counts every call of an account against an hourly limit set by the plan and answers 429
past it; whether it reports usage in headers is unconfirmed. The tracker therefore counts the calls
it sends in a sliding window of `window` seconds against the plan's limit, and prefers the server's
figure whenever an answer carries `X-RateLimit-Remaining` (the sandbox sends it as an extra; then
the calls of other processes are seen too). The connector asks it before each batch whether the
batch fits, so a load stops before its first refused call rather than in the middle of a batch.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from migration_assets.connectors.freshsales.settings import SYSTEM
from migration_assets.errors import BudgetExhausted


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


@dataclass
class HourlyBudget:
    """Requests used and left in the current window.

    Attributes:
        limit: requests allowed per window (the plan's hourly limit, or the `hourly_limit` option).
        window: the window length in seconds (3600; shorter in tests).
        reserve: requests never spent by the connector (left for other integrations).
    """

    limit: int
    window: float = 3600.0
    reserve: int = 0
    _sent: deque[float] = field(default_factory=deque, repr=False)
    _reported: tuple[int, float] | None = field(default=None, repr=False)  # (remaining, when)
    _since_report: int = field(default=0, repr=False)

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def note_sent(self, now: float | None = None) -> None:
        """Count one request about to be sent."""
        now = time.time() if now is None else now
        self._prune(now)
        self._sent.append(now)
        self._since_report += 1

    def observe(self, header: str | None, now: float | None = None) -> None:
        """Take the server's `X-RateLimit-Remaining` of one answer (ignored when absent)."""
        if header is None:
            return
        try:
            remaining = int(header)
        except ValueError:
            return
        self._reported = (remaining, time.time() if now is None else now)
        self._since_report = 0

    def exhaust(self, now: float | None = None) -> None:
        """Record that the server refused a call for the limit (nothing left until the window moves)."""
        self._reported = (0, time.time() if now is None else now)
        self._since_report = 0

    def remaining(self, now: float | None = None) -> int:
        """Requests left: the server's last figure (while it is from this window) minus what was sent
        since, else the limit minus the requests sent in the window."""
        now = time.time() if now is None else now
        self._prune(now)
        if self._reported is not None and now - self._reported[1] < self.window:
            return max(self._reported[0] - self._since_report, 0)
        return max(self.limit - len(self._sent), 0)

    def fits(self, needed: int, now: float | None = None) -> bool:
        return needed <= self.remaining(now) - self.reserve

    def resume_after(self, now: float | None = None) -> str:
        """When the window has room again: the oldest request counted here leaves it then (a refusal
        or the server's figure without our own requests: a whole window from now)."""
        now = time.time() if now is None else now
        self._prune(now)
        if self._sent and (self._reported is None or self._reported[0] > 0):
            return _iso(self._sent[0] + self.window)
        start = self._reported[1] if self._reported is not None else now
        return _iso(max(start, now - self.window) + self.window)

    def snapshot(self) -> dict[str, int | float | str]:
        """`{"limit", "used", "remaining", "reserve", "window_seconds", "resume_after"}`."""
        remaining = self.remaining()
        return {
            "limit": self.limit,
            "used": max(self.limit - remaining, 0),
            "remaining": remaining,
            "reserve": self.reserve,
            "window_seconds": self.window,
            "resume_after": self.resume_after(),
        }

    def exhausted(self, needed: int, what: str, *, cause: str = "") -> BudgetExhausted:
        """The error to raise when `needed` requests for `what` do not fit."""
        snap = self.snapshot()
        reason = f" ({cause})" if cause else ""
        return BudgetExhausted(
            f"hourly API budget too low for {what}{reason}: needs {needed} requests, used {snap['used']} of"
            f" {self.limit} this hour ({snap['remaining']} left, {self.reserve} kept in reserve);"
            f" resume after {snap['resume_after']}",
            system=SYSTEM,
            resume_after=str(snap["resume_after"]),
        )
