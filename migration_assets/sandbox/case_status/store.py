"""SQLite storage of the Case Status emulator: one table of JSON documents plus the options.

Every record of every resource is one row `(resource, id, updated_at, deleted_at, doc)`; `doc` is
the JSON the API returns. Keys starting with "_" inside `doc` are private to the emulator (for
example `_blob: "missing"` on a file whose bytes are gone) and are stripped before any response.
`updated_at` is kept normalised to UTC `YYYY-MM-DDTHH:MM:SSZ` so that text order is time order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migration_assets.sandbox._common import SqliteState

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


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the API shows it: without the emulator's private "_" keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _row(resource: str, doc: Mapping[str, Any]) -> tuple[Any, ...]:
    deleted = doc.get("deleted_at")
    return (
        resource,
        int(doc["id"]),
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


def get(conn: sqlite3.Connection, resource: str, record_id: int, *, with_deleted: bool = False) -> dict | None:
    """One document by id, or None when unknown (or deleted, unless `with_deleted`)."""
    sql = "select doc from records where resource = ? and id = ?"
    if not with_deleted:
        sql += " and deleted_at is null"
    row = conn.execute(sql, (resource, record_id)).fetchone()
    return json.loads(row["doc"]) if row else None


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


def deletions(conn: sqlite3.Connection, since: str) -> list[dict[str, Any]]:
    """Every record deleted at or after `since` (normalised), oldest first."""
    rows = conn.execute(
        "select resource, id, deleted_at from records where deleted_at >= ? order by deleted_at, resource, id",
        (since,),
    )
    return [{"object": r["resource"], "id": r["id"], "deleted_at": r["deleted_at"]} for r in rows]


def count_by_case(conn: sqlite3.Connection, resource: str, case_ids: list[int]) -> dict[int, int]:
    """Live records of `resource` per case id, for the reporting counts."""
    if not case_ids:
        return {}
    marks = ",".join("?" * len(case_ids))
    rows = conn.execute(
        f"select cast(json_extract(doc, '$.case_id') as integer) as cid, count(*) as n from records "
        f"where resource = ? and deleted_at is null "
        f"and cast(json_extract(doc, '$.case_id') as integer) in ({marks}) group by cid",
        [resource, *case_ids],
    )
    return {r["cid"]: r["n"] for r in rows}


def next_id(conn: sqlite3.Connection, resource: str) -> int:
    """The id a new record of `resource` gets: one more than the highest ever used."""
    row = conn.execute("select coalesce(max(id), 0) as top from records where resource = ?", (resource,)).fetchone()
    return int(row["top"]) + 1


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record (options are kept)."""
    conn.execute("delete from records")
