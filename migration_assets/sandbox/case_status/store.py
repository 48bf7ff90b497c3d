"""SQLite storage of the Case Status emulator: the shared document table (`sandbox/_documents.py`,
integer ids) plus the options. A private key such as `_blob: "missing"` marks a file whose bytes
are gone; it is stripped before any response.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox._documents import deletions, get, parse_timestamp, public, put, utc_z

__all__ = ["deletions", "get", "parse_timestamp", "public", "put", "utc_z"]  # the shared document table

SCHEMA = """
create table if not exists records (
    resource text not null,
    id integer not null,
    updated_at text not null,
    deleted_at text,
    doc text not null,
    primary key (resource, id)
);
create index if not exists records_by_update on records (resource, updated_at, id);
-- live records only: a page at offset k skips k index entries without reading a row
create index if not exists records_live on records (resource, updated_at, id) where deleted_at is null;
create index if not exists records_by_deletion on records (deleted_at);
"""

# Option names are part of the contract: the lead's tests set them with `set_options`.
DEFAULT_OPTIONS: dict[str, Any] = {"rate_per_second": 5.0, "burst": 10}


def open_state(path: Path) -> SqliteState:
    """Open (creating when missing) the emulator's SQLite file.

    Args:
        path: the state file shared by every process of this sandbox.

    Returns:
        The SqliteState with the records table and default options.
    """
    return SqliteState(Path(path), SCHEMA, DEFAULT_OPTIONS)


def page_text(
    conn: sqlite3.Connection,
    resource: str,
    *,
    number: int,
    size: int,
    updated_since: str | None = None,
    case_id: str | None = None,
) -> list[str]:
    """Like `page`, the stored JSON text of each document (not decoded)."""
    sql, args = _page_query(resource, number, size, updated_since, case_id)
    return [row["doc"] for row in conn.execute(sql, args)]


def public_array(docs: list[str]) -> bytes:
    """The JSON array of `docs` (stored JSON texts) as the API shows them: a document that may hold
    private "_" keys is decoded and stripped, the others are passed through as stored."""
    parts = [json.dumps(public(json.loads(d)), ensure_ascii=False) if '"_' in d else d for d in docs]
    return ("[" + ",".join(parts) + "]").encode()


def _page_query(
    resource: str, number: int, size: int, updated_since: str | None, case_id: str | None
) -> tuple[str, list[Any]]:
    sql = "select doc from records where resource = ? and deleted_at is null"
    args: list[Any] = [resource]
    if updated_since is not None:
        sql += " and updated_at >= ?"
        args.append(updated_since)
    if case_id is not None:
        # Compared as text: the real files API returns case_id as a string, the others as a number.
        sql += " and cast(json_extract(doc, '$.case_id') as text) = ?"
        args.append(case_id)
    sql += " order by updated_at, id limit ? offset ?"
    args += [size, (number - 1) * size]
    return sql, args


def page(
    conn: sqlite3.Connection,
    resource: str,
    *,
    number: int,
    size: int,
    updated_since: str | None = None,
    case_id: str | None = None,
) -> list[dict[str, Any]]:
    """One page of live documents ordered by (updated_at, id); `number` counts from 1."""
    return [
        json.loads(d)
        for d in page_text(conn, resource, number=number, size=size, updated_since=updated_since, case_id=case_id)
    ]


def next_id(conn: sqlite3.Connection, resource: str) -> int:
    """The id a new record of `resource` gets: one more than the highest ever used."""
    row = conn.execute("select coalesce(max(id), 0) as top from records where resource = ?", (resource,)).fetchone()
    return int(row["top"]) + 1


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record (options are kept)."""
    conn.execute("delete from records")
