"""The per-account API limits: an hourly limit by plan and a per-minute cap on paid plans.

Real (reference section 2): the limit is per account per hour whatever the number of users, applies
to every API call, and is answered with HTTP 429; plans Sprout (no API), Blossom and Garden
1,000/hour, Estate 2,000/hour, Forest 5,000/hour, with a per-minute cap of 400 on paid plans.
Our choices (unconfirmed): the 429 body (the errors envelope) and its `Retry-After` (seconds until
the window has room again); `X-RateLimit-Remaining` (requests left in the hour) on every counted
answer as an optional extra; a Sprout account answered 403; calls refused by authentication are not
counted (they name no account), every other call is, errors included; both windows slide (counted
with SharedWindow, so every process serving the sandbox shares them). Options: `plan`,
`hourly_limit` and `minute_limit` (override the plan), `hourly_window_seconds`,
`minute_window_seconds` (short windows for tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from migration_assets.sandbox._common import SharedWindow, SqliteState
from migration_assets.sandbox.freshsales.errors import FsError

PLANS: dict[str, int] = {"sprout": 0, "blossom": 1000, "garden": 1000, "estate": 2000, "forest": 5000}
MINUTE_CAP = 400
ACCOUNT = "account"  # the identity counted: the real limit is per account, not per user or key


@dataclass(frozen=True)
class Limits:
    plan: str
    hourly: int
    minute: int
    hour_seconds: float
    minute_seconds: float


def limits_of(opts: dict[str, Any]) -> Limits:
    """The limits the options describe.

    Raises:
        ValueError: an unknown plan.
    """
    plan = str(opts.get("plan") or "garden").lower()
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r} (known: {', '.join(PLANS)})")
    hourly = opts.get("hourly_limit")
    minute = opts.get("minute_limit")
    return Limits(
        plan=plan,
        hourly=int(PLANS[plan] if hourly is None else hourly),
        minute=int((MINUTE_CAP if PLANS[plan] else 0) if minute is None else minute),
        hour_seconds=float(opts.get("hourly_window_seconds") or 3600),
        minute_seconds=float(opts.get("minute_window_seconds") or 60),
    )


class Meter:
    """Counts the account's calls in both windows (shared through the state file)."""

    def __init__(self, state: SqliteState) -> None:
        self.hour = SharedWindow(state, "freshsales_hour")
        self.minute = SharedWindow(state, "freshsales_minute")

    def consume(self, limits: Limits) -> int:
        """Count one call.

        Returns:
            Requests left in the hourly window after this one.

        Raises:
            FsError: 403 on a plan without API access; 429 (with Retry-After) past either limit.
        """
        if limits.hourly <= 0:
            raise FsError(403, f"API access is not available on the {limits.plan.title()} plan")
        allowed, wait = self.minute.hit(ACCOUNT, limits.minute, limits.minute_seconds)
        if not allowed:
            raise self._refused(limits, wait, f"the limit of {limits.minute} API requests per minute")
        allowed, wait = self.hour.hit(ACCOUNT, limits.hourly, limits.hour_seconds)
        if not allowed:
            raise self._refused(limits, wait, f"the limit of {limits.hourly} API requests per hour")
        return self.remaining(limits)

    def remaining(self, limits: Limits) -> int:
        return max(limits.hourly - self.hour.used(ACCOUNT, limits.hour_seconds), 0)

    def _refused(self, limits: Limits, wait: float, what: str) -> FsError:
        return FsError(
            429,
            f"Too many requests: this account has reached {what}",
            headers={
                "Retry-After": str(max(math.ceil(wait), 1)),
                "X-RateLimit-Remaining": str(self.remaining(limits)),
            },
        )
