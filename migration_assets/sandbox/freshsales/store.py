"""SQLite storage of the Freshsales emulator: records with an index of key values, users, custom
fields, pipelines and stages, bulk jobs and document bytes.

Every record is one row `(id, entity, seq, data)` where `data` is the JSON of its stored values.
`record_keys` holds `(entity, field, value, id)` rows for every value a request may look a record up
by (emails, account names, owners, targetables, task status, appointment end, every custom field),
so reads by key, unique checks and filtered searches are index lookups, never a scan of `records`.
Key values are kept lower-cased: lookups are case-insensitive (our choice).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from migration_assets.sandbox._common import bump_counter, state_opener

SCHEMA = """
create table if not exists records (id integer primary key, entity text not null, seq integer not null,
    touched integer not null, data text not null);
create index if not exists records_by_entity on records (entity, seq);
create index if not exists records_by_touch on records (entity, touched);
create table if not exists record_keys (entity text not null, field text not null, value text not null,
    id integer not null);
create index if not exists record_keys_lookup on record_keys (entity, field, value);
create index if not exists record_keys_by_id on record_keys (id);
create table if not exists counters (name text primary key, value integer not null);
create table if not exists users (id integer primary key, email text not null, first_name text,
    last_name text, display_name text not null, is_active integer not null, is_admin integer not null,
    api_key text unique, created_at text not null);
create index if not exists users_by_email on users (email collate nocase);
create table if not exists custom_fields (id integer primary key, entity text not null, name text not null,
    label text not null, type text not null, choices text not null, is_unique integer not null,
    required integer not null, position integer not null, unique (entity, name));
create table if not exists pipelines (id integer primary key, name text not null unique,
    is_default integer not null, position integer not null);
create table if not exists stages (id integer primary key, pipeline_id integer not null, name text not null,
    position integer not null, unique (pipeline_id, name));
create table if not exists jobs (id integer primary key, entity text not null, payload text not null,
    status text not null, polls integer not null default 0, result text, user_id integer not null,
    created_at text not null);
create table if not exists blobs (id integer primary key, content blob not null);
"""

SANDBOX_API_KEY = "fs-sandbox-key"
ADMIN_EMAIL = "admin@freshsales.sandbox"

# Option names and defaults (read at request time; set by `seed.reset(path, **options)`).
DEFAULT_OPTIONS: dict[str, Any] = {
    "plan": "garden",
    "hourly_limit": None,  # overrides the plan's hourly limit
    "minute_limit": None,  # overrides the per-minute cap of paid plans
    "hourly_window_seconds": 3600,
    "minute_window_seconds": 60,
    "bulk_polls_until_done": 2,  # the job is pending on earlier polls and applied on this one (0: at once)
    "max_file_bytes": None,  # overrides the per-file limit (20 MB)
    "storage_limit_bytes": None,  # overrides the plan's document storage
    "utc_offset": "-04:00",  # the account's time zone offset used in every timestamp returned
    "api_key": SANDBOX_API_KEY,
}

ID_BASE = 70_000_100_000  # record and user ids; fixed selector ids sit below this


open_state = state_opener(SCHEMA, DEFAULT_OPTIONS)


def options(conn: sqlite3.Connection) -> dict[str, Any]:
    """Every option (stored values over DEFAULT_OPTIONS), read in the open transaction."""
    stored = {r["name"]: json.loads(r["value"]) for r in conn.execute("select name, value from sandbox_options")}
    return {**DEFAULT_OPTIONS, **stored}


def option(conn: sqlite3.Connection, name: str) -> Any:
    """One option inside an open transaction (falls back to DEFAULT_OPTIONS)."""
    row = conn.execute("select value from sandbox_options where name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row else DEFAULT_OPTIONS.get(name)


def account_zone(conn: sqlite3.Connection) -> timezone:
    """The account's fixed UTC offset (option `utc_offset`, e.g. "-04:00")."""
    text = str(option(conn, "utc_offset") or "+00:00")
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def iso(moment: datetime, zone: timezone) -> str:
    """A timestamp as the API returns it: `2022-08-09T03:22:12-04:00`."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def now_iso(conn: sqlite3.Connection) -> str:
    """The current time in the account's offset."""
    return iso(datetime.now(UTC), account_zone(conn))


def next_id(conn: sqlite3.Connection) -> int:
    """A new large integer id (records, users, fields, pipelines, jobs share one counter)."""
    return bump_counter(conn, "id", start=ID_BASE)


def next_seq(conn: sqlite3.Connection) -> int:
    return bump_counter(conn, "seq")


def add_counter(conn: sqlite3.Connection, name: str, delta: int) -> int:
    """Add `delta` to a named counter (e.g. storage bytes) and return the new value."""
    return bump_counter(conn, name, by=delta)


