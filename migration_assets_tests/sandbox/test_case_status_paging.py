"""Case Status listing pages read through the connection's kept order are exactly the OFFSET
query's pages, also when records change between two pages (by another connection or this one)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from migration_assets.sandbox.case_status import store

SIZE = 7


def _put(path: Path, rid: int, updated_at: str, *, case_id: int = 1, deleted: bool = False) -> None:
    """Insert or replace one message on a connection of its own (another writer than the reader's)."""
    doc = json.dumps({"id": rid, "case_id": case_id, "updated_at": updated_at})
    with sqlite3.connect(path) as conn:
        conn.execute(
            "insert or replace into records (resource, id, updated_at, deleted_at, doc) values (?, ?, ?, ?, ?)",
            ("messages", rid, updated_at, updated_at if deleted else None, doc),
        )


def _pages(state, **filters) -> tuple[list[list[str]], list[list[str]]]:
    """Every page read with the kept order and with OFFSET, each page in a read transaction."""
    kept, plain = [], []
    for number in range(1, 12):
        with state.read() as conn:
            kept.append(store.page_text(conn, "messages", number=number, size=SIZE, orders=state.memo(), **filters))
        with state.read() as conn:
            plain.append(store.page_text(conn, "messages", number=number, size=SIZE, **filters))
    return kept, plain


@pytest.fixture
def state(tmp_path):
    state = store.open_state(tmp_path / "case_status.sqlite")
    for i in range(1, 51):  # same updated_at for some: the id breaks the tie
        _put(state.path, i, f"2024-01-{1 + i // 3:02d}T00:00:00Z", case_id=1 + i % 3)
    return state


def test_every_page_is_the_offset_querys_page(state) -> None:
    kept, plain = _pages(state)
    assert kept == plain
    assert sum(len(p) for p in kept) == 50
    filtered_kept, filtered_plain = _pages(state, updated_since="2024-01-05T00:00:00Z", case_id="2")
    assert filtered_kept == filtered_plain and 0 < sum(len(p) for p in filtered_kept) < 50


def test_a_change_between_two_pages_is_seen_as_by_the_offset_query(state) -> None:
    with state.read() as conn:
        first = store.page_text(conn, "messages", number=1, size=SIZE, orders=state.memo())
    _put(state.path, 3, "2025-01-01T00:00:00Z")  # another connection moves a record to the end
    _put(state.path, 10, "2024-01-04T00:00:00Z", deleted=True)  # and deletes one
    kept, plain = _pages(state)
    assert kept == plain
    ids = [json.loads(doc)["id"] for page in kept for doc in page]
    assert ids[-1] == 3  # the moved record comes last
    assert 10 not in ids and len(ids) == 49
    assert first != kept[0]


def test_a_write_on_the_readers_own_connection_is_seen(state) -> None:
    _pages(state)  # the order is kept
    with state.write() as conn:
        conn.execute("update records set deleted_at = updated_at where resource = 'messages' and id = 1")
    kept, plain = _pages(state)
    assert kept == plain
    assert sum(len(p) for p in kept) == 49
