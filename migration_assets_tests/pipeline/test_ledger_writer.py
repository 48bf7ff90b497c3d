"""The load's ledger writer: pending rows (which the batches wait for) are not held up by a quarantine
write set aside, the end of the load waits for both lanes, and a failed write is raised, not lost."""

from __future__ import annotations

import threading

import duckdb
import pytest

from migration_assets.engine.loading import LedgerWriter
from migration_assets.staging import ledger


def _entry(external_id: str) -> ledger.Entry:
    return ledger.Entry("run", "full", "matter", "cs_matter", external_id, external_id, None, None, "pending")


@pytest.fixture
def conn(tmp_path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "staging.duckdb"))
    ledger.ensure(conn)
    conn.execute("create table held (external_id varchar)")
    yield conn
    conn.close()


def test_pending_rows_are_written_while_a_quarantine_write_aside_is_still_running(conn) -> None:
    writer = LedgerWriter(conn)
    release = threading.Event()

    def slow_hold(cursor: duckdb.DuckDBPyConnection) -> None:
        assert release.wait(30), "the aside write was never released"
        cursor.execute("insert into held values ('M1')")

    aside = writer.submit(slow_hold, aside=True)
    pending = writer.submit(lambda cursor: ledger.record(cursor, [_entry("M2")]))

    assert pending.result(timeout=30) == 1  # done while the aside write still waits
    assert not aside.done()
    release.set()
    writer.close(lambda cursor: ledger.record(cursor, [_entry("M3")]))

    assert aside.done()
    assert conn.execute("select external_id from held").fetchall() == [("M1",)]
    assert sorted(conn.execute("select external_id from ledger").fetchall()) == [("M2",), ("M3",)]


def test_a_failed_write_aside_is_raised_when_the_load_closes(conn) -> None:
    writer = LedgerWriter(conn)

    def failing(cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.execute("insert into no_such_table values (1)")

    writer.submit(failing, aside=True)
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        writer.close(lambda cursor: ledger.record(cursor, [_entry("M1")]))
    assert conn.execute("select external_id from ledger").fetchall() == [("M1",)]  # the last write still ran
