"""Service protection limits per application user (reference section 6, checklist 16).

Real: sliding window of `requests_per_window` requests and `execution_ms_per_window` ms of
execution time over `window_seconds`, and `max_concurrency` concurrent requests, each answered
with 429 + `Retry-After` (whole seconds) and the real code/message; `x-ms-dop-hint` and
`x-ms-ratelimit-burst-remaining-xrm-requests` response headers; a `$batch` counts once.
Counters are in memory per app instance (per "web server", as in the real service).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from migration_assets.sandbox.dataverse.core import ODataError
from migration_assets.sandbox.dataverse.store import Options

DOP_HINT = 4


class ServiceProtection:
    """Admission control: call `admit` before and `release` after each data request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, deque[float]] = {}
        self._execution: dict[str, deque[tuple[float, float]]] = {}
        self._active: dict[str, int] = {}

    def admit(self, client: str, options: Options, now: float | None = None) -> int:
        """Count one request in; returns the remaining burst of requests.

        Raises:
            ODataError: 429 with Retry-After when a limit is exceeded (the request is not counted).
        """
        now = time.monotonic() if now is None else now
        window = float(options.get("window_seconds"))
        with self._lock:
            requests = self._prune(self._requests.setdefault(client, deque()), now - window)
            execution = self._execution.setdefault(client, deque())
            while execution and execution[0][0] <= now - window:
                execution.popleft()
            concurrency = int(options.get("max_concurrency"))
            if self._active.get(client, 0) >= concurrency:
                raise throttled("0x80072326", f"Number of concurrent requests exceeded the limit of {concurrency}.", 1)
            limit = int(options.get("requests_per_window"))
            if len(requests) >= limit:
                raise throttled(
                    "0x80072322",
                    f"Number of requests exceeded the limit of {limit} over time window of {int(window)} seconds.",
                    requests[0] + window - now,
                )
            budget = float(options.get("execution_ms_per_window"))
            if sum(ms for _, ms in execution) >= budget:
                raise throttled(
                    "0x80072321",
                    f"Combined execution time of incoming requests exceeded limit of {int(budget):,} milliseconds "
                    f"over time window of {int(window)} seconds. Decrease number of concurrent requests or reduce "
                    f"the duration of requests and try again later.",
                    execution[0][0] + window - now,
                )
            requests.append(now)
            self._active[client] = self._active.get(client, 0) + 1
            return max(limit - len(requests), 0)

    def release(self, client: str, elapsed_ms: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._active[client] = max(self._active.get(client, 1) - 1, 0)
            self._execution.setdefault(client, deque()).append((now, elapsed_ms))

    @staticmethod
    def _prune(events: deque[float], cutoff: float) -> deque[float]:
        while events and events[0] <= cutoff:
            events.popleft()
        return events


def throttled(code: str, message: str, retry_after: float) -> ODataError:
    seconds = max(1, math.ceil(retry_after))
    return ODataError(429, code, message, {"Retry-After": str(seconds)})
