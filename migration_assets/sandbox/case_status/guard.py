"""Authentication and rate limiting in front of every Case Status emulator endpoint.

Real: `Authorization: ApiKey <key>` (the Airbyte connector). Invented: the 401 and 429 bodies
(`{"detail": "..."}`), and the limit of 5 requests per second with bursts of 10 per API key, read at
request time from the options `rate_per_second` and `burst` so another process can change them.
"""

from __future__ import annotations

import hmac
import math
import threading
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox import sandbox
from migration_assets.sandbox._common import SqliteState

SCHEME = "ApiKey "


class KeyedBucket:
    """Token buckets per API key (the only in-memory state: counters, never records)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int, now: float | None = None) -> float:
        """Take one token for `key`; return 0 when allowed, else the seconds until one is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - updated) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate


def api_key(request: Request) -> str | None:
    """The key of a well-formed `Authorization: ApiKey <key>` header that matches the sandbox key."""
    header = request.headers.get("authorization", "")
    if not header.startswith(SCHEME):
        return None
    given = header[len(SCHEME) :].strip()
    expected = sandbox("case_status").credentials["api_key"]
    return given if hmac.compare_digest(given.encode(), expected.encode()) else None


def check(request: Request, state: SqliteState, bucket: KeyedBucket) -> Response | None:
    """The 401 or 429 response that refuses `request`, or None when it may proceed."""
    key = api_key(request)
    if key is None:
        return JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)
    wait = bucket.take(key, float(state.option("rate_per_second")), int(state.option("burst")))
    if wait > 0:
        return JSONResponse(
            {"detail": "Rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return None
