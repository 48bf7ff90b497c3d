"""Pieces every emulator shares: SQLite state, persisted options, and a sliding-window limiter.

State lives in one SQLite file per system so that separate processes (Dagster run workers, the
CLI, `migrate sandbox serve`) see the same records. Options such as rate limits or a license tier
are stored in the same file (table `sandbox_options`), so `migrate sandbox reset --option k=v`
configures every process at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SqliteState:
    """A SQLite file shared by all processes that emulate one system.

    Args:
        path: the database file; created with its parent folder on first use.
        schema: SQL run once (CREATE TABLE IF NOT EXISTS ...).
        defaults: option values used when `sandbox_options` has none.
    """

    def __init__(self, path: Path, schema: str, defaults: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.defaults = dict(defaults or {})
        # executescript commits on its own, so the schema runs outside connect()'s transaction.
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("pragma journal_mode=wal")
            conn.executescript(
                schema.rstrip().rstrip(";")
                + ";\ncreate table if not exists sandbox_options (name text primary key, value text);"
            )
        finally:
            conn.close()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")
            conn.execute("begin immediate")
            yield conn
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
        finally:
            conn.close()

    def option(self, name: str) -> Any:
        with self.connect() as conn:
            row = conn.execute("select value from sandbox_options where name = ?", (name,)).fetchone()
        return json.loads(row["value"]) if row else self.defaults.get(name)

    def set_options(self, values: Mapping[str, Any]) -> None:
        with self.connect() as conn:
            conn.executemany(
                "insert into sandbox_options values (?, ?) on conflict(name) do update set value = excluded.value",
                [(k, json.dumps(v)) for k, v in values.items()],
            )


class SlidingWindow:
    """Counts events per key in a sliding window; `hit` says whether one more is allowed and, if
    not, after how many seconds it would be."""

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit, self.window = limit, window_seconds
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> tuple[bool, float]:
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False, max(events[0] + self.window - now, 0.001)
            events.append(now)
            return True, 0.0
