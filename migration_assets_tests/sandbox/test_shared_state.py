"""The emulators' shared SQLite state: writers of one process take turns on one lock per file."""

from __future__ import annotations

import threading
from pathlib import Path

from migration_assets.sandbox._common import SqliteState, ThreadConnections, writer_lock

SCHEMA = "create table if not exists items (name text primary key)"


def held_elsewhere(lock: threading.RLock) -> bool:
    """Whether another thread holds `lock` (tried from a thread of its own: the lock is reentrant)."""
    taken: list[bool] = []

    def attempt() -> None:
        got = lock.acquire(blocking=False)
        taken.append(got)
        if got:
            lock.release()

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return not taken[0]


def test_writers_through_any_object_of_one_file_take_turns_on_one_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first, second = SqliteState(path, SCHEMA), SqliteState(tmp_path / "." / "state.sqlite", SCHEMA)
    lock = writer_lock(path)
    assert writer_lock(tmp_path / "other.sqlite") is not lock
    inside, release, order = threading.Event(), threading.Event(), []

    def long_write() -> None:
        with first.write() as conn:
            conn.execute("insert into items values ('first')")
            inside.set()
            release.wait(10)
            order.append("first committed")

    def other_write() -> None:
        with ThreadConnections(path).write() as conn:
            order.append("second began")
            conn.execute("insert into items values ('second')")

    writer = threading.Thread(target=long_write)
    writer.start()
    assert inside.wait(10)
    assert held_elsewhere(lock)  # the write holds the process's lock of that file, not only SQLite's
    other = threading.Thread(target=other_write)
    other.start()
    other.join(0.2)
    assert other.is_alive() and order == []  # queued on the lock
    release.set()
    writer.join(10)
    other.join(10)
    assert order == ["first committed", "second began"]
    assert not held_elsewhere(lock)
    with second.read() as conn:
        assert {r[0] for r in conn.execute("select name from items")} == {"first", "second"}
