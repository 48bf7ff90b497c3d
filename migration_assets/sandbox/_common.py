"""Pieces every emulator shares: SQLite state, persisted options, and a sliding-window limiter.

State lives in one SQLite file per system so that separate processes (Dagster run workers, the
CLI, `migrate sandbox serve`) see the same records. Options such as rate limits or a license tier
are stored in the same file (table `sandbox_options`), so `migrate sandbox reset --option k=v`
configures every process at once.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response

_WRITERS: dict[Path, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(path: Path) -> threading.RLock:
    """The lock this process's writers of one state file queue on before SQLite's write lock.

    SQLite lets a writer that finds the lock taken sleep and poll (1 ms, 2, 5, ... up to 100 ms),
    so requests of one emulator process queued behind a long write woke up to 100 ms late and the
    server idled meanwhile; on a Python lock the next writer starts as soon as the last commits.
    Writers in other processes still meet SQLite's own lock (reentrant: a write opened inside
    another on the same thread waits for SQLite as before)."""
    key = Path(path).resolve()
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.RLock())


@contextmanager
def _immediate(conn: sqlite3.Connection, writer: threading.RLock) -> Iterator[sqlite3.Connection]:
    """`conn` in a write transaction begun once `writer` (the process's lock of its file) is taken:
    committed on success, rolled back on error."""
    with writer:
        conn.execute("begin immediate")
        try:
            yield conn
        except BaseException:
            conn.execute("rollback")
            raise
        conn.execute("commit")


class ThreadConnections:
    """One reused SQLite connection per thread for one state file, in read or write transactions.

    Reusing a connection spares the open, the pragmas and the WAL checkpoint that closing the last
    connection of a file costs on every request; it is opened again when the file was replaced (a
    reset that deleted it). Writers of this process take turns on `writer_lock`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._writer = writer_lock(self.path)

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        inode = self.path.stat().st_ino
        conn = getattr(local, "conn", None)
        if conn is None or local.inode != inode:
            if conn is not None:
                conn.close()
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("pragma synchronous=normal")
            local.conn, local.inode, local.memo = conn, inode, {}
        return conn

    def memo(self) -> dict:
        """What this thread's connection keeps between requests (see `SqliteState.memo`); call it
        inside `read` or `write`, once the connection is open."""
        local = self._local
        if getattr(local, "conn", None) is None:
            raise RuntimeError("memo() is for a thread whose connection is open (inside read or write)")
        return local.memo

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on one WAL snapshot: it never waits for a writer."""
        conn = self._connection()
        conn.execute("begin")
        try:
            yield conn
        finally:
            conn.execute("rollback")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on error."""
        with _immediate(self._connection(), self._writer) as conn:
            yield conn

    def interleave(self, conn: sqlite3.Connection) -> None:
        """Inside `write`: commit what ran, let the writers waiting in this process go first, and
        begin again (a long write done in slices)."""
        conn.execute("commit")
        self._writer.release()
        try:
            time.sleep(0)  # a waiting writer takes the lock now rather than after this one's next slice
        finally:
            self._writer.acquire()
            conn.execute("begin immediate")


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
        self._threads = ThreadConnections(self.path)
        self._writer = writer_lock(self.path)

    def read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A read transaction on one WAL snapshot (see `ThreadConnections.read`)."""
        return self._threads.read()

    def write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction on this thread's reused connection (see `ThreadConnections.write`)."""
        return self._threads.write()

    def memo(self) -> dict:
        """A dict that lives as long as this thread's reused connection (a replaced file starts a
        new one): for what an emulator derives from the data and keeps while the data is unchanged."""
        return self._threads.memo()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")
            with _immediate(conn, self._writer):
                yield conn
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


def ok(body: Any, status: int = 200) -> JSONResponse:
    """A JSON response (200 unless told)."""
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    """The 204 of a successful PATCH or DELETE."""
    return Response(status_code=204)


def state_opener(schema: str, defaults: Mapping[str, Any] | None = None) -> Callable[[Path], SqliteState]:
    """An emulator's `open_state(path)`: its SQLite file, created with `schema` and the
    `sandbox_options` table on first use, with `defaults` for options never set."""

    def open_state(path: Path) -> SqliteState:
        return SqliteState(Path(path), schema, defaults)

    return open_state


def bump_counter(
    conn: sqlite3.Connection, name: str, *, by: int = 1, start: int | None = None, table: str = "counters"
) -> int:
    """Add `by` to the named counter of `table` (name, value), created at `start` (default `by`),
    and return its new value: ids and sequence numbers without scanning the records."""
    row = conn.execute(
        f"insert into {table}(name, value) values (?, ?) "
        "on conflict(name) do update set value = value + ? returning value",
        (name, by if start is None else start, by),
    ).fetchone()
    return int(row[0])


@contextmanager
def savepoint(conn: sqlite3.Connection, name: str = "sp") -> Iterator[None]:
    """Run a block in a savepoint: rolled back (and the error re-raised) when it raises."""
    conn.execute(f"savepoint {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"rollback to {name}")
        conn.execute(f"release {name}")
        raise
    conn.execute(f"release {name}")


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


class SharedWindow:
    """A sliding-window request counter per identity kept in the emulator's SQLite file, so every
    process and every step that talks to one sandbox counts against the same limit, as the real
    services count per user (an API key, an application user, an account) rather than per
    connection.

    Args:
        state: the emulator's state file.
        name: which limit this is (a system may have several, e.g. per minute and per hour).
    """

    DDL = (
        "create table if not exists sandbox_rate_events (name text, identity text, at real);"
        "create index if not exists sandbox_rate_events_idx on sandbox_rate_events (name, identity, at);"
    )

    def __init__(self, state: SqliteState, name: str) -> None:
        self.state, self.name = state, name
        with state.connect() as conn:
            for statement in self.DDL.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def hit(self, identity: str, limit: int, window_seconds: float, now: float | None = None) -> tuple[bool, float]:
        """Count one request of `identity` if the window has room.

        Returns:
            (allowed, seconds until a request would be allowed again; 0 when allowed).
        """
        now = time.time() if now is None else now
        with self.state.write() as conn:
            conn.execute(
                "delete from sandbox_rate_events where name = ? and identity = ? and at <= ?",
                (self.name, identity, now - window_seconds),
            )
            count, oldest = conn.execute(
                "select count(*), min(at) from sandbox_rate_events where name = ? and identity = ?",
                (self.name, identity),
            ).fetchone()
            if count >= limit:
                return False, max(oldest + window_seconds - now, 0.001)
            conn.execute("insert into sandbox_rate_events values (?, ?, ?)", (self.name, identity, now))
            return True, 0.0

    def used(self, identity: str, window_seconds: float, now: float | None = None) -> int:
        """Requests of `identity` counted in the window ending now."""
        now = time.time() if now is None else now
        with self.state.read() as conn:
            row = conn.execute(
                "select count(*) from sandbox_rate_events where name = ? and identity = ? and at > ?",
                (self.name, identity, now - window_seconds),
            ).fetchone()
        return int(row[0])


FAULT_KINDS = ("429", "500", "502", "503", "504", "timeout", "lost")


def parse_faults(text: str | None) -> dict[str, float]:
    """'429:0.1,503:0.05,timeout:0.02,lost:0.05' -> {"429": 0.1, ...}; probabilities per request.

    Raises:
        ValueError: an unknown fault kind, a probability outside [0, 1], or a total above 1.
    """
    out: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        kind, _, raw = item.strip().partition(":")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
        probability = float(raw)
        if not 0 <= probability <= 1:
            raise ValueError(f"fault {kind}: probability {raw} is not between 0 and 1")
        out[kind] = probability
    if sum(out.values()) > 1:
        raise ValueError(f"fault probabilities add up to more than 1: {text}")
    return out


class FaultInjection:
    """ASGI middleware that makes an emulator misbehave like a real service on a bad day.

    The option `faults` of the emulator's state (e.g. `dynamics365.faults=429:0.1,503:0.05,
    timeout:0.02,lost:0.05` through `migrate sandbox reset --option`) gives per-request
    probabilities; `faults_seed` fixes the random sequence (same seed and request order, same
    faults) and `faults_retry_after` the Retry-After seconds of an injected 429/503 (default 1).
    - `429`, `500`, `502`, `503`, `504`: answered at once with the system's own error body
      (`render(status)`), the request is not applied;
    - `timeout`: the request is not applied and the client sees a read timeout;
    - `lost`: the request IS applied, then the response is dropped (the client sees the
      connection close): the case that tests idempotency.
    Counted in the option-less table `sandbox_faults` so tests can read how many were injected.

    Args:
        app: the emulator's ASGI app.
        state: its SqliteState (options are read at most once a second).
        render: status -> (JSON-able body, extra headers) in the system's error shape.
    """

    def __init__(self, app: Any, state: SqliteState, render: Any) -> None:
        import random

        self.app, self.state, self.render = app, state, render
        self._config: tuple[float, dict[str, float], float, int | None] = (0.0, {}, 1.0, None)
        self._random = random.Random()
        self._lock = threading.Lock()
        with state.connect() as conn:
            conn.execute("create table if not exists sandbox_faults (kind text primary key, count integer)")

    def _settings(self) -> tuple[dict[str, float], float]:
        read_at, faults, retry_after, seed = self._config
        if time.monotonic() - read_at > 1.0:
            faults = parse_faults(self.state.option("faults"))
            configured = self.state.option("faults_retry_after")
            retry_after = 1.0 if configured is None else float(configured)
            new_seed = self.state.option("faults_seed")
            if new_seed is not None and new_seed != seed:
                self._random.seed(new_seed)
            self._config = (time.monotonic(), faults, retry_after, new_seed)
        return faults, retry_after

    def _draw(self) -> str | None:
        faults, _ = self._settings()
        if not faults:
            return None
        with self._lock:
            roll = self._random.random()
        for kind, probability in faults.items():
            if roll < probability:
                return kind
            roll -= probability
        return None

    def _count(self, kind: str) -> None:
        with self.state.connect() as conn:
            conn.execute(
                "insert into sandbox_faults values (?, 1) on conflict(kind) do update set count = count + 1", (kind,)
            )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self._draw()
        if kind is None:
            await self.app(scope, receive, send)
            return
        import httpx

        self._count(kind)
        if kind == "timeout":
            raise httpx.ReadTimeout("sandbox fault: the server did not answer in time")
        if kind == "lost":
            await self.app(scope, receive, _discard)
            raise httpx.RemoteProtocolError("sandbox fault: the connection closed before the response")
        status = int(kind)
        body, headers = self.render(status)
        if status in (429, 503):
            headers = {"Retry-After": str(int(self._settings()[1])), **headers}
        payload = json.dumps(body).encode()
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


async def _discard(message: Any) -> None:
    """An ASGI `send` that drops everything (the response of a `lost` request)."""


def injected_faults(state: SqliteState) -> dict[str, int]:
    """How many faults of each kind the emulator has injected since its state was created."""
    with state.connect() as conn:
        conn.execute("create table if not exists sandbox_faults (kind text primary key, count integer)")
        return {r["kind"]: int(r["count"]) for r in conn.execute("select kind, count from sandbox_faults")}
