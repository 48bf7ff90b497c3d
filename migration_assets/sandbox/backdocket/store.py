"""SQLite storage of the BackDocket emulator: JSON documents, issued tokens and the options.

Every record of every resource is one row `(resource, id, updated_at, deleted_at, doc)`; `doc` is the
JSON the API returns. Keys starting with "_" inside `doc` are private to the emulator (for example
`_content`, the seed of a document's bytes) and are stripped before any response. The `updated_at`
and `deleted_at` columns are normalised to UTC `YYYY-MM-DDTHH:MM:SSZ`, so text order is time order
and lists page by keyset on the index `(resource, updated_at, id)`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from migration_assets.sandbox._common import state_opener
from migration_assets.sandbox._documents import live_query, records_schema
from migration_assets.sandbox.backdocket.resources import ID_PREFIX

SCHEMA = (
    records_schema("text")
    + "create table if not exists tokens (token text primary key, client_id text not null, expires_at real not null);"
)

CLIENT_ID = "bd-sandbox-client"
CLIENT_SECRET = "bd-sandbox-secret"

# Option names are part of the contract: `seed.reset(path, **options)` sets them, every request
# reads them. `clients` maps client id -> secret (several clients = several rate-limit identities).
DEFAULT_OPTIONS: dict[str, Any] = {
    "rate_limit": 120,
    "rate_window_seconds": 60,
    "token_lifetime_seconds": 3600,
    "clients": {CLIENT_ID: CLIENT_SECRET},
}


open_state = state_opener(SCHEMA, DEFAULT_OPTIONS)


def options(conn: sqlite3.Connection) -> dict[str, Any]:
    """Every option (defaults overlaid by `sandbox_options`), read in the caller's transaction."""
    stored = {r["name"]: json.loads(r["value"]) for r in conn.execute("select name, value from sandbox_options")}
    return {**DEFAULT_OPTIONS, **stored}


def page(
    conn: sqlite3.Connection,
    resource: str,
    *,
    limit: int,
    updated_since: str | None = None,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` live documents ordered by (updated_at, id), strictly after the keyset `after`
    and with updated_at at or after `updated_since` (both normalised UTC Z text)."""
    sql, args = live_query(resource, updated_since, [("(updated_at, id) > (?, ?)", after)] if after else [])
    sql += " order by updated_at, id limit ?"
    args.append(limit)
    return [json.loads(row["doc"]) for row in conn.execute(sql, args)]


def next_number(conn: sqlite3.Connection, resource: str) -> int:
    """The number a new record of `resource` gets: one more than the highest ever used."""
    start = len(ID_PREFIX[resource]) + 1
    row = conn.execute(
        "select coalesce(max(cast(substr(id, ?) as integer)), 0) as top from records where resource = ?",
        (start, resource),
    ).fetchone()
    return int(row["top"]) + 1


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record and token (options are kept)."""
    conn.execute("delete from records")
    conn.execute("delete from tokens")
