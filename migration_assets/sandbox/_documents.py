"""The document table that the Case Status and BackDocket emulators share: one row per record,
`(resource, id, updated_at, deleted_at, doc)`, `doc` the JSON the API returns. Keys starting with "_"
inside `doc` are private to the emulator and stripped before any response. `updated_at` and
`deleted_at` are kept normalised to UTC `YYYY-MM-DDTHH:MM:SSZ`, so that text order is time order.
Ids are integers for one system and text for the other: `put` stores them as given.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def records_schema(id_type: str) -> str:
    """The document table's DDL, ids of SQLite type `id_type` ("integer" or "text"); lists page by
    keyset on `(resource, updated_at, id)`."""
    return f"""
create table if not exists records (
    resource text not null,
    id {id_type} not null,
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


def live_query(
    resource: str,
    updated_since: str | None,
    conditions: Iterable[tuple[str, Sequence[Any]]] = (),
    *,
    column: str = "doc",
) -> tuple[str, list[Any]]:
    """(SQL, arguments) selecting `column` (the `doc`) of `resource`'s live documents updated at or after
    `updated_since` (normalised UTC Z text) and meeting every further (condition, arguments); the
    caller appends its order and limit."""
    sql = f"select {column} from records where resource = ? and deleted_at is null"
    args: list[Any] = [resource]
    if updated_since is not None:
        conditions = [("updated_at >= ?", [updated_since]), *conditions]
    for condition, values in conditions:
        sql += f" and {condition}"
        args += values
    return sql, args


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; a value without offset is taken as UTC.

    Raises:
        ValueError: when `value` is not ISO 8601.
    """
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_z(value: str) -> str:
    """Normalise an ISO 8601 timestamp to `YYYY-MM-DDTHH:MM:SSZ` (UTC), the sortable column form."""
    return parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def optional_utc_z(raw: str | None, invalid: Callable[[], Exception]) -> str | None:
    """`utc_z(raw)` of a query parameter, None when it is absent; raises `invalid()` when it is not
    ISO 8601 (each API words that error its own way)."""
    if raw is None:
        return None
    try:
        return utc_z(raw)
    except ValueError:
        raise invalid() from None


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the API shows it: without the emulator's private "_" keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _row(resource: str, doc: Mapping[str, Any]) -> tuple[Any, ...]:
    deleted = doc.get("deleted_at")
    return (
        resource,
        doc["id"],
        utc_z(doc["updated_at"]),
        utc_z(deleted) if deleted else None,
        json.dumps(doc, ensure_ascii=False),
    )


def put(conn: sqlite3.Connection, resource: str, docs: Iterable[Mapping[str, Any]]) -> None:
    """Insert or replace documents of one resource inside the caller's transaction."""
    conn.executemany(
        "insert into records values (?, ?, ?, ?, ?) on conflict(resource, id) do update set "
        "updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, doc = excluded.doc",
        [_row(resource, doc) for doc in docs],
    )


def get(conn: sqlite3.Connection, resource: str, record_id: object, *, with_deleted: bool = False) -> dict | None:
    """One document by id (primary key lookup), or None when unknown (or deleted, unless asked)."""
    sql = "select doc from records where resource = ? and id = ?"
    if not with_deleted:
        sql += " and deleted_at is null"
    row = conn.execute(sql, (resource, record_id)).fetchone()
    return json.loads(row["doc"]) if row else None


def deletions(conn: sqlite3.Connection, since: str) -> list[dict[str, Any]]:
    """Every record deleted at or after `since` (normalised), oldest first."""
    rows = conn.execute(
        "select resource, id, deleted_at from records where deleted_at >= ? order by deleted_at, resource, id",
        (since,),
    )
    return [{"object": r["resource"], "id": r["id"], "deleted_at": r["deleted_at"]} for r in rows]
