"""The loader against a minimal client replaying its very requests: what the load engine costs on
top of the HTTP work it asks for.

For each load object of a pair (in load order, file objects left out): the staged full phase is
loaded by `engine.loading.load_object` through a transport that records every request (method,
URL, headers, body) and how many were in flight at most; the destination's state and the staging
file are then put back as they were before the load, and a minimal client (a bare
`httpx.AsyncClient` on a fresh emulator app of the same state, as many requests in flight as the
loader had) sends the same requests in the same order, only putting the new OAuth token in the
place of the recorded one. Loader and replay alternate `reps` times from the same starting state;
the figure per object is the median of loader records/s ÷ replay records/s. The last rep's loader
run is kept, so the next object loads against its lookups as in a real run.

Where the sandbox runs (`--sandbox`):
- `in-process` (default): on an ASGI transport in this process, as the tests run it. Loader, replay
  and emulator share one interpreter, so the figure is a CPU share: every microsecond the loader
  spends building rows and writing its ledger is taken from the emulator's answers.
- `served`: served over real HTTP by a child process (a fresh one for every run, on the restored
  state), as a real service is reached: the loader's own work overlaps the server's, and the figure
  says how well the loader keeps the server busy (what it waits for, what it sends at once).
  `--server-model realistic` adds the modelled latency and server time (sandbox/dataverse/server_model.py).
The machine's other load touches both sides alike; the alternation and the median keep one side
from getting a quieter moment.

    python -m migration_assets.bench.loads [--pair case_status__dynamics365] [--scale 3000] [--reps 3]
        [--sandbox in-process|served] [--server-model realistic]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import httpx

from migration_assets.bench.serving import served
from migration_assets.bench.workbench import BenchPair
from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.connectors.connection import Connection
from migration_assets.engine import planning
from migration_assets.engine.loading import load_object
from migration_assets.settings import PROJECT_ROOT
from migration_assets.spec.loader import LoadedSpec
from migration_assets.systems import system

PAIRS = ("case_status__dynamics365",)


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to `inner`, keeping each one and the most in flight at once."""

    inner: httpx.AsyncBaseTransport
    sent: list[Sent] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    @property
    def app(self) -> Any:
        """The emulator app, so the limiter identity is the sandbox's own (connectors.http.identity_of)."""
        return getattr(self.inner, "app", None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent.append(Sent(request.method, str(request.url), list(request.headers.items()), body))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


@dataclass
class Rep:
    loader_seconds: float
    replay_seconds: float
    rows: int
    requests: int
    in_flight: int

    @property
    def ratio(self) -> float:
        return self.replay_seconds / self.loader_seconds if self.loader_seconds else 0.0


class Snapshot:
    """The destination's SQLite state and the pair's staging file, as they were at `take`."""

    def __init__(self, bench: BenchPair, where: Path) -> None:
        self.bench, self.where = bench, where
        self.db = bench.state_path(bench.destination)
        self.staging = bench.paths.staging_db(bench.pair)

    def take(self) -> None:
        self.where.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(self.db, self.where / "destination.sqlite")
        shutil.copyfile(self.staging, self.where / "staging.duckdb")

    def restore(self) -> None:
        _copy_sqlite(self.where / "destination.sqlite", self.db)
        shutil.copyfile(self.where / "staging.duckdb", self.staging)


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a live SQLite database page by page (WAL included), whoever has it open."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target, timeout=60)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@contextmanager
def destination_connection(bench: BenchPair, served_over_http: bool) -> Iterator[Connection]:
    """The destination's sandbox connection: in process, or served by a fresh child process."""
    connection = resolve_connection(bench.destination, state_dir=bench.paths.sandbox, environ={})
    if not served_over_http:
        yield connection
        return
    declared = system(bench.destination)
    with served(bench.destination, bench.paths.sandbox) as base_url:
        host = base_url.removesuffix(declared.sandbox.api_prefix)
        token_url = host + declared.sandbox.token_path if declared.sandbox.token_path else None
        yield replace(connection, base_url=host, token_url=token_url, transport=httpx.AsyncHTTPTransport())


async def run_loader(
    bench: BenchPair, spec: LoadedSpec, obj: str, run_id: str, connection: Connection
) -> tuple[int, float, Recording]:
    """Load `obj`'s staged full phase through a recording transport: (rows written, seconds, recording)."""
    recorder = RecordingTransport(connection.transport or httpx.AsyncHTTPTransport())
    dest = open_destination(
        bench.destination, replace(connection, transport=recorder, options=spec.spec.destination_options)
    )
    with duckdb.connect(str(bench.paths.staging_db(bench.pair))) as conn:
        effective = planning.effective_spec(conn, spec, "full")
        started = time.perf_counter()
        try:
            summary = await load_object(effective, obj, "full", conn, dest, run_id)
        finally:
            await dest.aclose()
        seconds = time.perf_counter() - started
    return summary.written, seconds, Recording(recorder.sent, recorder.peak, connection.base_url)


@dataclass
class Recording:
    sent: list[Sent]
    peak: int
    host: str  # the sandbox's address when recorded (a served one gets a new port each time)


async def replay(bench: BenchPair, recording: Recording, connection: Connection) -> float:
    """Send the recorded requests again on a fresh sandbox of the restored state; seconds taken."""
    declared = system(bench.destination)
    client = httpx.AsyncClient(transport=connection.transport, timeout=300)
    gate = asyncio.Semaphore(max(1, recording.peak))
    tokens: dict[str, str] = {}
    token_path = declared.sandbox.token_path or "\0"

    async def send(item: Sent) -> None:
        async with gate:
            headers = [(k, _swap(v, tokens)) for k, v in item.headers if k.lower() != "content-length"]
            url = connection.base_url + item.url.removeprefix(recording.host)
            response = await client.request(item.method, url, headers=headers, content=item.body)
            if item.url.endswith(token_path) and response.status_code == 200:
                tokens["new"] = response.json()["access_token"]

    started = time.perf_counter()
    try:
        pending: list[asyncio.Task] = []
        for item in recording.sent:
            if item.url.endswith(token_path):  # later requests need the token it issues
                await asyncio.gather(*pending)
                pending = []
                await send(item)
                tokens["old"] = _recorded_token(recording.sent, item)
                continue
            pending.append(asyncio.ensure_future(send(item)))
        await asyncio.gather(*pending)
    finally:
        await client.aclose()
    return time.perf_counter() - started


def _recorded_token(sent: Sequence[Sent], token_request: Sent) -> str:
    """The bearer token the loader used after `token_request` (from its next request's header)."""
    after = sent[sent.index(token_request) + 1 :]
    for item in after:
        for name, value in item.headers:
            if name.lower() == "authorization" and value.lower().startswith("bearer "):
                return value.split(" ", 1)[1]
    return "\0"


def _swap(value: str, tokens: dict[str, str]) -> str:
    old, new = tokens.get("old"), tokens.get("new")
    return value.replace(old, new) if old and new else value


def bench_object(bench: BenchPair, spec: LoadedSpec, obj: str, reps: int, served_over_http: bool) -> list[Rep]:
    """`reps` alternations of replay and loader from the same state; the loader's last run is kept."""
    snapshot = Snapshot(bench, bench.var / "snapshot")
    snapshot.take()
    recording: Recording | None = None
    out = []
    for rep in range(reps + 1):
        if recording is not None:
            snapshot.restore()
            with destination_connection(bench, served_over_http) as connection:
                replay_seconds = asyncio.run(replay(bench, recording, connection))
        snapshot.restore()
        with destination_connection(bench, served_over_http) as connection:
            rows, seconds, recording = asyncio.run(run_loader(bench, spec, obj, f"bench-{obj}-{rep}", connection))
        if rep:  # the first loader run only records the requests
            out.append(Rep(seconds, replay_seconds, rows, len(recording.sent), recording.peak))
    return out


def bench_pair(
    pair: str, scale: int, reps: int, var: Path, *, served_over_http: bool = False, server_model: str | None = None
) -> dict[str, Any]:
    """Per load object: rows, requests, loader and replay records/s and their ratio (medians)."""
    bench = BenchPair(pair, var)
    try:
        options = {bench.destination: {"server_model": server_model}} if server_model else None
        bench.setup_apart(scale=scale, options=options)  # the generator's leftovers would weigh on this process
        bench.staged_full()
        spec = bench.spec()
        results = {}
        for obj in spec.load_order:
            reps_done = bench_object(bench, spec, obj, reps, served_over_http)
            rows = reps_done[-1].rows
            if not rows:
                continue
            results[obj] = {
                "rows": rows,
                "requests": reps_done[-1].requests,
                "in_flight": reps_done[-1].in_flight,
                "loader_records_per_s": round(statistics.median(r.rows / r.loader_seconds for r in reps_done), 1),
                "replay_records_per_s": round(statistics.median(r.rows / r.replay_seconds for r in reps_done), 1),
                "ratio": round(statistics.median(r.ratio for r in reps_done), 3),
                "ratios": [round(r.ratio, 3) for r in reps_done],
            }
            print(f"{pair} {obj}: {json.dumps(results[obj])}", flush=True)
        return results
    finally:
        bench.close()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", action="append", help=f"pairs (default: {', '.join(PAIRS)})")
    parser.add_argument("--scale", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sandbox", choices=("in-process", "served"), default="in-process")
    parser.add_argument("--server-model", help="the destination emulator's server model (realistic)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    served_over_http = args.sandbox == "served"
    out = {
        pair: bench_pair(
            pair,
            args.scale,
            args.reps,
            PROJECT_ROOT / "var" / "bench" / "loads" / pair,
            served_over_http=served_over_http,
            server_model=args.server_model,
        )
        for pair in args.pair or PAIRS
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
