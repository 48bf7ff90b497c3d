"""A destination's API request budget as its facts report it, and what a number of requests costs
against it: how many budget windows (days, hours) a phase spans, per plan tier too.

Destinations state their budget window in their facts, one period each, generically:

    <period>_requests_remaining   requests left in the current window (required)
    <period>_limit                requests per window (default: the remaining figure)
    <period>_window_seconds       the window's length (default: 86400 for daily, 3600 for hourly)
    <period>_limit_by_plan        {plan tier: requests per window}, for an estimate per tier

with <period> one of `daily`, `hourly` (the shortest window reported wins: it binds first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PERIODS: dict[str, float] = {"hourly": 3600.0, "daily": 86400.0}  # shortest first


@dataclass(frozen=True)
class RequestBudget:
    """Requests a destination allows per window.

    Attributes:
        period: "daily" or "hourly" (how the destination names it).
        remaining: requests left in the current window.
        limit: requests per window.
        window_seconds: the window's length.
        tiers: requests per window of each plan tier, when the destination lists them.
    """

    period: str
    remaining: int
    limit: int
    window_seconds: float
    tiers: Mapping[str, int] = field(default_factory=dict)

    def windows(self, requests: int) -> int:
        """Windows the requests span from now: the rest of this one, then whole ones."""
        if requests <= self.remaining or self.limit <= 0:
            return 1
        return 1 + math.ceil((requests - self.remaining) / self.limit)

    def per_day(self) -> int:
        """Requests the budget allows in 24 hours."""
        return int(self.limit * 86400 / self.window_seconds)

    def by_tier(self, requests: int, work_seconds: float) -> dict[str, dict[str, Any]]:
        """Per plan tier (from a fresh window): requests per window, windows spanned and hours, the
        hours being the whole windows waited plus the work itself."""
        out = {}
        for tier, limit in self.tiers.items():
            windows = max(math.ceil(requests / limit), 1) if limit > 0 else 0
            hours = ((windows - 1) * self.window_seconds + work_seconds) / 3600 if windows else None
            out[tier] = {
                "limit": limit,
                "requests": requests,
                "windows": windows,
                "hours": None if hours is None else round(hours, 2),
            }
        return out


def request_budget(facts: Mapping[str, Any]) -> RequestBudget | None:
    """The budget the destination's facts report (see module docstring), or None without one."""
    for period, default_window in PERIODS.items():
        remaining = facts.get(f"{period}_requests_remaining")
        if remaining is None:
            continue
        limit = facts.get(f"{period}_limit")
        tiers = facts.get(f"{period}_limit_by_plan") or {}
        return RequestBudget(
            period,
            int(remaining),
            int(remaining if limit is None else limit),
            float(facts.get(f"{period}_window_seconds") or default_window),
            {str(k): int(v) for k, v in dict(tiers).items()},
        )
    return None
