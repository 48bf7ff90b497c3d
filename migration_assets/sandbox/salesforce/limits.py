"""Daily API request budget: counting, the `Sforce-Limit-Info` header and `GET /limits`.

Real: `Sforce-Limit-Info: api-usage=<used>/<max>` on every response; 403
`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]` past the limit;
`/limits` as a PascalCase map of `{Max, Remaining}`.
Invented: every request under /services/data counts 1 except `GET /limits` and the versions list (a
choice: a monitor must be able to read the budget without spending it); usage starts at the option
`api_usage_start`; the "day" only ends through `seed.reset_usage()` (real orgs roll over 24 h), and
`/limits` answers with `X-Sandbox-Usage-Resets-At` = last reset + 24 h.

Invented, off by default: a short-term request limit per org (options `rate_limit` requests per
`rate_window_seconds`, default 1 s), counted with `SharedWindow` in the state file so every process
and app instance spends the same allowance, for exercising a client's rate control. Every data call
counts, `/limits` included; past it: 429 with an integer `Retry-After` (at least 1) and
`[{"message","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`, the code Salesforce uses for its other request
limits (whether Salesforce ever answers 429 is unconfirmed). A refused call is not counted.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from migration_assets.sandbox._common import SharedWindow
from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.store import option

WINDOW_NAME = "requests"
ORG_IDENTITY = "org"  # limits are per org (one org per sandbox file)


def _counter(conn: sqlite3.Connection) -> int:
    row = conn.execute("select value from usage where name = 'api'").fetchone()
    return int(row["value"]) if row else 0


def usage(conn: sqlite3.Connection) -> tuple[int, int]:
    """(used, max) of the daily API budget."""
    return int(option(conn, "api_usage_start") or 0) + _counter(conn), int(option(conn, "daily_api_limit"))


def consume(conn: sqlite3.Connection) -> tuple[int, int]:
    """Count one request.

    Returns:
        (used, max) after counting.

    Raises:
        SfError: 403 REQUEST_LIMIT_EXCEEDED when the budget is already spent (nothing counted).
    """
    used, limit = usage(conn)
    if used >= limit:
        raise SfError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403)
    conn.execute("insert into usage(name, value) values ('api', 1) on conflict(name) do update set value = value + 1")
    conn.execute("insert or ignore into usage(name, value) values ('window_start', ?)", (int(time.time()),))
    return used + 1, limit


def header(used: int, limit: int) -> str:
    """The `Sforce-Limit-Info` value: `api-usage=<used>/<max>`."""
    return f"api-usage={used}/{limit}"


def resets_at(conn: sqlite3.Connection) -> str:
    """ISO time at which the sandbox "day" would end: last reset (or first counted call) + 24 h."""
    row = conn.execute("select value from usage where name = 'window_start'").fetchone()
    start = float(row["value"]) if row else time.time()
    return (datetime.fromtimestamp(start, UTC) + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")


def limits_body(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """The `/limits` map (a realistic subset; only DailyApiRequests moves)."""
    used, limit = usage(conn)
    jobs = conn.execute("select count(*) from bulk_jobs").fetchone()[0]
    return {
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": max(15000 - jobs, 0)},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 10240, "Remaining": 10240},
    }


def reset(conn: sqlite3.Connection) -> None:
    """Start a new sandbox "day": usage back to zero."""
    conn.execute("delete from usage")
    conn.execute("insert into usage(name, value) values ('window_start', ?)", (int(time.time()),))


def short_window(conn: sqlite3.Connection) -> tuple[int, float] | None:
    """(requests, seconds) of the short-term limit, or None when the option `rate_limit` is unset."""
    limit = option(conn, "rate_limit")
    return None if limit is None else (int(limit), float(option(conn, "rate_window_seconds") or 1.0))


def admit(window: SharedWindow, limit: int, seconds: float) -> None:
    """Count one call against the short-term limit of the org.

    Raises:
        SfError: 429 REQUEST_LIMIT_EXCEEDED with `retry_after` when the window is full (not counted).
    """
    allowed, wait = window.hit(ORG_IDENTITY, limit, seconds)
    if not allowed:
        retry = max(1, math.ceil(wait))
        raise SfError(
            "REQUEST_LIMIT_EXCEEDED",
            f"Request rate limit of {limit} per {seconds:g} s exceeded; retry after {retry} s.",
            status=429,
            retry_after=retry,
        )
