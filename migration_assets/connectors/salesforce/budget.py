"""The daily API budget of a Salesforce org, as the client sees it.

Salesforce counts every REST call against a rolling 24-hour allowance and reports it on every answer
in `Sforce-Limit-Info: api-usage=<used>/<max>` (newer orgs append `; api-bursts=...` segments), and
in `GET /limits` as `DailyApiRequests: {"Max", "Remaining"}`. The tracker keeps the latest figures so
the connector can refuse a batch of calls that would not fit before sending any of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from migration_assets.connectors.salesforce.settings import SYSTEM
from migration_assets.errors import BudgetExhausted

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """Read `(used, max)` from a Sforce-Limit-Info header.

    Args:
        header: the header value, e.g. "api-usage=25/15000; api-bursts=1/750", or None.

    Returns:
        The pair, or None when the header is absent or has no api-usage segment.
    """
    if not header:
        return None
    for segment in header.split(";"):
        match = _USAGE.search(segment.strip())
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


@dataclass
class ApiBudget:
    """Latest known daily API usage plus the number of calls the caller keeps free.

    Attributes:
        reserve: calls never spent by the connector (left for other integrations).
        used: calls used in the current 24-hour window, None until first observed.
        max: the org's daily allowance, None until first observed.
        resets_at: when usage is expected to fall again, if the server says so.
    """

    reserve: int = 0
    used: int | None = None
    max: int | None = None
    resets_at: str | None = None

    @property
    def known(self) -> bool:
        return self.used is not None and self.max is not None

    def observe_header(self, value: str | None, resets_at: str | None = None) -> None:
        """Record the figures of one response's Sforce-Limit-Info header (if any)."""
        parsed = parse_limit_info(value)
        if parsed:
            self.used, self.max = parsed
        if resets_at:
            self.resets_at = resets_at

    def observe_limits(self, body: Mapping[str, Any]) -> None:
        """Record the figures of a `GET /limits` body."""
        daily = body.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.max = int(daily["Max"])
            self.used = self.max - int(daily["Remaining"])

    def fits(self, needed: int) -> bool:
        """Whether `needed` more calls stay within the allowance minus the reserve."""
        if self.used is None or self.max is None:
            return True  # unknown until the first answer: the server still enforces the limit
        return self.used + needed + self.reserve <= self.max

    def resume_hint(self) -> str:
        """When a stopped run may resume: the server's hint, else 24 h from now (rolling window)."""
        if self.resets_at:
            return self.resets_at
        return (datetime.now(UTC) + timedelta(hours=24)).isoformat(timespec="seconds")

    def exhausted(self, needed: int, what: str) -> BudgetExhausted:
        """The error to raise when `needed` calls for `what` do not fit."""
        return BudgetExhausted(
            f"daily API budget too low for {what}: needs {needed} calls, used {self.used} of {self.max}"
            f" ({self.snapshot()['remaining']} left, {self.reserve} kept in reserve);"
            f" resume after {self.resume_hint()}",
            system=SYSTEM,
            resume_after=self.resume_hint(),
        )

    def snapshot(self) -> dict[str, int | None]:
        """`{"used", "max", "remaining"}` (None while unknown)."""
        remaining = None
        if self.used is not None and self.max is not None:
            remaining = max(self.max - self.used, 0)
        return {"used": self.used, "max": self.max, "remaining": remaining}
