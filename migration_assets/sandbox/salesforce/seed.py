"""Admin functions for tests and the CLI: reset, seed users and records, snapshot, usage reset.

None of these are HTTP endpoints; they write the SQLite file directly, so they work while an app
(in process or under uvicorn) is serving the same file.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from migration_assets.sandbox._common import SharedWindow
from migration_assets.sandbox.salesforce import limits
from migration_assets.sandbox.salesforce.describe import load_schema
from migration_assets.sandbox.salesforce.ids import next_id
from migration_assets.sandbox.salesforce.records import INTEGRATION_USERNAME, Ctx, insert, save
from migration_assets.sandbox.salesforce.store import blob_dir, find_by_key, live_records, now_iso, open_state
from migration_assets.systems import Person

# Fields that change on every write or run; left out of snapshots so before/after compare equal.
VOLATILE = {"CreatedDate", "LastModifiedDate", "SystemModstamp", "LastModifiedById", "ClosedDate"}

_PROFILES = ("System Administrator", "Standard User")


def ensure_org(conn: sqlite3.Connection) -> str:
    """Create the org's profiles and the integration (API) user when missing.

    Returns:
        The integration user's id.
    """
    found = find_by_key(conn, "User", "Username", INTEGRATION_USERNAME)
    if found:
        return found[0]
    schema = load_schema(conn)
    user_id = next_id(conn, schema["User"].key_prefix)
    ctx = Ctx(conn, schema, user_id, Path("."))
    profile_ids = []
    for name in _PROFILES:
        profile = {"Id": next_id(conn, schema["Profile"].key_prefix), "Name": name, **_system(user_id)}
        save(ctx, schema["Profile"], profile)
        profile_ids.append(profile["Id"])
    user = {
        "Id": user_id,
        "Username": INTEGRATION_USERNAME,
        "FirstName": "Integration",
        "LastName": "User",
        "Name": "Integration User",
        "Email": "integration@example.com",
        "Alias": "integ",
        "ProfileId": profile_ids[0],
        "IsActive": True,
        "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
        **_system(user_id),
    }
    save(ctx, schema["User"], user)
    return user_id


def _system(user_id: str) -> dict[str, Any]:
    now = now_iso()
    return {
        "IsDeleted": False,
        "CreatedDate": now,
        "CreatedById": user_id,
        "LastModifiedDate": now,
        "LastModifiedById": user_id,
        "SystemModstamp": now,
    }


def _ctx(conn: sqlite3.Connection, state_path: Path) -> Ctx:
    return Ctx(conn, load_schema(conn), ensure_org(conn), blob_dir(state_path))


def reset(state_path: Path, **options: Any) -> None:
    """Empty the org (records, custom schema, jobs, sessions, usage, files) and set `options`.

    Args:
        state_path: the emulator's SQLite file.
        **options: option values to store (e.g. daily_api_limit=50).
    """
    state = open_state(state_path)
    SharedWindow(state, limits.WINDOW_NAME)  # creates its table, so the delete below always works
    with state.connect() as conn:
        for table in (
            "sandbox_rate_events",
            "records",
            "record_keys",
            "counters",
            "sessions",
            "usage",
            "custom_objects",
            "custom_fields",
            "picklist_overrides",
            "bulk_jobs",
            "bulk_results",
            "query_cursors",
            "sandbox_options",
        ):
            conn.execute(f"delete from {table}")
        ensure_org(conn)
        limits.reset(conn)
    shutil.rmtree(blob_dir(state_path), ignore_errors=True)
    if options:
        state.set_options(options)


def seed_user_rows(state_path: Path, users: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create active users (Username, Email, FirstName, LastName, IsActive; the rest defaulted).

    Returns:
        The new user ids, in order.
    """
    with open_state(state_path).connect() as conn:
        ctx = _ctx(conn, state_path)
        profile = [r["Id"] for r in live_records(conn, "Profile")]
        ids = []
        for user in users:
            row = {
                "Alias": str(user.get("LastName", "user"))[:8],
                "ProfileId": profile[-1],
                "TimeZoneSidKey": "GMT",
                "LocaleSidKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US",
            } | dict(user)
            ids.append(insert(ctx, ctx.obj("User"), row))
    return ids


def seed_users(state_path: Path, people: Iterable[Person]) -> list[str]:
    """The seeding hook: one User per person (Username is the lower-cased email).

    Returns:
        The new user ids, in order.
    """
    rows = [
        {
            "Username": p.email.lower(),
            "Email": p.email,
            "FirstName": p.first_name,
            "LastName": p.last_name,
            "IsActive": p.active,
        }
        for p in people
    ]
    return seed_user_rows(state_path, rows)


def seed_records(state_path: Path, sobject: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Insert records with the same validation as the API.

    Returns:
        The new record ids, in order.

    Raises:
        SfError: when a row breaks a validation rule (nothing is saved).
    """
    with open_state(state_path).connect() as conn:
        ctx = _ctx(conn, state_path)
        return [insert(ctx, ctx.obj(sobject), dict(row)) for row in rows]


def snapshot(state_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every live record by object, sorted by Id, without volatile fields."""
    with open_state(state_path).connect() as conn:
        ensure_org(conn)
        names = [r[0] for r in conn.execute("select distinct sobject from records where deleted = 0")]
        return {
            name: sorted(
                ({k: v for k, v in rec.items() if k not in VOLATILE} for rec in live_records(conn, name)),
                key=lambda r: r["Id"],
            )
            for name in sorted(names)
        }


def reset_usage(state_path: Path) -> None:
    """Start a new API "day": usage counter to zero, `api_usage_start` to 0, reset time recorded."""
    state = open_state(state_path)
    with state.connect() as conn:
        limits.reset(conn)
    state.set_options({"api_usage_start": 0, "api_usage_reset": now_iso()})


def expire_sessions(state_path: Path) -> None:
    """Invalidate every access token (the next data call gets 401 INVALID_SESSION_ID)."""
    with open_state(state_path).connect() as conn:
        conn.execute("delete from sessions")
