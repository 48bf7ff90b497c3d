"""An optional model of the real service's timing, so that a benchmark measures the client's design
rather than this machine's CPU (options, off by default).

Off (`server_model` unset), a request takes what the emulator's work takes here and counts that as
its execution time. On (`server_model: "realistic"`, each figure overridable by its own option):
- every request takes at least `latency_ms` (network and front end, not server time) plus its
  server time: `ms_per_operation` per change of a `$batch` (or a single write), `bulk_ms_per_operation`
  per target of CreateMultiple/UpdateMultiple/UpsertMultiple, `ms_per_read` per read request plus
  `ms_per_record_read` per record returned; the answer waits (without holding a CPU) until that
  time has passed, and it holds its concurrency slot meanwhile;
- the server time, not the time the emulator took, is what the execution-time limit counts
  (`execution_ms_per_window` over `window_seconds`, 1,200,000 ms per 300 s by default, as real).
The figures are ours (Microsoft publishes the limits, not the cost of an operation): a plain upsert
of one record is of the order of 10 ms of server time, bulk messages cost a fraction of that per
record (Microsoft reports several times the throughput of `$batch`), reads are cheap per record.

`ceiling` turns a configuration into the theoretical best a single identity can reach: the least
of the request limit, the execution-time limit and the concurrency limit (each in records/s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

REALISTIC: dict[str, float] = {
    "latency_ms": 40.0,
    "ms_per_operation": 10.0,
    "bulk_ms_per_operation": 3.0,
    "ms_per_read": 5.0,
    "ms_per_record_read": 0.2,
}


@dataclass(frozen=True)
class ServerModel:
    """The timing figures in force (see the module docstring)."""

    latency_ms: float
    ms_per_operation: float
    bulk_ms_per_operation: float
    ms_per_read: float
    ms_per_record_read: float

    @classmethod
    def from_options(cls, options: Any) -> ServerModel | None:
        """The model the sandbox options ask for (an Options or a mapping), or None when off.

        Raises:
            ValueError: an unknown `server_model`.
        """
        get = options.get
        kind = get("server_model")
        if not kind:
            return None
        if kind != "realistic":
            raise ValueError(f"unknown server_model {kind!r} (known: realistic)")
        values = {f.name: get(f.name) for f in fields(cls)}
        return cls(**{k: float(REALISTIC[k] if v is None else v) for k, v in values.items()})

    def server_ms(self, method: str, path: str, body: bytes, records_read: int) -> float:
        """Server time of one request from its method, path, body and the records it returned."""
        if method == "GET":
            return self.ms_per_read + self.ms_per_record_read * records_read
        if path == "$batch":
            return self.ms_per_operation * max(1, body.count(b"application/http"))
        if path.rsplit(".", 1)[-1] in ("CreateMultiple", "UpdateMultiple", "UpsertMultiple"):
            return self.bulk_ms_per_operation * max(1, body.count(b'"@odata.type"'))
        return self.ms_per_operation

    def ceiling(self, limits: Mapping[str, float], records_per_request: float, *, bulk: bool = False) -> dict:
        """The best records/s one identity can write under `limits` with requests of
        `records_per_request` records each, and which limit binds.

        Args:
            limits: `requests_per_window`, `window_seconds`, `execution_ms_per_window`, `max_concurrency`.
            records_per_request: records written per request.
            bulk: the writes are bulk messages (their cost per record).

        Returns:
            `{"records_per_second", "binding", "by_limit": {limit: records/s}}`.
        """
        per_record = self.bulk_ms_per_operation if bulk else self.ms_per_operation
        window = float(limits["window_seconds"])
        request_ms = self.latency_ms + per_record * records_per_request
        by_limit = {
            "requests": float(limits["requests_per_window"]) / window * records_per_request,
            "execution_time": float(limits["execution_ms_per_window"]) / window / per_record,
            "concurrency": float(limits["max_concurrency"]) * records_per_request / (request_ms / 1000),
        }
        binding = min(by_limit, key=lambda k: by_limit[k])
        return {"records_per_second": round(by_limit[binding], 1), "binding": binding, "by_limit": by_limit}


def records_read(body: Any) -> int:
    """How many records a read answered (a collection's `value`, else one)."""
    if isinstance(body, Mapping) and isinstance(body.get("value"), list):
        return len(body["value"])
    return 1
