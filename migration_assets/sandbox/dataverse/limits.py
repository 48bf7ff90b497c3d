"""Service protection limits per application user (reference section 6, checklist 16).

Real: a sliding window of `requests_per_window` requests and `execution_ms_per_window` ms of
execution time over `window_seconds`, and `max_concurrency` concurrent requests, each answered
with 429 + `Retry-After` (whole seconds) and the real code/message; `x-ms-dop-hint` and
`x-ms-ratelimit-burst-remaining-xrm-requests` response headers; a `$batch` counts once; the
limits count per user (the application user behind the client id), across connections.
How: requests through the shared `SharedWindow` and execution time in `sandbox_execution`, both
in the emulator's SQLite file, so every process and every step that talks to this sandbox counts
against the same window (Web API, token-less upload URLs and document-store calls alike);
concurrency is counted per app instance, as the real service counts it per web server.
Ours: execution time and entitlement operations are written at most every `FLUSH_SECONDS` (one
write instead of one per request, so counting does not queue behind a long `$batch`); another
process sees them that much later.
"""

from __future__ import annotations

import math
import threading
import time

from migration_assets.sandbox._common import SharedWindow, SqliteState, ThreadConnections
from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import ODataError
from migration_assets.sandbox.dataverse.store import Options

DOP_HINT = 4
WINDOW_NAME = "dataverse_requests"
KEEP_SECONDS = 24 * 3600  # execution rows older than any window are pruned
FLUSH_SECONDS = 0.25


class ServiceProtection:
    """Admission control: call `admit` before and `release` after each request.

    Args:
        state: the emulator's state file (shared counters).
        connections: the app's connections to it (a new set when None).
    """

    def __init__(self, state: SqliteState, connections: ThreadConnections | None = None) -> None:
        self.state = state
        self.connections = connections or ThreadConnections(state.path)
        self.window = SharedWindow(state, WINDOW_NAME)
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}
        self._pending: list[tuple[str, float, float]] = []  # (client, at, ms) not yet written
        self._operations = 0
        self._flushed = 0.0

    def admit(self, client: str, options: Options, now: float | None = None) -> int:
        """Count one request of `client` in; returns the remaining burst of requests.

        Raises:
            ODataError: 429 with Retry-After when a limit is exceeded (the request is not counted).
        """
        now = time.time() if now is None else now
        window = float(options.get("window_seconds"))
        limit = int(options.get("requests_per_window"))
        concurrency = int(options.get("max_concurrency"))
        with self._lock:
            if self._active.get(client, 0) >= concurrency:
                raise throttled("0x80072326", f"Number of concurrent requests exceeded the limit of {concurrency}.", 1)
            self._active[client] = self._active.get(client, 0) + 1
        try:
            used_ms, oldest = self._execution(client, now - window)
            budget = float(options.get("execution_ms_per_window"))
            if used_ms >= budget:
                raise throttled(
                    "0x80072321",
                    f"Combined execution time of incoming requests exceeded limit of {int(budget):,} milliseconds "
                    f"over time window of {int(window)} seconds. Decrease number of concurrent requests or reduce "
                    f"the duration of requests and try again later.",
                    oldest + window - now,
                )
            allowed, retry_after = self.window.hit(client, limit, window, now)
            if not allowed:
                raise throttled(
                    "0x80072322",
                    f"Number of requests exceeded the limit of {limit} over time window of {int(window)} seconds.",
                    retry_after,
                )
        except BaseException:
            self._leave(client)
            raise
        return max(limit - self.window_used(client, window, now), 0)

    def release(self, client: str, elapsed_ms: float, now: float | None = None, operations: int = 1) -> None:
        """Count the request's execution time and its operations toward the 24 h entitlement, and
        leave the concurrency slot (`operations` 0 for a `$batch`, whose parts count themselves)."""
        now = time.time() if now is None else now
        with self._lock:
            self._active[client] = max(self._active.get(client, 1) - 1, 0)
            self._pending.append((client, now, elapsed_ms))
            self._operations += operations
            if now - self._flushed < FLUSH_SECONDS:
                return
        self.flush(now)

    def flush(self, now: float | None = None) -> None:
        """Write the pending execution times and entitlement operations."""
        now = time.time() if now is None else now
        with self._lock:
            pending, operations, self._pending, self._operations = self._pending, self._operations, [], 0
            self._flushed = now
        if not pending and not operations:
            return
        with self.connections.write() as conn:
            conn.executemany("insert into sandbox_execution values (?, ?, ?)", pending)
            for client in {c for c, _, _ in pending}:
                conn.execute(
                    "delete from sandbox_execution where identity = ? and at < ?", (client, now - KEEP_SECONDS)
                )
            if operations:
                store.count_entitlement(conn, operations)

    def window_used(self, client: str, window: float, now: float) -> int:
        with self.connections.read() as conn:
            row = conn.execute(
                "select count(*) as n from sandbox_rate_events where name = ? and identity = ? and at > ?",
                (WINDOW_NAME, client, now - window),
            ).fetchone()
        return int(row["n"])

    def _execution(self, client: str, since: float) -> tuple[float, float]:
        """Execution ms of `client` since `since` (written and pending), and when the oldest ran."""
        with self.connections.read() as conn:
            row = conn.execute(
                "select coalesce(sum(ms), 0) as ms, min(at) as oldest from sandbox_execution "
                "where identity = ? and at > ?",
                (client, since),
            ).fetchone()
        with self._lock:
            mine = [(at, ms) for c, at, ms in self._pending if c == client and at > since]
        oldest = min([float(row["oldest"] or time.time()), *(at for at, _ in mine)])
        return float(row["ms"]) + sum(ms for _, ms in mine), oldest

    def _leave(self, client: str) -> None:
        with self._lock:
            self._active[client] = max(self._active.get(client, 1) - 1, 0)


def throttled(code: str, message: str, retry_after: float) -> ODataError:
    seconds = max(1, math.ceil(retry_after))
    return ODataError(429, code, message, {"Retry-After": str(seconds)})
