"""Load one destination object's staged rows for one phase: idempotent, resumable, audited.

The staged rows stream through in windows (the first one batch for each request the destination
takes in flight, so that they go out once those rows are built and written as pending; then
doubling, never fewer rows than a batch per slot, up to `WINDOW_ROWS`), never as one whole-table
list. The destination says once which of the rows' records exist already
(`DestinationConnector.existing`, e.g. one paged listing of the key column); the first window does
not wait for a listing still being answered (its rows go with their existence unknown: their
before-images are read by key and the connector checks what it must). Before-images are read in bulk
per window, and only for records that can exist: a record that did not exist has no before-image to
read, so a window's creates go as soon as they are written as pending and its updates once their
before-images are in. Up to LOOKAHEAD windows are made ready while an earlier one's batches are
sent, and reads wait for a slot of the destination identity ahead of queued writes
(connectors.http.READS), so the destination is not left waiting for the next batch. Each row carries
what is known of its existence to the connector, which then needs no existence read of its own.

For each batch: resolve lookups through the ledger's crosswalk, write `pending` ledger rows with
the before-images, upsert by external id, then write the outcomes. Rows already confirmed in this
phase with the same content hash are skipped, so a run killed at any point and started again redoes
nothing and duplicates nothing. Rejected rows and rows whose lookup target is not in the destination
are quarantined with the reason.

Batches in flight follow the destination identity's admission control (`BatchTuner`): as many as
its limiter admits (AIMD, the server's concurrency hint), at least the spec's `concurrency`; the
batch size grows from the spec's `batch_size` towards the connector's `max_batch_rows` while the
server answers a batch well within `TARGET_BATCH_SECONDS`, and shrinks when an answer is slow.
A record created by someone else between the existence read and the write is updated and, as it
had no before-image, would be deleted by a rollback: the window for that is the load's duration
instead of one batch's (rollback's report lists every record it deletes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector, LookupRef, UpsertRow, WriteResult
from migration_assets.engine import lookup_targets
from migration_assets.engine.transform import EXT, HASH, SRC, field_columns
from migration_assets.errors import BudgetExhausted
from migration_assets.heap import heap_frozen
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap
from migration_assets.staging import db, ledger, quarantine
from migration_assets.staging.files import cursor_of
from migration_assets.staging.tables import stage_table


@dataclass
class LoadSummary:
    object: str
    staged: int = 0
    skipped: int = 0  # already confirmed in the ledger with the same content
    created: int = 0
    updated: int = 0
    failed: int = 0  # rejected by the destination
    unresolved: int = 0  # lookup target not in the destination
    batches: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    requests: dict[str, float] = field(default_factory=dict)  # HTTP statistics of the destination
    estimate: dict[str, Any] = field(default_factory=dict)  # API calls this load needs vs the budget left
    stopped: BudgetExhausted | None = None  # the daily budget ran out: the rest waits for the next run

    @property
    def written(self) -> int:
        return self.created + self.updated


def json_value(value: Any) -> Any:
    """A staged Polars value as the JSON the connectors send (UTC timestamps with Z)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _needs_conversion(dtype: pl.DataType) -> bool:
    """Whether `json_value` can change a value of this column once `json_columns` converted it
    (a temporal type other than datetime and date, or any object)."""
    return dtype.is_temporal() or dtype == pl.Object


