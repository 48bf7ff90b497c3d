"""The pairs' staging files, attached to one DuckDB instance per process instead of each opened as
an instance of its own.

Opening a DuckDB instance costs 15-25 ms of CPU (its built-in catalog is made anew, even for an
empty in-memory database); attaching a file to a running one costs about 2 ms. A run opens its pair's
file in every step, so that was a tenth of the CPU of a run of small steps. The file is detached
when the last connection that asked for it closes: its lock is released between steps, as before,
so other processes (the CLI, the webserver's runs) can open it.

A connection from `open_file` starts on the file (`USE`); a cursor of it starts on the instance's
own in-memory database, so cursors are taken with `cursor_of`. Catalog queries see every attached
file: they filter on `current_database()`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from migration_assets.errors import StagingError


@dataclass
class _Attached:
    instance: duckdb.DuckDBPyConnection
    alias: str
    read_only: bool
    users: int = 0


_LOCK = threading.Lock()
_INSTANCES: dict[str, duckdb.DuckDBPyConnection] = {}  # by memory limit: one buffer pool each
_ATTACHED: dict[Path, _Attached] = {}
_ALIASES: dict[int, str] = {}  # id of an open connection -> the alias of its file
_NAMES = itertools.count(1)


@contextmanager
def open_file(
    path: Path, *, read_only: bool = False, memory_limit: str = "256MB"
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection on the DuckDB file `path` (made if missing, unless `read_only`), closed after; the
    file is detached once no connection of this process uses it. Asked read-only while this process
    has it open for writing, it shares that attachment (one process's writer, as DuckDB allows).

    Raises:
        StagingError: asked to write a file this process holds open read-only.
    """
    path = path.resolve()
    with _LOCK:
        attached = _ATTACHED.get(path)
        if attached is None:  # a file already attached stays on its instance, whatever the limit asked now
            instance = _INSTANCES.get(memory_limit)
            if instance is None:
                instance = _INSTANCES[memory_limit] = duckdb.connect(":memory:", config={"memory_limit": memory_limit})
            attached = _Attached(instance, f"staging_{next(_NAMES)}", read_only)
            mode = " (read_only)" if read_only else ""
            instance.execute(f"attach '{_quoted(path)}' as {attached.alias}{mode}")
            _ATTACHED[path] = attached
        elif attached.read_only and not read_only:
            raise StagingError(f"{path} is open read-only in this process: it cannot be written until it is closed")
        attached.users += 1
        conn = attached.instance.cursor()
    try:
        conn.execute(f"use {attached.alias}")
        _ALIASES[id(conn)] = attached.alias
        yield conn
    finally:
        _ALIASES.pop(id(conn), None)
        conn.close()
        with _LOCK:
            attached.users -= 1
            if not attached.users:
                del _ATTACHED[path]
                attached.instance.execute(f"detach {attached.alias}")


def cursor_of(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of `conn` (for another thread) on the same file: a cursor of a connection from
    `open_file` would start on the instance's in-memory database."""
    cursor = conn.cursor()
    alias = _ALIASES.get(id(conn))
    if alias is not None:
        cursor.execute(f"use {alias}")
    return cursor


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