def counter(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("select value from counters where name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


# -- records ----------------------------------------------------------------------------------
def key_text(value: Any) -> str:
    """The indexed form of a value: integral floats as integers, text lower-cased."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def get_record(conn: sqlite3.Connection, entity: str, record_id: int) -> dict[str, Any] | None:
    """The stored values of one record (with `id`), or None."""
    row = conn.execute("select data from records where id = ? and entity = ?", (record_id, entity)).fetchone()
    return json.loads(row["data"]) if row else None


def get_records(conn: sqlite3.Connection, entity: str, ids: Iterable[int]) -> list[dict[str, Any]]:
    """Stored records by id, in creation order (missing ids are skipped)."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"select data from records where entity = ? and id in ({marks}) order by seq", (entity, *chunk)
        )
        out += [json.loads(r["data"]) for r in rows]
    return out


def put_record(
    conn: sqlite3.Connection, entity: str, values: dict[str, Any], keys: Mapping[str, Iterable[Any]]
) -> None:
    """Insert or replace a record and its key rows.

    Args:
        conn: the open transaction.
        entity: plural resource name ("contacts").
        values: every stored value, `id` included.
        keys: index field -> values to index for it.
    """
    record_id = int(values["id"])
    exists = conn.execute("select 1 from records where id = ?", (record_id,)).fetchone()
    touched = next_seq(conn)  # write order: lists sorted by updated_at follow it
    if exists:
        conn.execute("update records set data = ?, touched = ? where id = ?", (json.dumps(values), touched, record_id))
    else:
        conn.execute(
            "insert into records(id, entity, seq, touched, data) values (?, ?, ?, ?, ?)",
            (record_id, entity, touched, touched, json.dumps(values)),
        )
    conn.execute("delete from record_keys where id = ?", (record_id,))
    conn.executemany(
        "insert into record_keys(entity, field, value, id) values (?, ?, ?, ?)",
        [
            (entity, field, key_text(v), record_id)
            for field, vals in keys.items()
            for v in vals
            if v is not None and key_text(v) != ""
        ],
    )


def delete_record(conn: sqlite3.Connection, record_id: int) -> None:
    conn.execute("delete from record_keys where id = ?", (record_id,))
    conn.execute("delete from records where id = ?", (record_id,))


FIND_SQL = "select id from record_keys where entity = ? and field = ? and value = ? order by id"


def find_ids(conn: sqlite3.Connection, entity: str, field: str, value: Any) -> list[int]:
    """Ids of `entity` records whose indexed `field` equals `value` (case-insensitive)."""
    return [int(r["id"]) for r in conn.execute(FIND_SQL, (entity, field, key_text(value)))]


def page_query(
    entity: str, filters: list[tuple[str, str, list[str]]], *, order: str = "seq", descending: bool = True
) -> tuple[str, str, list[Any]]:
    """(count SQL, page SQL without limit/offset values, parameters) of `page_ids`: one join on the key
    index per filter, so a filter never decodes a record."""
    assert order in ("seq", "touched")
    joins, params = [], []
    for n, (field, operator, values) in enumerate(filters):
        alias = f"k{n}"
        clause = f"join record_keys {alias} on {alias}.id = r.id and {alias}.entity = r.entity and {alias}.field = ?"
        params.append(field)
        if operator == "in":
            clause += f" and {alias}.value in ({','.join('?' * len(values))})"
            params += [key_text(v) for v in values]
        joins.append(clause)
    base = f"from records r {' '.join(joins)} where r.entity = ?"
    params.append(entity)
    direction = "desc" if descending else "asc"
    page = f"select distinct r.id, r.{order} {base} order by r.{order} {direction} limit ? offset ?"
    return f"select count(distinct r.id) {base}", page, params


def page_ids(
    conn: sqlite3.Connection,
    entity: str,
    filters: list[tuple[str, str, list[str]]],
    page: int,
    per_page: int,
    *,
    order: str = "seq",
    descending: bool = True,
) -> tuple[list[int], int]:
    """One page of record ids matching every filter, and the total.

    Args:
        filters: (field, operator, values): operator "in" (value in values) or "present" (any value).
        page: 1-based page.
        per_page: records per page.
        order: "seq" (creation order) or "touched" (last write order).
        descending: newest first.

    Returns:
        (ids of the page, total matching).
    """
    count_sql, page_sql, params = page_query(entity, filters, order=order, descending=descending)
    total = conn.execute(count_sql, params).fetchone()[0]
    rows = conn.execute(page_sql, (*params, per_page, (page - 1) * per_page))
    return [int(r["id"]) for r in rows], int(total)


def page_where(
    conn: sqlite3.Connection, entity: str, field: str, comparison: str, value: str, page: int, per_page: int
) -> tuple[list[int], int]:
    """One page of ids whose indexed `field` compares (`<`, `>=`, `=`) with `value`, and the total."""
    assert comparison in ("<", ">=", "=")
    base = f"from record_keys where entity = ? and field = ? and value {comparison} ?"
    params = (entity, field, key_text(value))
    total = conn.execute(f"select count(*) {base}", params).fetchone()[0]
    rows = conn.execute(
        f"select id {base} order by value, id limit ? offset ?", (*params, per_page, (page - 1) * per_page)
    )
    return [int(r["id"]) for r in rows], int(total)


def live_records(conn: sqlite3.Connection, entity: str) -> list[dict[str, Any]]:
    """Every record of `entity` in creation order (snapshots and tests)."""
    return [
        json.loads(r["data"]) for r in conn.execute("select data from records where entity = ? order by seq", (entity,))
    ]
