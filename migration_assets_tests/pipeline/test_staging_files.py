"""The staging files attached to one DuckDB instance per process (`staging.files`): a connection and
its cursors work on their own file, catalog checks see only it, the file's lock is let go when the
last connection closes (another process can open it between steps), and a file held read-only is not
written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migration_assets.errors import StagingError
from migration_assets.staging import db
from migration_assets.staging.files import cursor_of, open_file


def test_connections_cursors_and_catalog_checks_stay_on_their_own_file(tmp_path: Path) -> None:
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    with open_file(first) as a, open_file(second) as b:
        a.execute("create table only_in_first as select 1 as x")
        b.execute("create table only_in_second as select 2 as x")
        assert db.table_exists(a, "only_in_first") and not db.table_exists(a, "only_in_second")
        assert db.table_exists(b, "only_in_second") and not db.table_exists(b, "only_in_first")
        with cursor_of(a) as cursor:  # a cursor would start on the instance's in-memory database
            assert cursor.execute("select x from only_in_first").fetchall() == [(1,)]
        with open_file(first) as again:  # the same file twice in one process: one attachment
            assert again.execute("select x from only_in_first").fetchall() == [(1,)]
        with open_file(first, memory_limit="64MB") as again:  # ... on the instance it was attached to
            assert again.execute("select x from only_in_first").fetchall() == [(1,)]
        assert a.execute("select x from only_in_first").fetchall() == [(1,)]


def test_the_file_is_let_go_when_its_last_connection_closes(tmp_path: Path) -> None:
    path = tmp_path / "pair.duckdb"
    with open_file(path) as conn:
        conn.execute("create table t as select 42 as answer")
    read = f"import duckdb; print(duckdb.connect({str(path)!r}).execute('select answer from t').fetchone()[0])"
    opened = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, timeout=60)
    assert opened.stdout.strip() == "42", opened.stderr  # another process writes and reads it between steps
    with open_file(path) as conn:
        assert conn.execute("select answer from t").fetchone() == (42,)


def test_a_file_held_read_only_is_not_opened_for_writing(tmp_path: Path) -> None:
    path = tmp_path / "pair.duckdb"
    with open_file(path) as conn:
        conn.execute("create table t (x int)")
    with open_file(path, read_only=True), pytest.raises(StagingError, match="read-only"), open_file(path):
        pass
    with open_file(path) as conn:  # let go: writable again
        conn.execute("insert into t values (1)")
