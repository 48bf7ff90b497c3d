"""Authentication and rate limiting in front of every Case Status emulator endpoint.

Real: `Authorization: ApiKey <key>` (the Airbyte connector). Invented: the 401 and 429 bodies
(`{"detail": "..."}`), and the limit of 5 requests per second with bursts of 10 per API key, read at
request time from the options `rate_per_second` and `burst` so another process can change them.

The limit is counted per API key (by digest) in the state file with `SharedWindow`, so every
process, step and app instance over one sandbox spends the same allowance, as a real service counts
per key. The token bucket of `rate_per_second` refills and `burst` capacity is emulated by a sliding
window of `burst` requests per `burst / rate_per_second` seconds (5/s with bursts of 10: 10 requests
per 2 s): the same sustained rate and the same largest burst after a quiet period, where a bucket
lets single requests through as it refills and the window frees one when the oldest leaves it.
Windows shorter than one second are not emulated: when `burst` is less than one second's worth of
requests the window is `rate_per_second` requests per second (a service that counts per second
does not refuse a request for arriving a few milliseconds early). A refused request is not counted;
its `Retry-After` is the whole seconds until the oldest counted request leaves the window, at least 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox import sandbox
from migration_assets.sandbox._common import SharedWindow, SqliteState

SCHEME = "ApiKey "
WINDOW_NAME = "requests"


def api_key(request: Request) -> str | None:
    """The key of a well-formed `Authorization: ApiKey <key>` header that matches the sandbox key."""
    header = request.headers.get("authorization", "")
    if not header.startswith(SCHEME):
        return None
    given = header[len(SCHEME) :].strip()
    expected = sandbox("case_status").credentials["api_key"]
    return given if hmac.compare_digest(given.encode(), expected.encode()) else None


def key_identity(key: str) -> str:
    """The identity a key is counted under (a digest: the state file never holds the key)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def window_of(state: SqliteState) -> tuple[int, float]:
    """(requests, seconds) of the sliding window that emulates the options' token bucket."""
    names = ("rate_per_second", "burst")
    with state.read() as conn:
        rows = conn.execute("select name, value from sandbox_options where name in (?, ?)", names).fetchall()
    values = {**state.defaults, **{row["name"]: json.loads(row["value"]) for row in rows}}
    rate, burst = float(values["rate_per_second"]), int(values["burst"])
    seconds = max(1.0, burst / rate)
    return max(1, round(rate * seconds)), seconds


def check(request: Request, state: SqliteState, window: SharedWindow) -> Response | None:
    """The 401 or 429 response that refuses `request`, or None when it may proceed (and is counted)."""
    key = api_key(request)
    if key is None:
        return JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)
    limit, seconds = window_of(state)
    allowed, wait = window.hit(key_identity(key), limit, seconds)
    if not allowed:
        return JSONResponse(
            {"detail": "Rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return None
