"""SQLite layout of the Dataverse emulator and the record/option helpers on top of it.

Records are JSON documents per (table, id) with a row version taken from one global counter (like
Dataverse's `versionnumber`); `record_keys` indexes alternate-key values so uniqueness and
key-addressed upserts are single lookups.

Connections: each app keeps one SQLite connection per worker thread (`_common.ThreadConnections`): reads run in
a deferred transaction on a WAL snapshot, so they never wait for the writer; writes take the write
lock (`begin immediate`). Reusing connections spares the schema parse and the checkpoint that
opening and closing the last connection of a WAL file costs on every request.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration_assets.sandbox._common import bump_counter, state_opener

SCHEMA = """
create table if not exists sandbox_counters (name text primary key, value integer not null);
create table if not exists meta_entities (logical_name text primary key, body text not null);
create table if not exists meta_relationships (schema_name text primary key, body text not null);
create table if not exists associations (
    relationship text not null, id1 text not null, id2 text not null, primary key (relationship, id1, id2));
create index if not exists associations_by_id2 on associations (relationship, id2);
create index if not exists associations_id1 on associations (id1);
create index if not exists associations_id2 on associations (id2);
create table if not exists records (
    entity text not null, id text not null, data text not null, version integer not null,
    seq integer not null, primary key (entity, id));
create table if not exists record_keys (
    entity text not null, key_name text not null, value text not null, id text not null,
    primary key (entity, key_name, value));
create index if not exists record_keys_by_id on record_keys (entity, id);
create table if not exists tokens (token text primary key, client_id text not null, expires_at real not null);
create table if not exists sandbox_silent_failures (
    id integer primary key autoincrement, entity text, record_id text, reason text, body text, at text);
create table if not exists sandbox_solution_components (
    solution text not null, component_type text not null, name text not null, at text);
create table if not exists sandbox_publishes (id integer primary key autoincrement, parameter_xml text, at text);
create table if not exists sandbox_entitlement (minute integer primary key, count integer not null);
create table if not exists documents (
    path text primary key, id text not null, name text not null, size integer not null,
    mime text not null, created text not null, modified text not null);
create table if not exists upload_sessions (
    id text primary key, path text not null, total integer, received integer not null,
    expires real not null);
create table if not exists upload_owners (session text primary key, client_id text not null);
create index if not exists documents_by_id on documents (id);
create table if not exists sandbox_execution (identity text not null, at real not null, ms real not null);
create index if not exists sandbox_execution_idx on sandbox_execution (identity, at);
"""

# Option defaults that do not depend on the tier (customer_service/custom_table_limit do).
DEFAULTS: dict[str, Any] = {
    "tier": "enterprise",
    "requests_per_window": 6000,
    "window_seconds": 300,
    "execution_ms_per_window": 1_200_000,
    "max_concurrency": 52,
    "max_upload_bytes": 5_242_880,
    "document_max_bytes": 26_214_400,
    "key_activation_seconds": 0,
    "token_expires_in": 3599,
    "sharepoint_site": True,
}

CLIENT_ID = "dv-sandbox-client"
CLIENT_SECRET = "dv-sandbox-secret"
MAX_APP_USERS = 8  # application users the sandbox can have (option `app_users`, 1 by default)


def app_user(n: int) -> tuple[str, str]:
    """(client id, secret) of the sandbox's n-th application user (1: the primary one). Sandbox
    credentials, listed in the system's declaration: they grant nothing outside this machine."""
    return (CLIENT_ID, CLIENT_SECRET) if n == 1 else (f"{CLIENT_ID}-{n}", f"{CLIENT_SECRET}-{n}")


def app_users(options: Options) -> dict[str, str]:
    """{client id: secret} of the application users the options enable (`app_users`, at most 8)."""
    count = max(1, min(int(options.get("app_users") or 1), MAX_APP_USERS))
    return dict(app_user(n) for n in range(1, count + 1))



def new_record_id() -> str:
    """The id of a record its creator did not give one: sequential, as the platform's are.

    Dataverse hands out sequential GUIDs so that inserts append to its tables' indexes (Microsoft's
    advice is to let the platform assign ids for that reason). Here the creation millisecond comes
    first and random bits after (the UUID version 7 layout), so a later record's id sorts later as
    text, the order this store's indexes keep; random ids put each insert on a random index page
    (1M inserts in batches of 100 into these tables: 3.5x slower, and reads by key 1.7x)."""
    value = time.time_ns() // 1_000_000 << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76 | 0b11 << 62) | 0x7 << 76 | 0b10 << 62  # version 7, RFC 4122 variant
    return str(uuid.UUID(int=value))

