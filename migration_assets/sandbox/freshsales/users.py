"""Users of the emulated account: the API user (admin, holding the sandbox API key) and the people
`seed.seed_users` mirrors from a source system.

Real: every user has a personal API key and calls act as that user (reference section 1); owners
are listed by `GET /selector/owners` under `users` with `display_name`. Our choice: owner items also
carry `email` and `is_active` (inactive users are listed, and cannot own records).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from migration_assets.sandbox.freshsales.store import ADMIN_EMAIL, next_id, now_iso, option


def ensure_admin(conn: sqlite3.Connection) -> int:
    """Create the API user holding the `api_key` option when missing; returns its id."""
    key = str(option(conn, "api_key"))
    row = conn.execute("select id from users where api_key = ?", (key,)).fetchone()
    if row:
        return int(row["id"])
    conn.execute("update users set api_key = null where is_admin = 1 and api_key is not null")
    return create_user(conn, ADMIN_EMAIL, "Sandbox", "Admin", active=True, admin=True, api_key=key)


def create_user(
    conn: sqlite3.Connection,
    email: str,
    first_name: str,
    last_name: str,
    *,
    active: bool = True,
    admin: bool = False,
    api_key: str | None = None,
) -> int:
    """Insert a user; returns its id."""
    user_id = next_id(conn)
    display = f"{first_name} {last_name}".strip() or email
    conn.execute(
        "insert into users(id, email, first_name, last_name, display_name, is_active, is_admin, api_key, created_at)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (user_id, email, first_name, last_name, display, int(active), int(admin), api_key, now_iso(conn)),
    )
    return user_id


def by_key(conn: sqlite3.Connection, api_key: str) -> dict[str, Any] | None:
    """The active user owning `api_key`, or None."""
    row = conn.execute("select * from users where api_key = ? and is_active = 1", (api_key,)).fetchone()
    return dict(row) if row else None


def get_user(conn: sqlite3.Connection, user_id: int) -> dict[str, Any] | None:
    row = conn.execute("select * from users where id = ?", (user_id,)).fetchone()
    return dict(row) if row else None


def owners(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The `users` list of `GET /selector/owners`."""
    rows = conn.execute("select id, display_name, email, is_active from users order by id")
    return [
        {"id": r["id"], "display_name": r["display_name"], "email": r["email"], "is_active": bool(r["is_active"])}
        for r in rows
    ]
