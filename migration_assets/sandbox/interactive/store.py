"""SQLite storage of the Interactive emulator.

Tables (all reads by id go through a primary key or index, lists page by keyset on id):
- `objects (type, id, archived, archived_at, created_at, updated_at, props)`: every CRM record;
  `props` is a JSON object of string values (HubSpot sends every property value as a string);
  the create, last-modified and `hs_object_id` properties are kept equal to the columns.
- `associations (from_type, from_id, to_type, to_id, type_id)`: both directions of every link,
  each with its own association type id (279 one way, 280 back).
- `resources (kind, id, seq, archived, doc)`: owners, deal pipelines, files and flows as the API
  returns them; `seq` orders a listing. Keys of `doc` starting with "_" are private.
- `daily_usage (identity, day, count)`: requests per token per UTC day (the daily headers).
- `served_pages (type, count)`: pages served per object type (the "changed while paging" knob).

Timestamps are stored as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC), the form HubSpot returns, so that text
order is time order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from migration_assets.sandbox._common import SqliteState, state_opener
from migration_assets.sandbox.interactive.objects import ASSOCIATION_TYPES, TYPES

SCHEMA = """
create table if not exists objects (
    type text not null,
    id integer not null,
    archived integer not null default 0,
    archived_at text,
    created_at text not null,
    updated_at text not null,
    props text not null,
    primary key (type, id)
);
create index if not exists objects_by_modified on objects (type, archived, updated_at, id);
create index if not exists objects_by_archived_at on objects (type, archived, archived_at);
create table if not exists associations (
    from_type text not null,
    from_id integer not null,
    to_type text not null,
    to_id integer not null,
    type_id integer not null,
    primary key (from_type, from_id, to_type, to_id, type_id)
);
create table if not exists resources (
    kind text not null,
    id text not null,
    seq integer not null,
    archived integer not null default 0,
    doc text not null,
    primary key (kind, id)
);
create index if not exists resources_by_seq on resources (kind, archived, seq);
create table if not exists daily_usage (identity text, day text, count integer, primary key (identity, day));
create table if not exists served_pages (type text primary key, count integer not null)
"""

# Option names are part of the contract: tests and `migrate sandbox reset --option` set them.
DEFAULT_OPTIONS: dict[str, Any] = {
    "ten_secondly_limit": 100,  # 190 for Professional/Enterprise
    "ten_secondly_window": 10.0,  # seconds; tests shorten it
    "daily_limit": 250_000,
    "search_per_second": 4,
    "search_window": 1.0,
    "search_cap": 10_000,  # the real cap; tests lower it
    "tokens": [],  # tokens accepted besides the sandbox's own (each its own identity)
    "bump_when_served": None,  # {"object", "page", "ids", "at"?}: see `app.py`
}

Record = dict[str, Any]


open_state = state_opener(SCHEMA, DEFAULT_OPTIONS)


def options(state: SqliteState) -> dict[str, Any]:
    """Every option at once (defaults overridden by `sandbox_options`): one read per request."""
    with state.connect() as conn:
        rows = conn.execute("select name, value from sandbox_options").fetchall()
    return {**state.defaults, **{r["name"]: json.loads(r["value"]) for r in rows}}


def stamp(value: str | int | float | datetime) -> str:
    """A timestamp as `YYYY-MM-DDTHH:MM:SS.mmmZ`: ISO 8601 (an offset-less value is UTC), epoch
    milliseconds (a number or a digit string) or a datetime.

    Raises:
        ValueError: for anything else.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    else:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now() -> str:
    return stamp(datetime.now(UTC))


def epoch_ms(value: str) -> int:
    """Epoch milliseconds of a stored timestamp."""
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


# -- objects ------------------------------------------------------------------------------------
def _object_row(otype: str, record: Mapping[str, Any]) -> tuple[Any, ...]:
    spec = TYPES[otype]
    created, updated = stamp(record["created_at"]), stamp(record["updated_at"])
    props = {k: v for k, v in record["props"].items() if v is not None}
    for key, value in props.items():
        if not isinstance(value, str):
            raise TypeError(f"{otype} {record['id']}: property {key} must be a string, got {value!r}")
    props |= {spec.created: created, spec.modified: updated, "hs_object_id": str(record["id"])}
    archived_at = record.get("archived_at")
    return (
        otype,
        int(record["id"]),
        1 if record.get("archived") else 0,
        stamp(archived_at) if archived_at else None,
        created,
        updated,
        json.dumps(props, ensure_ascii=False, sort_keys=True),
    )


def put_objects(conn: sqlite3.Connection, otype: str, records: Iterable[Mapping[str, Any]]) -> None:
    """Insert or replace records of one type inside the caller's transaction.

    Each record is `{"id", "created_at", "updated_at", "archived"?, "archived_at"?, "props"}`.

    Raises:
        TypeError: a property value that is not a string (HubSpot stores strings only).
    """
    conn.executemany(
        "insert into objects values (?, ?, ?, ?, ?, ?, ?) on conflict(type, id) do update set "
        "archived = excluded.archived, archived_at = excluded.archived_at, created_at = excluded.created_at, "
        "updated_at = excluded.updated_at, props = excluded.props",
        [_object_row(otype, r) for r in records],
    )


