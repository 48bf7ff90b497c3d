"""Changes to the Case Status sandbox between runs, for delta-pickup tests.

Each function writes straight to the state file (as a user of the real app would through its UI)
and stamps `updated_at` / `deleted_at` with the `now` it is given, so tests stay deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migration_assets.sandbox._generation import delete_document, update_document
from migration_assets.sandbox.case_status import store
from migration_assets.sandbox.case_status.resources import RESOURCES
from migration_assets.sandbox.case_status.store import utc_z

DEFAULT_NOW = "2026-11-02T00:00:00Z"


def _check(resource: str, now: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"unknown Case Status resource {resource!r} (known: {', '.join(RESOURCES)})")
    return utc_z(now)


def create(
    state_path: Path, resource: str, doc: Mapping[str, Any], *, now: str = DEFAULT_NOW
) -> dict[str, Any]:
    """Add a record; it gets the next id unless `doc` has one, and created_at = updated_at = now.

    Args:
        state_path: the sandbox SQLite file.
        resource: URL name of the resource ("clients", "case-events", ...).
        doc: the record's fields.
        now: ISO timestamp stamped on the record.

    Returns:
        The stored document.

    Raises:
        ValueError: for an unknown resource, a malformed `now` or an id already used.
    """
    stamp = _check(resource, now)
    with store.open_state(state_path).connect() as conn:
        record_id = int(doc.get("id") or store.next_id(conn, resource))
        if store.get(conn, resource, record_id, with_deleted=True) is not None:
            raise ValueError(f"{resource} {record_id} already exists")
        new = {**doc, "id": record_id, "created_at": stamp, "updated_at": stamp}
        store.put(conn, resource, [new])
    return store.public(new)


def update(
    state_path: Path, resource: str, record_id: int, changes: Mapping[str, Any], *, now: str = DEFAULT_NOW
) -> dict[str, Any]:
    """Merge `changes` into a live record and set its updated_at to `now`.

    Returns:
        The stored document.

    Raises:
        KeyError: when the record does not exist or is deleted.
        ValueError: for an unknown resource or a malformed `now`.
    """
    return update_document(store, state_path, resource, int(record_id), changes, _check(resource, now))


def delete(state_path: Path, resource: str, record_id: int, *, now: str = DEFAULT_NOW) -> None:
    """Soft-delete a live record: deleted_at = updated_at = now; it leaves every listing and shows
    in `/v1/api/deleted`.

    Raises:
        KeyError: when the record does not exist or is already deleted.
        ValueError: for an unknown resource or a malformed `now`.
    """
    delete_document(store, state_path, resource, int(record_id), _check(resource, now))