def json_columns(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`frame` with its datetime, date and float `columns` as `json_value` makes their values,
    converted column-wise (per value in Python, this was a third of building a load's rows)."""
    exprs = []
    schema = frame.schema
    for c in columns:
        dtype = schema[c]
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif dtype == pl.Date:
            exprs.append(pl.col(c).dt.strftime("%Y-%m-%d"))
        elif dtype.is_float():
            exprs.append(pl.when(pl.col(c).is_finite()).then(pl.col(c)))
    return frame.with_columns(exprs) if exprs else frame


@dataclass(frozen=True)
class Missing:
    """A row whose lookup target is not in the destination."""

    row: dict
    column: str
    target: str  # the target object
    target_ext: str
    hold: bool = True  # quarantine the row (on_missing: quarantine), else load it without the lookup


def _build_rows(
    loaded: LoadedSpec,
    obj_name: str,
    frame: pl.DataFrame,
    crosswalks: dict[str, dict[str, str]],
    user_table: str,
    existing: set[str] | None = None,
) -> tuple[list[tuple[dict, UpsertRow]], list[Missing]]:
    """UpsertRows for rows whose lookups resolve, each knowing whether its record exists (`existing`:
    the external ids that do; None: unknown); the rows whose lookup target is missing. `frame`'s
    field columns are as `json_columns` makes them."""
    obj = loaded.spec.objects[obj_name]
    fields = field_columns(obj, frame.columns)
    schema = frame.schema  # made anew on every access
    converted = [c for c in fields if _needs_conversion(schema[c])]  # others are JSON as they are
    lookups_of = [(c, lk) for c, lk in obj.lookups.items() if not lk.deferred]
    ready: list[tuple[dict, UpsertRow]] = []
    missing: list[Missing] = []
    for row in frame.iter_rows(named=True):
        lookups: dict[str, LookupRef] = {}
        problem: Missing | None = None
        notes: list[Missing] = []
        for column, lookup in lookups_of:
            found = lookup_targets.resolve(loaded, lookup, column, row, crosswalks)
            if not found.named:
                continue
            if found.destination_id is None:
                target, target_ext = found.named[0]
                problem = Missing(row, column, target, target_ext, hold=lookup.on_missing == "quarantine")
                if problem.hold:
                    break
                notes.append(problem)
                problem = None
            elif found.table is not None:
                lookups[column] = LookupRef(found.table, found.destination_id)
        missing += notes  # loaded without these lookups (on_missing: null): reported, not silent
        if problem:
            missing.append(problem)
            continue
        for column in obj.owners:  # already destination user ids (plan/owners, stage)
            if row.get(column) is not None:
                lookups[column] = LookupRef(user_table, str(row[column]))
        values = {c: row[c] for c in fields}
        for c in converted:
            values[c] = json_value(values[c])
        ext = str(row[EXT])
        exists = None if existing is None else ext in existing
        ready.append((row, UpsertRow(ext, values, lookups, exists)))
    return ready, missing


def quarantine_missing(conn, phase: str, obj_name: str, run_id: str, missing: list[Missing]) -> list[tuple[dict, str]]:
    """Hold back rows whose parent is not in the destination, each with the parent's root cause.

    Returns:
        (row, reason) of each.
    """
    by_target: dict[str, list[Missing]] = {}
    for m in missing:
        by_target.setdefault(m.target, []).append(m)
    held, found, loaded_without = [], [], []
    for target, items in by_target.items():
        known = quarantine.roots(conn, target, [m.target_ext for m in items])
        for m in items:
            reason, root = quarantine.missing_parent(obj_name, m.column, target, m.target_ext, known.get(m.target_ext))
            if m.hold:
                held.append((m.row, reason))
                found.append(root)
            else:
                loaded_without.append((m.row, m.column, f"loaded without it: {reason}"))
    quarantine_rows(conn, phase, obj_name, run_id, held, roots=found)
    quarantine.note_substitutions(conn, phase, obj_name, run_id, loaded_without)
    return held


def written_columns(obj: ObjectMap, staged_columns: list[str]) -> list[str]:
    """Every destination column a load writes (before-images and read-back cover exactly these)."""
    lookups = [c for c, lk in obj.lookups.items() if not lk.deferred]
    return [*field_columns(obj, staged_columns), *lookups, *obj.owners]


def pending_rows(conn: duckdb.DuckDBPyConnection, obj_name: str, phase: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(staged slice, rows still to write): rows confirmed in this phase with the same content hash
    are done. Clears the load step's quarantine of the phase, which this load writes anew."""
    staged = db.read_slice(conn, stage_table(obj_name), phase)
    db.replace_rows(
        conn, "quarantine", pl.DataFrame(), "_phase = ? and object = ? and step = 'load'", [phase, obj_name]
    )
    if staged.height == 0:
        return staged, staged
    done = ledger.confirmed(conn, obj_name, phase)
    if not done:
        return staged, staged
    confirmed = pl.DataFrame(
        {"_key": list(done), "_hash": list(done.values())}, schema={"_key": pl.String, "_hash": pl.String}
    )
    todo = staged.with_columns(_key=pl.col(EXT).cast(pl.String), _hash=pl.col(HASH).cast(pl.String)).join(
        confirmed, on=["_key", "_hash"], how="anti"
    )
    return staged, todo.drop("_key", "_hash")


def _on_cursor(conn: duckdb.DuckDBPyConnection, read: Callable[..., Any], *args: Any) -> Any:
    """`read(cursor, *args)` on a cursor of the calling thread's own, as DuckDB wants (for
    `asyncio.to_thread`)."""
    with cursor_of(conn) as cursor:
        return read(cursor, *args)


WINDOW_ROWS = 5000  # staged rows built, looked up and read back together, at most
TARGET_BATCH_SECONDS = 10.0  # a batch answered well within this may grow (Dataverse times out at 120 s)
FLUSH_SECONDS = 1.0  # outcomes are written to the ledger at least this often (and at the end)
# rows built between two turns of the event loop: a window of 5,000 built at once kept it from
# sending the next batch when one was answered for ~0.1 s, and the server ran out of work meanwhile
TURN_ROWS = 100
# windows made ready (rows built, before-images read and written as pending) while the batches of
# an earlier one are sent: one was not enough, each window's read queued behind the writes in flight
LOOKAHEAD = 2
FLUSH_ROWS = 2000  # or once this many are kept, so that the last write after the last batch is short


def windows(frame: pl.DataFrame, least: Callable[[], int]) -> Iterator[pl.DataFrame]:
    """`frame` in slices: the first of `least()` rows, then twice as many each time but never fewer
    than `least()` says when a slice is cut, up to WINDOW_ROWS. The first batches go out once their
    own rows are built; later windows are built while batches are in flight."""
    size, start = max(1, min(least(), WINDOW_ROWS)), 0
    while start < frame.height:
        yield frame.slice(start, size)
        start += size
        size = min(WINDOW_ROWS, max(size * 2, least()))


@dataclass
class BatchTuner:
    """Batch size and batches in flight, from the destination's answers.

    In flight: one more than the destination identity's limiter admits now (`slots`: AIMD on
    throttling, capped by a concurrency hint such as Dataverse's `x-ms-dop-hint`), so that it can
    probe upwards, and never fewer than `concurrency`. Size: starts at `size`; doubles (up to
    `max_rows`) while full batches are answered in under a quarter of TARGET_BATCH_SECONDS, halves
    when one takes longer than TARGET_BATCH_SECONDS (never under the starting size).
    A spec that sets `batch_size` or `concurrency` fixes it (`tuned` below says which are free).

    Args:
        size: the first batch size.
        max_rows: the largest batch the connector takes in one call.
        concurrency: batches in flight at least.
        slots: the limiter's admission now (None: exactly `concurrency`).
    """

    size: int
    max_rows: int
    concurrency: int
    slots: Callable[[], int] | None = None
    floor: int = 0

    def __post_init__(self) -> None:
        self.max_rows = max(self.size, self.max_rows)
        self.floor = self.size

    @classmethod
    def for_load(cls, options: Any, dest: DestinationConnector) -> BatchTuner:
        """The tuner of a spec's `options.load` against `dest` (fixed where the spec says)."""
        given = options.model_fields_set
        max_rows = options.batch_size if "batch_size" in given else (dest.max_batch_rows or options.batch_size)
        slots = None if "concurrency" in given or dest.write_slots() is None else dest.write_slots
        return cls(options.batch_size, max_rows, options.concurrency, slots)

    def in_flight(self) -> int:
        return max(self.concurrency, (self.slots() or 0) + 1) if self.slots else self.concurrency

    def answered(self, rows: int, seconds: float) -> None:
        """Account for one batch of `rows` answered in `seconds`."""
        if rows < self.size:
            return  # a short tail batch says nothing about the size
        if seconds > TARGET_BATCH_SECONDS:
            self.size = max(self.floor, self.size // 2)
        elif seconds < TARGET_BATCH_SECONDS / 4:
            self.size = min(self.max_rows, self.size * 2)


@heap_frozen
async def load_object(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    run_id: str,
    *,
    log: Callable[[str], None] = lambda _m: None,
) -> LoadSummary:
    """Load the staged `phase` slice of `obj_name` into the destination."""
    started = asyncio.get_running_loop().time()
    obj = loaded.spec.objects[obj_name]
    # sign-in, metadata and the lookups' crosswalks (DuckDB, on a thread) while the rows are read and
    # the first window is built
    prepared = asyncio.ensure_future(dest.prepare(obj.table))
    crosswalks = asyncio.ensure_future(asyncio.to_thread(_on_cursor, conn, lookup_targets.crosswalks, loaded, obj_name))
    existence: asyncio.Future[set[str] | None] | None = None
    try:
        staged, todo = await asyncio.to_thread(_on_cursor, conn, pending_rows, obj_name, phase)
        summary = LoadSummary(obj_name, staged=staged.height, skipped=staged.height - todo.height)
        if todo.height:
            # which records exist: asked now, beside the metadata (the connector waits for what it needs)
            ids = todo[EXT].cast(pl.String).to_list()
            existence = asyncio.ensure_future(dest.existing(obj.table, obj.external_id.column, ids))
            load = _Load(
                loaded,
                obj_name,
                phase,
                conn,
                dest,
                run_id,
                written_columns(obj, staged.columns),
                summary,
                crosswalks,
                prepared,
            )
            await _load_rows(load, todo, existence, log)
            await prepared  # its error, when no row was written as pending to raise it
    finally:
        _drop(prepared)
        if existence is not None:
            _drop(existence)
        await asyncio.wait({crosswalks})  # its cursor is closed before the caller may close the connection
        _drop(crosswalks)
    summary.seconds = asyncio.get_running_loop().time() - started
    return summary


async def _load_rows(
    load: _Load, todo: pl.DataFrame, existence: asyncio.Future[set[str] | None], log: Callable[[str], None]
) -> None:
    """Write the rows still to write (`todo`) in batches (`existence`: which of them have a record)."""
    obj, options = load.loaded.spec.objects[load.obj_name], load.loaded.spec.options.load
    dest, summary = load.dest, load.summary
    tuner = BatchTuner.for_load(options, dest)
    size = options.batch_size
    summary.estimate = await estimate_load(
        dest, obj.table, [min(size, todo.height - i) for i in range(0, todo.height, size)]
    )
    if summary.estimate:
        log(f"{load.obj_name}: estimate {summary.estimate}")
    try:
        await _run_batches(load, todo, existence, tuner, log)
    finally:
        load.close()


def _answered(existence: asyncio.Future[set[str] | None]) -> set[str] | None:
    """The existence listing's answer if it is in (None: not yet, failed, or nothing to tell)."""
    if not existence.done() or existence.cancelled() or existence.exception() is not None:
        return None
    return existence.result()


def _by_listing(rows: Batch, existing: set[str]) -> Batch:
    """`rows` with their existence as the existence listing says."""
    return [(row, replace(up, exists=up.external_id in existing)) for row, up in rows]


def _drop(future: asyncio.Future) -> None:
    """Cancel `future` if it still runs; an error it ended with is retrieved (raised through the
    load already, or moot)."""
    if future.done() and not future.cancelled():
        future.exception()
    future.cancel()


async def estimate_load(dest: DestinationConnector, table: str, batch_rows: list[int]) -> dict[str, Any]:
    """What the destination says this load will cost against its daily API budget (empty for
    systems without a daily budget)."""
    return dict(await dest.estimate_load(table, batch_rows)) if batch_rows else {}


Batch = list[tuple[dict, UpsertRow]]
_END: Any = object()


async def _run_batches(
    load: _Load,
    todo: pl.DataFrame,
    existence: asyncio.Future[set[str] | None],
    tuner: BatchTuner,
    log: Callable[[str], None],
) -> None:
    """Send batches while the next ones are built (a bounded queue between the two), as many in
    flight as the tuner says.

    Each batch in flight has a sender: when its answer is in, the sender sends the next queued
    batch itself, in the same turn of the event loop; a batch queued while a slot is free gets a
    sender as it is queued, before the next window's build is scheduled. A task per batch, started by a
    loop waiting for the answers and the queue, took two or three more turns from an answer to the
    next send, and each turn could hold a part of a window's build: the served sandbox sat idle
    40-60 ms per 4,500-row load."""
    summary, loop = load.summary, asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=8)
    senders: set[asyncio.Future] = set()
    ended = False

    async def produce() -> None:
        queued = 0
        try:
            async with contextlib.aclosing(load.batches(todo, existence, tuner)) as batches:
                async for item in batches:  # closed at once when cancelled: no window is read after
                    queued += 1
                    await queue.put(item)
                    dispatch()
        except BudgetExhausted as exc:  # the reads ran out of budget: what is built is sent, the rest waits
            if not queued and existence.done() and not existence.cancelled() and existence.exception() is exc:
                raise  # the existence read itself, before any batch: the load fails as it began
            summary.stopped = summary.stopped or exc
        finally:
            await queue.put(_END)

    async def one(batch: Batch) -> None:
        if summary.stopped:
            return  # out of daily budget: later batches wait for the next run
        sent = loop.time()
        try:
            await load.write(batch)
        except BudgetExhausted as exc:
            # batches in flight finish; the rows of this one stay pending and are redone next run
            summary.stopped = summary.stopped or exc
            return
        tuner.answered(len(batch), loop.time() - sent)
        summary.batches += 1
        if summary.batches % 10 == 0:
            log(f"{load.obj_name}: {summary.batches} batches, {summary.written} of {todo.height} rows written")

    def take() -> Batch | None:
        """The next batch built, if one is and the load goes on (the end of the batches is noted)."""
        nonlocal ended
        if ended or summary.stopped or queue.empty():
            return None
        item = queue.get_nowait()
        if item is _END:
            ended = load.draining = True
            return None
        return item

    def dispatch() -> None:
        """A sender for each batch queued, while there is room."""
        while len(senders) < tuner.in_flight() and (batch := take()) is not None:
            task = asyncio.ensure_future(sender(batch))
            senders.add(task)
            task.add_done_callback(sender_ended)

    async def sender(batch: Batch | None) -> None:
        while batch is not None:
            await one(batch)
            batch = take() if len(senders) <= tuner.in_flight() else None

    def sender_ended(task: asyncio.Future) -> None:
        senders.discard(task)
        ended_senders.append(task)
        changed.set()

    changed = asyncio.Event()  # a sender ended or the producer did: room, an error, or the end
    ended_senders: list[asyncio.Future] = []
    producer = asyncio.ensure_future(produce())
    producer.add_done_callback(lambda _task: changed.set())
    try:
        while not ended and not summary.stopped:
            await changed.wait()
            changed.clear()
            while ended_senders:
                ended_senders.pop().result()  # a sender's error ends the load
            if producer.done():
                producer.result()  # its error, if any (the existence read's budget, a build's failure)
            dispatch()
        load.draining = True
        await asyncio.gather(*senders)
        for task in ended_senders:
            task.result()  # one that ended with an error after the last batch was taken
        if summary.stopped and not producer.done():
            producer.cancel()  # its windows' rows stay pending: the next run writes them
            while not queue.empty():  # room for the end it puts as it stops
                queue.get_nowait()
        await asyncio.wait({producer})
        if not producer.cancelled():
            producer.result()
    finally:
        for task in (*senders, producer):
            task.cancel()
    log(f"{load.obj_name}: {summary.batches} batches, {summary.written} written")


class LedgerWriter:
    """A load's ledger and quarantine writes, each lane one write at a time in the order given: the
    ledger's (pending rows, which batches wait for, and outcomes) on the event loop's own thread,
    and one aside, on a thread, for rows held back for a missing parent, which no batch waits for,
    so that a slow one (it reads the parents' root causes) does not hold up the next window's
    pending rows. DuckDB appends from two cursors do not conflict. A write that fails is raised by
    the next `submit` or by `close`.

    The ledger's writes were on a thread too, so that the loop kept sending while one committed; but
    a thread waits for the GIL while the loop builds the next window: a matter load's second window
    of 870 pending rows took 51 ms to commit instead of 4, with its batches waiting, and the
    outcomes' writes, beside the loop, took CPU from the server a local sandbox runs on. On the loop
    a write holds it 2-5 ms (about 2 ms of them DuckDB's fixed cost). Served account loads against
    their replay, side by side (median of 12): 0.927 with both lanes on threads, 0.918 with only the
    pending rows on the loop, 0.984 with the ledger's lane on the loop.

    Args:
        conn: the staging connection (each lane writes through a cursor of it).
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.ledger, self.aside = _Lane(conn, "ledger", threaded=False), _Lane(conn, "aside")

    def submit(self, write: Callable[[duckdb.DuckDBPyConnection], Any], *, aside: bool = False) -> Future:
        """Queue `write(cursor)` on the ledger's lane (or the one `aside`); the returned future is done
        once it is committed (await it with `asyncio.wrap_future`)."""
        self._raise_failed()
        return (self.aside if aside else self.ledger).submit(write)

    def close(self, last: Callable[[duckdb.DuckDBPyConnection], Any]) -> None:
        """Wait for the queued writes, then run `last` here on the ledger's cursor (synchronous, so
        that it happens even when the load is being cancelled), and close the cursors."""
        for lane in (self.ledger, self.aside):
            lane.shutdown()
        try:
            last(self.ledger.cursor)
        finally:
            for lane in (self.ledger, self.aside):
                lane.cursor.close()
        self._raise_failed()

    def _raise_failed(self) -> None:
        for lane in (self.ledger, self.aside):
            lane.raise_failed()


class _Lane:
    """One cursor writing in the order given: on a thread of its own, or (not `threaded`) at once,
    on the caller's thread; either way `submit` returns a Future."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, name: str, *, threaded: bool = True) -> None:
        self.cursor = cursor_of(conn)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ledger-{name}") if threaded else None
        self.queued: list[Future] = []

    def submit(self, write: Callable[[duckdb.DuckDBPyConnection], Any]) -> Future:
        if self.pool is not None:
            future = self.pool.submit(write, self.cursor)
        else:
            future = Future()
            try:
                future.set_result(write(self.cursor))
            except Exception as exc:  # raised where the write is awaited, or by the next submit
                future.set_exception(exc)
        self.queued.append(future)
        return future

    def shutdown(self) -> None:
        """Wait for the queued writes."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def raise_failed(self) -> None:
        done = [f for f in self.queued if f.done()]
        self.queued = [f for f in self.queued if not f.done()]
        for future in done:
            if not future.cancelled() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]


@dataclass
class _Load:
    """One object's load: builds its batches window by window and writes them.

    Ledger writes are grouped (each DuckDB commit costs milliseconds) and go through a LedgerWriter:
    a window's `pending` rows are committed at once before any of its batches is sent, outcomes at
    least every FLUSH_SECONDS while the batches go on, and at the end. A kill before an outcome is
    written leaves its rows pending: the next run writes them again (an upsert by external id), and
    their earliest pending row keeps the true before-image.
    """

    loaded: LoadedSpec
    obj_name: str
    phase: str
    conn: duckdb.DuckDBPyConnection
    dest: DestinationConnector
    run_id: str
    columns: list[str]
    summary: LoadSummary
    crosswalks: asyncio.Future[dict[str, dict[str, str]]]  # of the lookups' targets, read on a thread
    # sign-in and metadata (`dest.prepare`): the first window is built while they are read, its
    # pending rows wait for them (the connector's reads wait for what they need themselves)
    prepared: asyncio.Future[None]
    outcomes: list[ledger.Entry] = field(default_factory=list)
    known_ids: dict[str, str] = field(default_factory=dict)  # destination ids of the before-images
    failures: list[tuple[dict, str]] = field(default_factory=list)
    flushed: float = 0.0
    draining: bool = False  # every batch is sent: outcomes are written as the answers come in
    writer: LedgerWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = LedgerWriter(self.conn)

    async def batches(
        self, todo: pl.DataFrame, existence: asyncio.Future[set[str] | None], tuner: BatchTuner
    ) -> AsyncIterator[Batch]:
        """Every row to write in batches, window by window (`_window`): a window's creates once they
        are written as pending, its updates once their before-images are read and written too (the
        creates do not wait for those reads). Up to LOOKAHEAD windows are made ready while an earlier
        one's batches are sent, so the destination is not left waiting for the next ones; one
        window's rows are built at a time."""
        crosswalks = await self.crosswalks
        # a window holds a batch for every slot in flight: a first window of one batch kept the other
        # slots idle until the next windows were built, and growing batches emptied later windows
        parts = windows(todo, lambda: tuner.size * tuner.in_flight())
        ahead: deque[asyncio.Future[tuple[Batch, asyncio.Future[Batch] | None]]] = deque()
        updates: deque[asyncio.Future[Batch]] = deque()  # of windows whose creates went already
        built = asyncio.Event()  # the newest window's rows are built
        built.set()
        started, exhausted = 0, False
        try:
            while True:
                if done := [task for task in updates if task.done()]:
                    # in any order, those of several windows together: waiting for the oldest window's
                    # read held back later ones that were ready, and they went last, a few rows a batch
                    ready: Batch = []
                    for task in done:  # one that failed raises; the others stay to be dropped below
                        updates.remove(task)
                        ready += task.result()
                    async for batch in self._split(ready, tuner):
                        yield batch
                room = LOOKAHEAD if started > 1 else 1  # the first window alone, later ones while it is sent
                can_start = not exhausted and len(ahead) < room
                if can_start and built.is_set():
                    window = next(parts, None)
                    if window is not None:
                        built, started = asyncio.Event(), started + 1
                        task = self._window(window, crosswalks, existence, built, first=started == 1)
                        ahead.append(asyncio.ensure_future(task))
                        continue
                    exhausted, can_start = True, False
                if not ahead and not updates:
                    return
                if not ahead or not ahead[0].done():  # whichever comes first
                    waits = {*updates, *([ahead[0]] if ahead else [])}
                    building = asyncio.ensure_future(built.wait()) if can_start else None
                    await asyncio.wait(waits | ({building} if building else set()), return_when=asyncio.FIRST_COMPLETED)
                    if building:
                        building.cancel()
                    continue
                creates, later = ahead.popleft().result()
                if later is not None:
                    updates.append(later)
                async for batch in self._split(creates, tuner):
                    yield batch
        finally:
            for task in ahead:  # a window made ready but not sent: its updates may still be read
                if task.done() and not task.cancelled() and task.exception() is None and task.result()[1]:
                    updates.append(task.result()[1])
                _drop(task)
            for task in updates:
                _drop(task)

    @staticmethod
    async def _split(ready: Batch, tuner: BatchTuner) -> AsyncIterator[Batch]:
        """`ready` in batches of the tuner's size at the time each is taken."""
        start = 0
        while start < len(ready):
            batch = ready[start : start + tuner.size]
            start += len(batch)
            yield batch

    async def _window(
        self,
        window: pl.DataFrame,
        crosswalks: dict[str, dict[str, str]],
        existence: asyncio.Future[set[str] | None],
        built: asyncio.Event,
        first: bool = False,
    ) -> tuple[Batch, asyncio.Future[Batch] | None]:
        """One window's rows to write, lookups resolved and missing parents quarantined: (the rows
        ready to go, the rows of records that exist once their before-images are in, or None).

        The first window (a batch per slot in flight) does not wait for the existence listing when it
        is not answered yet: its rows' before-images are read by key, and whichever of that read and
        the listing answers first decides (the connector finds out the rest)."""
        existing = await existence if not first or existence.done() else None
        ready, missing = await self._build(window, crosswalks, existing)
        built.set()
        self.summary.unresolved += sum(1 for m in missing if m.hold)
        if missing:  # aside: the batches wait for the window's pending rows, not for this
            await self.prepared  # (nothing is written before the sign-in and the metadata are in)
            self.writer.submit(self._quarantine(missing), aside=True)
        return await self._written_pending(ready, existing, existence)

    async def _written_pending(
        self, ready: Batch, existing: set[str] | None, existence: asyncio.Future[set[str] | None]
    ) -> tuple[Batch, asyncio.Future[Batch] | None]:
        """`ready` written as pending: (the creates, or every row when their existence was read by
        key; the updates once their before-images are in, or None)."""
        if existing is None:
            images = await self._images_unless_listed(ready, existence)
            if images is not None:
                return await self._pending_after_images(ready, existence, images), None
            ready = _by_listing(ready, existence.result())
        creates = [item for item in ready if not item[1].exists]
        updates = [item for item in ready if item[1].exists]
        later = asyncio.ensure_future(self._pending_after_images(updates, existence)) if updates else None
        try:
            return await self._pending_after_images(creates, existence), later
        except BaseException:
            if later is not None:
                _drop(later)
            raise

    async def _images_unless_listed(
        self, rows: Batch, existence: asyncio.Future[set[str] | None]
    ) -> dict[str, dict[str, Any]] | None:
        """The before-images of `rows` (their existence unknown), read by key; None when the
        existence listing answers first (the read is dropped: the listing says which rows need one)."""
        reading = asyncio.ensure_future(self._read_images(rows))
        await asyncio.wait({reading, existence}, return_when=asyncio.FIRST_COMPLETED)
        if not reading.done() and _answered(existence) is not None:
            _drop(reading)
            return None
        return await reading

    async def _read_images(self, rows: Batch) -> dict[str, dict[str, Any]]:
        """The before-images of the rows whose record may exist (read in bulk), by external id."""
        obj = self.loaded.spec.objects[self.obj_name]
        wanted = [up.external_id for _row, up in rows if up.exists is not False]
        return await self.dest.read_back(obj.table, obj.external_id.column, wanted, self.columns) if wanted else {}

    async def _pending_after_images(
        self, rows: Batch, existence: asyncio.Future[set[str] | None], images: dict[str, dict[str, Any]] | None = None
    ) -> Batch:
        """`rows` written as pending with the before-images of those whose record may exist (read in
        bulk unless given); rows of records that exist follow the others, so that a batch is all
        creates or all updates (one bulk request where the destination has them)."""
        if images is None:
            images = await self._read_images(rows)
        if any(up.exists is None for _row, up in rows) and (known := _answered(existence)) is not None:
            # the listing came in while these were read: they can go as creates or updates
            rows = _by_listing(rows, known)
        rows.sort(key=lambda item: bool(item[1].exists))
        pending = []
        for start in range(0, len(rows), TURN_ROWS):
            part = rows[start : start + TURN_ROWS]
            pending += [self._pending(row, up, images.get(up.external_id)) for row, up in part]
            await asyncio.sleep(0)
        await self.prepared  # nothing is written before the sign-in and the metadata are in
        await asyncio.wrap_future(self.writer.submit(lambda cursor: ledger.record(cursor, pending)))
        self.known_ids.update({e: str(i["id"]) for e, i in images.items() if i.get("id")})
        return rows

    async def _build(
        self, window: pl.DataFrame, crosswalks: dict[str, dict[str, str]], existing: set[str] | None
    ) -> tuple[list[tuple[dict, UpsertRow]], list[Missing]]:
        """`_build_rows` of a window, TURN_ROWS at a time, each after a turn of the event loop: batches
        ready before it go out first (the second window's first part was built before the first
        window's batches were sent, 12-25 ms before the first write of a load)."""
        ready: list[tuple[dict, UpsertRow]] = []
        missing: list[Missing] = []
        obj = self.loaded.spec.objects[self.obj_name]
        window = json_columns(window, field_columns(obj, window.columns))  # once a window, column-wise
        for part in window.iter_slices(TURN_ROWS):
            await asyncio.sleep(0)
            built, held = _build_rows(self.loaded, self.obj_name, part, crosswalks, self.dest.user_table, existing)
            ready += built
            missing += held
        return ready, missing

    def _quarantine(self, missing: list[Missing]) -> Callable[[duckdb.DuckDBPyConnection], None]:
        """The write holding back rows whose lookup target is missing (or noting their substitution)."""
        phase, obj_name, run_id = self.phase, self.obj_name, self.run_id

        def hold(cursor: duckdb.DuckDBPyConnection) -> None:
            quarantine_missing(cursor, phase, obj_name, run_id, missing)

        return hold

    def _pending(self, row: dict, up: UpsertRow, image: dict | None) -> ledger.Entry:
        obj = self.loaded.spec.objects[self.obj_name]
        return ledger.Entry(
            self.run_id,
            self.phase,
            self.obj_name,
            obj.table,
            str(row[SRC]),
            up.external_id,
            (image or {}).get("id"),
            None,
            "pending",
            row_hash=row[HASH],
            before_image=image,
        )

    async def write(self, batch: Batch) -> None:
        """Upsert one batch and keep its outcomes for the next flush."""
        obj = self.loaded.spec.objects[self.obj_name]
        summary, dest = self.summary, self.dest
        results = await dest.upsert(obj.table, obj.external_id.column, [up for _row, up in batch])
        for (row, up), result in zip(batch, results, strict=True):
            known = self.known_ids.pop(up.external_id, None)
            if result.ok and result.destination_id is None and known:  # e.g. a bulk update's answer
                result = replace(result, destination_id=known)
            self.outcomes.append(outcome_entry(self.run_id, self.phase, self.obj_name, obj.table, row, result))
            if result.ok:
                summary.created += result.operation == "created"
                summary.updated += result.operation == "updated"
            else:
                summary.failed += 1
                self.failures.append((row, f"rejected by {dest.system}: {result.error}"))
                if len(summary.errors) < 20:
                    summary.errors.append({"external_id": up.external_id, "error": str(result.error)})
        now = asyncio.get_running_loop().time()
        # while the last batches are answered, each answer's outcomes go at once, so that the write
        # left for the end of the load holds little more than the last batch
        due = self.draining or now - self.flushed >= FLUSH_SECONDS or len(self.outcomes) >= FLUSH_ROWS
        if due:
            self.flushed = now
            self.writer.submit(self._flush_kept())

    def close(self) -> None:
        """Write the outcomes (and the rejected rows' quarantine) not written yet; wait for the
        writes in the background."""
        self.writer.close(self._flush_kept())

    def _flush_kept(self) -> Callable[[duckdb.DuckDBPyConnection], None]:
        """The write of the outcomes and rejected rows kept so far (taken from the load now)."""
        outcomes, failures, self.outcomes, self.failures = self.outcomes, self.failures, [], []
        phase, obj_name, run_id = self.phase, self.obj_name, self.run_id

        def flush(cursor: duckdb.DuckDBPyConnection) -> None:
            ledger.record(cursor, outcomes)
            quarantine_rows(cursor, phase, obj_name, run_id, failures)

        return flush


def outcome_entry(run_id: str, phase: str, obj_name: str, table: str, row: dict, result: WriteResult) -> ledger.Entry:
    """The ledger row of one write's outcome (records and files alike)."""
    return ledger.Entry(
        run_id,
        phase,
        obj_name,
        table,
        str(row[SRC]),
        str(row[EXT]),
        result.destination_id,
        result.operation,
        "ok" if result.ok else "failed",
        result.error,
        row[HASH],
    )


def quarantine_rows(
    conn, phase: str, obj_name: str, run_id: str, rows: list[tuple[dict, str]], *, roots: list | None = None
) -> None:
    """Record rows held back at load, with their root causes when they are cascades."""
    if not rows:
        return
    root_list = roots or [None] * len(rows)
    frame = pl.DataFrame(  # noqa: F841 - scanned by name below
        {
            "_phase": [phase] * len(rows),
            "object": [obj_name] * len(rows),
            "external_id": [str(r[EXT]) for r, _ in rows],
            "source_id": [str(r[SRC]) for r, _ in rows],
            "step": ["load"] * len(rows),
            "reason": [reason for _, reason in rows],
            "row_json": [json.dumps({k: json_value(v) for k, v in r.items()}, default=str) for r, _ in rows],
            "run_id": [run_id] * len(rows),
            "root_object": [x.object if x else None for x in root_list],
            "root_source_id": [x.source_id if x else None for x in root_list],
            "root_reason": [x.reason if x else None for x in root_list],
        },
        schema_overrides={c: pl.String for c in ("root_object", "root_source_id", "root_reason")},
    )
    conn.execute("insert into quarantine by name select * from frame")
