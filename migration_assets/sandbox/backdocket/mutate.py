"""Changes to the BackDocket sandbox between runs, for delta-pickup tests and the demo.

Each function writes straight to the state file (as a user of the real app would through its UI)
and stamps `updated_at` / `deleted_at` with the `now` it is given, so tests stay deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration_assets.sandbox._generation import delete_document, update_document
from migration_assets.sandbox.backdocket import store
from migration_assets.sandbox.backdocket.resources import RESOURCES, make_id
from migration_assets.sandbox.backdocket.store import utc_z

DEFAULT_NOW = "2026-11-02T00:00:00Z"


def _check(resource: str, now: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"unknown BackDocket resource {resource!r} (known: {', '.join(RESOURCES)})")
    return utc_z(now)


def create(state_path: Path, resource: str, doc: Mapping[str, Any], *, now: str = DEFAULT_NOW) -> dict[str, Any]:
    """Add a record with the next id of its resource; created_at = updated_at = now.

    Args:
        state_path: the sandbox SQLite file.
        resource: URL name of the resource ("contacts", "calendar-events", ...).
        doc: the record's fields (without id and stamps).
        now: ISO timestamp stamped on the record.

    Returns:
        The stored document as the API shows it.

    Raises:
        ValueError: for an unknown resource or a malformed `now`.
    """
    stamp = _check(resource, now)
    with store.open_state(Path(state_path)).connect() as conn:
        record_id = make_id(resource, store.next_number(conn, resource))
        new = {"id": record_id, **doc, "created_at": stamp, "updated_at": stamp, "deleted_at": None}
        store.put(conn, resource, [new])
    return store.public(new)


def update(
    state_path: Path, resource: str, record_id: str, changes: Mapping[str, Any], *, now: str = DEFAULT_NOW
) -> dict[str, Any]:
    """Merge `changes` into a live record and set its updated_at to `now`.

    Returns:
        The stored document as the API shows it.

    Raises:
        KeyError: when the record does not exist or is deleted.
        ValueError: for an unknown resource or a malformed `now`.
    """
    return update_document(store, state_path, resource, record_id, changes, _check(resource, now))


def delete(state_path: Path, resource: str, record_id: str, *, now: str = DEFAULT_NOW) -> None:
    """Soft-delete a live record: deleted_at = updated_at = now; it leaves every listing and shows
    in `/api/v1/deleted`.

    Raises:
        KeyError: when the record does not exist or is already deleted.
        ValueError: for an unknown resource or a malformed `now`.
    """
    delete_document(store, state_path, resource, record_id, _check(resource, now))
