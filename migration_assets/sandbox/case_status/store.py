"""SQLite storage of the Case Status emulator: the shared document table (`sandbox/_documents.py`,
integer ids) plus the options. A private key such as `_blob: "missing"` marks a file whose bytes
are gone; it is stripped before any response.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from migration_assets.sandbox._common import state_opener
from migration_assets.sandbox._documents import live_query, public, records_schema

SCHEMA = records_schema("integer")

# Option names are part of the contract: the lead's tests set them with `set_options`.
DEFAULT_OPTIONS: dict[str, Any] = {"rate_per_second": 5.0, "burst": 10}

open_state = state_opener(SCHEMA, DEFAULT_OPTIONS)


def page_text(
    conn: sqlite3.Connection,
    resource: str,
    *,
    number: int,
    size: int,
    updated_since: str | None = None,
    case_id: str | None = None,
) -> list[str]:
    """One page of live documents ordered by (updated_at, id), `number` counting from 1: the stored
    JSON text of each (not decoded)."""
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
    # case_id compared as text: the real files API returns it as a string, the others as a number
    by_case = [("cast(json_extract(doc, '$.case_id') as text) = ?", [case_id])] if case_id is not None else []
    sql, args = live_query(resource, updated_since, by_case)
    sql += " order by updated_at, id limit ? offset ?"
    args += [size, (number - 1) * size]
    return sql, args


def next_id(conn: sqlite3.Connection, resource: str) -> int:
    """The id a new record of `resource` gets: one more than the highest ever used."""
    row = conn.execute("select coalesce(max(id), 0) as top from records where resource = ?", (resource,)).fetchone()
    return int(row["top"]) + 1


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record (options are kept)."""
    conn.execute("delete from records")