def record(row: sqlite3.Row) -> Record:
    """A stored row as a record dict (the shape `put_objects` takes)."""
    return {
        "id": row["id"],
        "archived": bool(row["archived"]),
        "archived_at": row["archived_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "props": json.loads(row["props"]),
    }


def get_objects(
    conn: sqlite3.Connection, otype: str, ids: Sequence[int], *, archived: bool = False
) -> dict[int, Record]:
    """Records by id (primary key lookups); unknown ids, and ids of the other archived state, are absent."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"select * from objects where type = ? and archived = ? and id in ({marks})",
        [otype, int(archived), *ids],
    )
    return {r["id"]: record(r) for r in rows}


def page_objects(conn: sqlite3.Connection, otype: str, *, archived: bool, after: int, limit: int) -> list[Record]:
    """Up to `limit` records with id >= `after`, by id (keyset paging)."""
    rows = conn.execute(
        "select * from objects where type = ? and archived = ? and id >= ? order by id limit ?",
        (otype, int(archived), after, limit),
    )
    return [record(r) for r in rows]


def touch(conn: sqlite3.Connection, otype: str, ids: Iterable[int], at: str) -> list[int]:
    """Set the last-modified time of live records to `at` (a user editing them); returns the ids changed."""
    changed = []
    for rid, found in get_objects(conn, otype, list(ids)).items():
        put_objects(conn, otype, [{**found, "updated_at": at}])
        changed.append(rid)
    return changed


def next_id(conn: sqlite3.Connection, otype: str, floor: int) -> int:
    row = conn.execute("select max(id) from objects where type = ?", (otype,)).fetchone()
    return max(int(row[0] or 0), floor) + 1


# -- associations -------------------------------------------------------------------------------
def link(conn: sqlite3.Connection, from_type: str, from_id: int, to_id: int, type_ids: Iterable[int]) -> None:
    """Associate two records with the given type ids, writing each inverse as well."""
    rows = []
    for type_id in type_ids:
        kind = ASSOCIATION_TYPES[type_id]
        if kind.from_type != from_type:
            raise ValueError(f"association type {type_id} goes from {kind.from_type}, not {from_type}")
        rows.append((from_type, from_id, kind.to_type, to_id, type_id))
        rows.append((kind.to_type, to_id, from_type, from_id, kind.inverse))
    conn.executemany("insert or ignore into associations values (?, ?, ?, ?, ?)", rows)


def associations(
    conn: sqlite3.Connection, from_type: str, from_ids: Sequence[int], to_type: str
) -> dict[int, list[tuple[int, int]]]:
    """{from id: [(to id, type id), ...]} ordered by to id then type id (primary key lookups)."""
    out: dict[int, list[tuple[int, int]]] = {}
    if not from_ids:
        return out
    marks = ",".join("?" * len(from_ids))
    rows = conn.execute(
        f"select from_id, to_id, type_id from associations where from_type = ? and from_id in ({marks}) "
        f"and to_type = ? order by from_id, to_id, type_id",
        [from_type, *from_ids, to_type],
    )
    for r in rows:
        out.setdefault(r["from_id"], []).append((r["to_id"], r["type_id"]))
    return out


# -- owners, pipelines, files, flows ------------------------------------------------------------
def put_resources(conn: sqlite3.Connection, kind: str, docs: Iterable[Mapping[str, Any]]) -> None:
    """Store resource documents; each needs `id`, and `_seq` (listing order) unless `id` is numeric."""
    conn.executemany(
        "insert into resources values (?, ?, ?, ?, ?) on conflict(kind, id) do update set "
        "seq = excluded.seq, archived = excluded.archived, doc = excluded.doc",
        [
            (
                kind,
                str(d["id"]),
                int(d.get("_seq", d["id"])),
                1 if d.get("archived") else 0,
                json.dumps(d, ensure_ascii=False, sort_keys=True),
            )
            for d in docs
        ],
    )


def resource(conn: sqlite3.Connection, kind: str, rid: str) -> dict[str, Any] | None:
    row = conn.execute("select doc from resources where kind = ? and id = ?", (kind, rid)).fetchone()
    return json.loads(row["doc"]) if row else None


def page_resources(
    conn: sqlite3.Connection,
    kind: str,
    *,
    archived: bool | None,
    after: int,
    limit: int,
    email: str | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` documents with seq >= `after` in seq order (`archived` None: both states;
    `email`: only owners with that address, compared without case)."""
    sql = "select doc from resources where kind = ? and seq >= ?"
    args: list[Any] = [kind, after]
    if archived is not None:
        sql += " and archived = ?"
        args.append(int(archived))
    if email is not None:
        sql += " and lower(json_extract(doc, '$.email')) = lower(?)"
        args.append(email)
    rows = conn.execute(sql + " order by seq limit ?", [*args, limit])
    return [json.loads(r["doc"]) for r in rows]


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A resource as the API shows it: without the emulator's private "_" keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


# -- counters -----------------------------------------------------------------------------------
def count_daily(conn: sqlite3.Connection, identity: str, day: str) -> int:
    """Count one request of `identity` on `day`; return the day's count so far."""
    conn.execute(
        "insert into daily_usage values (?, ?, 1) on conflict(identity, day) do update set count = count + 1",
        (identity, day),
    )
    return int(
        conn.execute("select count from daily_usage where identity = ? and day = ?", (identity, day)).fetchone()[0]
    )


def count_served(conn: sqlite3.Connection, otype: str) -> int:
    """Count one page served for `otype`; return how many have been served."""
    conn.execute("insert into served_pages values (?, 1) on conflict(type) do update set count = count + 1", (otype,))
    return int(conn.execute("select count from served_pages where type = ?", (otype,)).fetchone()[0])


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record, association, resource and counter (options are kept)."""
    for table in ("objects", "associations", "resources", "daily_usage", "served_pages"):
        conn.execute(f"delete from {table}")
