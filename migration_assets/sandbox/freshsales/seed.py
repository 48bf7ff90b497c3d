"""Seeding hooks and admin functions of the Freshsales sandbox (tests, the CLI, the demo).

None of these are HTTP endpoints; they write the SQLite file directly, so they work while an app
(in process or under uvicorn) serves the same file.

Hooks (see migration_assets.systems):
    reset(state_path, **options) -> None
    seed_users(state_path, people: list[Person]) -> list[str]
    apply_field_plan(state_path, plan) -> list[str]     (the admin's schema setup, see admin.py; the
                                                          declaration's admin_schema_hook)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from migration_assets.sandbox.freshsales import admin, records, schema
from migration_assets.sandbox.freshsales.limits import Meter, limits_of
from migration_assets.sandbox.freshsales.model import ENTITIES
from migration_assets.sandbox.freshsales.store import DEFAULT_OPTIONS, live_records, open_state, options
from migration_assets.sandbox.freshsales.users import create_user, ensure_admin
from migration_assets.systems import Person

FAULT_OPTIONS = ("faults", "faults_seed", "faults_retry_after")
_TABLES = ("records", "record_keys", "counters", "users", "custom_fields", "pipelines", "stages", "jobs", "blobs")
# Values that change on every write; left out of snapshots so before/after compare equal.
VOLATILE = frozenset({"updated_at"})


def reset(state_path: Path, **opts: Any) -> None:
    """Empty the account (records, users, fields, pipelines, jobs, files, usage) and set `opts`.

    Args:
        state_path: the emulator's SQLite file.
        **opts: options (see store.DEFAULT_OPTIONS and FAULT_OPTIONS), e.g. plan="estate",
            hourly_limit=50, hourly_window_seconds=2, bulk_polls_until_done=1, max_file_bytes=1024.

    Raises:
        ValueError: an unknown option or plan.
    """
    unknown = sorted(set(opts) - set(DEFAULT_OPTIONS) - set(FAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} (known: {', '.join([*DEFAULT_OPTIONS, *FAULT_OPTIONS])})")
    limits_of({**DEFAULT_OPTIONS, **opts})
    state = open_state(state_path)
    Meter(state)  # creates the usage tables
    with state.connect() as conn:
        for table in (*_TABLES, "sandbox_options", "sandbox_rate_events"):
            conn.execute(f"delete from {table}")
        conn.execute("create table if not exists sandbox_faults (kind text primary key, count integer)")
        conn.execute("delete from sandbox_faults")
    if opts:
        state.set_options(opts)
    with state.connect() as conn:
        ensure_admin(conn)
        schema.ensure_defaults(conn)


def seed_users(state_path: Path, people: Sequence[Person]) -> list[str]:
    """Create a user per person (email, display name from first and last name, active flag).

    Returns:
        The new user ids, in order.
    """
    with open_state(state_path).connect() as conn:
        ensure_admin(conn)
        return [str(create_user(conn, p.email, p.first_name, p.last_name, active=p.active)) for p in people]


def apply_field_plan(state_path: Path, plan: Any) -> list[str]:
    """Apply a schema setup plan as the admin would in the UI (custom fields with label, type,
    choices and unique flag; choices added to dropdowns; pipelines and stages).

    Args:
        state_path: the emulator's SQLite file.
        plan: the connector's SchemaPlan, a `{"to_create": [...]}` mapping or a list of items
            (formats in admin.py).

    Returns:
        One line per change made (empty when everything existed).

    Raises:
        ValueError: an item that cannot be applied (nothing is changed then).
    """
    with open_state(state_path).connect() as conn:
        return admin.apply_items(conn, admin.plan_items(plan))


def reset_usage(state_path: Path) -> None:
    """Start a new hour (and minute): the account's counted calls are forgotten."""
    state = open_state(state_path)
    Meter(state)
    with state.connect() as conn:
        conn.execute("delete from sandbox_rate_events")


def usage(state_path: Path) -> dict[str, int]:
    """`{"hourly_limit", "used", "remaining"}` of the current hourly window."""
    state = open_state(state_path)
    meter = Meter(state)
    with state.connect() as conn:
        limits = limits_of(options(conn))
    remaining = meter.remaining(limits)
    return {"hourly_limit": limits.hourly, "used": limits.hourly - remaining, "remaining": remaining}


def insert_records(state_path: Path, entity: str, bodies: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create records with the same validation as the API, in one transaction (not counted).

    Returns:
        The new record ids, in order.

    Raises:
        FsError: a body breaks a rule (nothing is saved).
    """
    ent = ENTITIES[entity]
    with open_state(state_path).connect() as conn:
        user_id = ensure_admin(conn)
        return [str(records.create(conn, ent, dict(body), user_id)["id"]) for body in bodies]


def snapshot(state_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record by entity, in creation order, without volatile values."""
    with open_state(state_path).connect() as conn:
        return {
            name: [{k: v for k, v in rec.items() if k not in VOLATILE} for rec in live_records(conn, name)]
            for name in ENTITIES
        }
