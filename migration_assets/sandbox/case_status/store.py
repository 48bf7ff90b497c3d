"""SQLite storage of the Case Status emulator: the shared document table (`sandbox/_documents.py`,
integer ids) plus the options. A private key such as `_blob: "missing"` marks a file whose bytes
are gone; it is stripped before any response.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from typing import Any

from migration_assets.sandbox._common import state_opener
from migration_assets.sandbox._documents import live_query, public, records_schema

# bumped by every change of a record, in the changing transaction: a reader's snapshot says whether
# a listing order it kept is still the order (writes to other tables, rate counts, do not count);
# no row until the first record, so that an unseeded sandbox stays empty
_BUMP = (
    "update records_version set value = value + 1; "
    "insert into records_version select 1, 1 where not exists (select 1 from records_version);"
)
SCHEMA = (
    records_schema("integer").rstrip().rstrip(";")
    + ";\ncreate table if not exists records_version (id integer primary key check (id = 1), value integer not null);\n"
    + "".join(
        f"create trigger if not exists records_version_{event} after {event} on records begin {_BUMP} end;\n"
        for event in ("insert", "update", "delete")
    )
)

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
    orders: dict | None = None,
) -> list[str]:
    """One page of live documents ordered by (updated_at, id), `number` counting from 1: the stored
    JSON text of each (not decoded).

    With `orders` (a dict kept with the connection, `SqliteState.memo`), the listing's order of row
    ids is kept there and a page is a slice of it, so every page costs the same; an OFFSET query
    would step over every earlier entry of the index (15 ms for page 2,580 of a 258,000-record
    listing against 0.2 ms for the first). The order is rebuilt whenever a record changed since
    (`records_version`, bumped by triggers in every writer's transaction and read in the same
    snapshot as the order), so the answers are exactly the OFFSET query's.
    """
    if orders is None:
        sql, args = _page_query(resource, number, size, updated_since, case_id)
        return [row["doc"] for row in conn.execute(sql, args)]
    ids = _order(conn, orders, resource, updated_since, case_id)[(number - 1) * size : number * size]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    docs = dict(conn.execute(f"select rowid, doc from records where rowid in ({marks})", list(ids)).fetchall())
    return [docs[i] for i in ids]


ORDERS_KEPT = 8  # listings (resource and filters) whose order a connection keeps


def _order(
    conn: sqlite3.Connection, orders: dict, resource: str, updated_since: str | None, case_id: str | None
) -> array:
    """The row ids of the listing in page order, from `orders` while no record changed since."""
    version = conn.execute("select coalesce((select value from records_version), 0)").fetchone()[0]
    key = (resource, updated_since, case_id)
    kept = orders.pop(key, None)
    if kept is None or kept[0] != version:
        sql, args = live_query(resource, updated_since, _by_case(case_id), column="rowid")
        kept = (version, array("q", (row[0] for row in conn.execute(sql + " order by updated_at, id", args))))
    orders[key] = kept  # the most recent last
    while len(orders) > ORDERS_KEPT:
        orders.pop(next(iter(orders)))
    return kept[1]


def public_array(docs: list[str]) -> bytes:
    """The JSON array of `docs` (stored JSON texts) as the API shows them: a document that may hold
    private "_" keys is decoded and stripped, the others are passed through as stored."""
    parts = [json.dumps(public(json.loads(d)), ensure_ascii=False) if '"_' in d else d for d in docs]
    return ("[" + ",".join(parts) + "]").encode()


def _page_query(
    resource: str, number: int, size: int, updated_since: str | None, case_id: str | None
) -> tuple[str, list[Any]]:
    sql, args = live_query(resource, updated_since, _by_case(case_id))
    sql += " order by updated_at, id limit ? offset ?"
    args += [size, (number - 1) * size]
    return sql, args


def _by_case(case_id: str | None) -> list[tuple[str, list[Any]]]:
    # case_id compared as text: the real files API returns it as a string, the others as a number
    return [("cast(json_extract(doc, '$.case_id') as text) = ?", [case_id])] if case_id is not None else []


def next_id(conn: sqlite3.Connection, resource: str) -> int:
    """The id a new record of `resource` gets: one more than the highest ever used."""
    row = conn.execute("select coalesce(max(id), 0) as top from records where resource = ?", (resource,)).fetchone()
    return int(row["top"]) + 1


def clear(conn: sqlite3.Connection) -> None:
    """Remove every record (options are kept)."""
    conn.execute("delete from records")