@dataclass(frozen=True)
class Options:
    """Sandbox options as read at the start of one request."""

    values: Mapping[str, Any]

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return DEFAULTS.get(name) if value is None else value

    @property
    def tier(self) -> str:
        return str(self.get("tier"))

    @property
    def customer_service(self) -> bool:
        value = self.values.get("customer_service")
        return self.tier == "enterprise" if value is None else bool(value)

    @property
    def custom_table_limit(self) -> int | None:
        if "custom_table_limit" in self.values:
            return self.values["custom_table_limit"]
        return None if self.tier == "enterprise" else 15


open_state = state_opener(SCHEMA, DEFAULTS)


def read_options(conn: sqlite3.Connection) -> Options:
    rows = conn.execute("select name, value from sandbox_options").fetchall()
    return Options({r["name"]: json.loads(r["value"]) for r in rows})


def next_counter(conn: sqlite3.Connection, name: str) -> int:
    """Increment and return a named counter (row versions, record order)."""
    return bump_counter(conn, name, table="sandbox_counters")


def utc_now() -> str:
    """Current UTC time the way Dataverse returns DateTime values."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_record(conn: sqlite3.Connection, entity: str, record_id: str) -> tuple[dict[str, Any], int] | None:
    row = conn.execute(
        "select data, version from records where entity = ? and id = ?", (entity, record_id.lower())
    ).fetchone()
    return (json.loads(row["data"]), int(row["version"])) if row else None


def all_records(conn: sqlite3.Connection, entity: str) -> list[tuple[dict[str, Any], int]]:
    rows = conn.execute("select data, version from records where entity = ? order by seq", (entity,))
    return [(json.loads(r["data"]), int(r["version"])) for r in rows]


def put_record(conn: sqlite3.Connection, entity: str, record_id: str, data: dict[str, Any]) -> int:
    """Insert or replace a record with a fresh row version; returns the version."""
    version = next_counter(conn, "row")
    data["versionnumber"] = version
    conn.execute(
        "insert into records values (?, ?, ?, ?, ?) on conflict(entity, id) do update set "
        "data = excluded.data, version = excluded.version",
        (entity, record_id, json.dumps(data), version, version),
    )
    return version


def delete_record(conn: sqlite3.Connection, entity: str, record_id: str) -> None:
    """Delete a record, its key index rows and its many-to-many associations (real: cascade)."""
    conn.execute("delete from records where entity = ? and id = ?", (entity, record_id))
    conn.execute("delete from record_keys where entity = ? and id = ?", (entity, record_id))
    conn.execute("delete from associations where id1 = ? or id2 = ?", (record_id, record_id))


def related_ids(conn: sqlite3.Connection, relationship: str, side: int, record_id: str) -> list[str]:
    """Ids associated with `record_id` in a many-to-many relationship (`side` 1: it is Entity1)."""
    mine, other = ("id1", "id2") if side == 1 else ("id2", "id1")
    rows = conn.execute(
        f"select {other} as other from associations where relationship = ? and {mine} = ? order by {other}",
        (relationship, record_id),
    )
    return [r["other"] for r in rows]


def key_owner(conn: sqlite3.Connection, entity: str, key_name: str, value: str) -> str | None:
    row = conn.execute(
        "select id from record_keys where entity = ? and key_name = ? and value = ?", (entity, key_name, value)
    ).fetchone()
    return row["id"] if row else None


def set_record_keys(conn: sqlite3.Connection, entity: str, record_id: str, values: dict[str, str]) -> None:
    conn.execute("delete from record_keys where entity = ? and id = ?", (entity, record_id))
    conn.executemany(
        "insert into record_keys values (?, ?, ?, ?)", [(entity, k, v, record_id) for k, v in values.items()]
    )


def count_entitlement(conn: sqlite3.Connection, operations: int) -> None:
    """Add operations to the 24 h entitlement counter (per-minute buckets)."""
    minute = int(time.time() // 60)
    conn.execute(
        "insert into sandbox_entitlement values (?, ?) on conflict(minute) do update set count = count + ?",
        (minute, operations, operations),
    )


def entitlement_used(conn: sqlite3.Connection) -> int:
    since = int(time.time() // 60) - 24 * 60
    row = conn.execute("select coalesce(sum(count), 0) as n from sandbox_entitlement where minute > ?", (since,))
    return int(row.fetchone()["n"])
