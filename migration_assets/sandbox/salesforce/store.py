"""SQLite storage of the Salesforce emulator: records, keys, custom schema, jobs, sessions, usage.

Every record is one row `(id, sobject, seq, deleted, data)` where `data` is the JSON of its field
values by canonical API name. `record_keys` indexes the values of external-id / unique fields so
upserts and relationship lookups do not scan. Blobs (ContentVersion bytes) live in a folder next to
the SQLite file, `<stem>_files/`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from migration_assets.sandbox._common import bump_counter, state_opener

SCHEMA = """
create table if not exists records (
    id text primary key, sobject text not null, seq integer not null,
    deleted integer not null default 0, data text not null);
create index if not exists records_by_object on records (sobject, deleted, seq);
create table if not exists record_keys (sobject text not null, field text not null, value text not null,
    id text not null);
create index if not exists record_keys_lookup on record_keys (sobject, field, value);
create index if not exists record_keys_by_id on record_keys (id);
create table if not exists counters (name text primary key, value integer not null);
create table if not exists sessions (token text primary key, issued_at real not null);
create table if not exists usage (name text primary key, value integer not null);
create table if not exists custom_objects (name text primary key, id text not null, definition text not null);
create table if not exists custom_fields (id text primary key, sobject text not null, name text not null,
    definition text not null, unique (sobject, name));
create table if not exists picklist_overrides (sobject text not null, field text not null, vals text not null,
    primary key (sobject, field));
create table if not exists bulk_jobs (id text primary key, seq integer not null, info text not null,
    csv text, polls integer not null default 0);
create table if not exists bulk_results (job_id text not null, seq integer not null, kind text not null,
    sf_id text, created integer, error text, row text not null);
create index if not exists bulk_results_by_job on bulk_results (job_id, kind, seq);
create table if not exists query_cursors (id text primary key, payload text not null);
"""

# Option names are part of the contract shared with the connector helper and the lead's tests.
DEFAULT_OPTIONS: dict[str, Any] = {
    "daily_api_limit": 15000,
    "api_usage_start": 0,
    "api_usage_reset": None,
    "bulk_batch_records": 10000,
    "bulk_poll_until_complete": 1,
    "max_file_bytes": 26214400,
    "query_batch_size": 2000,
    "set_audit_fields": False,
    "session_seconds": 7200,
    "rate_limit": None,
    "rate_window_seconds": 1.0,
}


open_state = state_opener(SCHEMA, DEFAULT_OPTIONS)


def blob_dir(state_path: Path) -> Path:
    """The folder holding ContentVersion bytes for the state file `state_path`."""
    return Path(state_path).parent / f"{Path(state_path).stem}_files"


def option(conn: sqlite3.Connection, name: str) -> Any:
    """Read an option inside an open transaction (falls back to DEFAULT_OPTIONS)."""
    row = conn.execute("select value from sandbox_options where name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row else DEFAULT_OPTIONS.get(name)


def now_iso() -> str:
    """Current time in the format the API returns: `2024-06-18T22:51:36.000+0000`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{datetime.now(UTC).microsecond // 1000:03d}+0000"


def get_record(conn: sqlite3.Connection, record_id: str) -> tuple[str, dict[str, Any], bool] | None:
    """(sobject, values, deleted) of a record by 18-character id, or None."""
    row = conn.execute("select sobject, data, deleted from records where id = ?", (record_id,)).fetchone()
    return (row["sobject"], json.loads(row["data"]), bool(row["deleted"])) if row else None


def live_records(conn: sqlite3.Connection, sobject: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    """Every record of `sobject` in creation order (deleted ones too when `deleted`)."""
    sql = "select data from records where sobject = ?" + ("" if deleted else " and deleted = 0")
    return [json.loads(r["data"]) for r in conn.execute(sql + " order by seq", (sobject,))]


def put_record(conn: sqlite3.Connection, sobject: str, values: dict[str, Any], key_fields: Iterable[str]) -> None:
    """Insert or replace a live record and refresh its key index rows."""
    record_id = values["Id"]
    seq = conn.execute("select seq from records where id = ?", (record_id,)).fetchone()
    if seq is None:
        seq_value = next_seq(conn)
        conn.execute(
            "insert into records(id, sobject, seq, deleted, data) values (?, ?, ?, 0, ?)",
            (record_id, sobject, seq_value, json.dumps(values)),
        )
    else:
        conn.execute("update records set data = ?, deleted = 0 where id = ?", (json.dumps(values), record_id))
    conn.execute("delete from record_keys where id = ?", (record_id,))
    conn.executemany(
        "insert into record_keys(sobject, field, value, id) values (?, ?, ?, ?)",
        [
            (sobject, name.lower(), key_value(values[name]), record_id)
            for name in key_fields
            if values.get(name) is not None
        ],
    )


def next_seq(conn: sqlite3.Connection) -> int:
    """The creation-order number of a new record (a counter, so inserts never scan the table)."""
    return bump_counter(conn, "record_seq")


def key_value(value: Any) -> str:
    """Normalised text of an external-id value (external ids match case-insensitively)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).lower()


def find_by_key(conn: sqlite3.Connection, sobject: str, field: str, value: Any) -> list[str]:
    """Ids of live `sobject` records whose key field `field` equals `value`."""
    rows = conn.execute(
        "select id from record_keys where sobject = ? and field = ? and value = ? order by id",
        (sobject, field.lower(), key_value(value)),
    )
    return [r["id"] for r in rows]


def mark_deleted(conn: sqlite3.Connection, record_id: str, *, hard: bool = False) -> None:
    """Soft-delete (recycle bin) or hard-delete a record and drop its key rows."""
    conn.execute("delete from record_keys where id = ?", (record_id,))
    if hard:
        conn.execute("delete from records where id = ?", (record_id,))
    else:
        conn.execute("update records set deleted = 1 where id = ?", (record_id,))
