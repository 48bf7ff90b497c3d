"""Dagster's SQLite storage, with each database's SQLAlchemy engine kept instead of made per call.

Dagster's SQLite storages build a new engine for every connection they open (`create_engine` with
`NullPool`, then `dispose`): every event a step logs, every run and asset lookup. An engine also
holds SQLAlchemy's cache of compiled statements, so none of Dagster's queries is ever compiled
only once. Profiled on the interactive end-to-end test, making the engines and compiling their
statements again took about a tenth of the process's CPU. These classes keep one engine per
database file (the run-sharded event logs: the most recent ones, each run's file is used while it
runs); connections are still opened and closed per call (`NullPool`), so nothing changes about
locking, file handles or what another process sees: the same files, the same transactions.

Configured in `dagster.yaml` as `storage: custom:` with the `base_dir` `storage: sqlite:` took,
and the same layout under it (existing instances keep working).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from sqlalchemy.pool import NullPool

KEPT_SHARDS = 16  # run shards whose engine is kept (a run's events go to its own file while it runs)


def _engine(conn_string: str, **connect_args: Any) -> db.engine.Engine:
    return create_engine(conn_string, poolclass=NullPool, connect_args=connect_args)


@contextmanager
def _transaction(engine: db.engine.Engine) -> Iterator[db.engine.Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


class KeptEngineEventLogStorage(SqliteEventLogStorage):
    """The run-sharded SQLite event log, one kept engine per shard (the index, the recent runs)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()  # before: the parent connects
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> KeptEngineEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = _engine(self.conn_string_for_shard(shard), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                while len(self._engines) > KEPT_SHARDS:
                    self._engines.popitem(last=False)[1].dispose()
            self._engines.move_to_end(shard)
            with _transaction(engine) as conn:
                yield conn


class _KeptEngine:
    """`connect()` on one engine kept for the storage's database file (made on first use)."""

    _conn_string: str
    _kept_engine: db.engine.Engine | None = None

    @contextmanager
    def connect(self) -> Iterator[db.engine.Connection]:
        if self._kept_engine is None:
            self._kept_engine = _engine(self._conn_string)
        with _transaction(self._kept_engine) as conn:
            yield conn


class KeptEngineRunStorage(_KeptEngine, SqliteRunStorage):
    """The SQLite run storage on one kept engine."""


class KeptEngineScheduleStorage(_KeptEngine, SqliteScheduleStorage):
    """The SQLite schedule storage on one kept engine."""


class KeptEngineSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite:` (same `base_dir`, same files) on the kept-engine storages above."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self.base_dir = base_dir
        self._run_storage = KeptEngineRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = KeptEngineEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = KeptEngineScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> KeptEngineSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)  # the parent's names its own class
