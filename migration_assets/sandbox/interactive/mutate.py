"""Changes to the Interactive sandbox between runs, as a user of the real app makes them.

Each function writes straight to the state file and stamps the last-modified time (or the archive
time) with the `at` it is given, so delta tests stay deterministic. Archiving keeps associations
(HubSpot restores them when a record is restored).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from migration_assets.sandbox.interactive import store
from migration_assets.sandbox.interactive.gen_common import ID_BASE
from migration_assets.sandbox.interactive.objects import resolve


def _type(name: str) -> str:
    found = resolve(name)
    if found is None:
        raise ValueError(f"unknown Interactive object type {name!r}")
    return found.name


def create(
    state_path: Path,
    otype: str,
    props: Mapping[str, str],
    *,
    at: str,
    links: Mapping[int, tuple[int, ...]] | None = None,
) -> int:
    """Add a live record with the next id of its type; `links` maps a target id to association type ids.

    Returns:
        The new record's id.
    """
    name, stamp = _type(otype), store.stamp(at)
    with store.open_state(Path(state_path)).connect() as conn:
        rid = store.next_id(conn, name, ID_BASE[name])
        store.put_objects(conn, name, [{"id": rid, "created_at": stamp, "updated_at": stamp, "props": dict(props)}])
        for to_id, type_ids in (links or {}).items():
            store.link(conn, name, rid, to_id, type_ids)
    return rid


def update(state_path: Path, otype: str, rid: int, changes: Mapping[str, str | None], *, at: str) -> None:
    """Merge `changes` into a live record (None removes a value) and set its last-modified time.

    Raises:
        KeyError: when the record does not exist or is archived.
    """
    name = _type(otype)
    with store.open_state(Path(state_path)).connect() as conn:
        found = store.get_objects(conn, name, [rid]).get(rid)
        if found is None:
            raise KeyError(f"{name} {rid} not found")
        props = {k: v for k, v in {**found["props"], **changes}.items() if v is not None}
        store.put_objects(conn, name, [{**found, "props": props, "updated_at": store.stamp(at)}])


def archive(state_path: Path, otype: str, rid: int, *, at: str) -> None:
    """Archive (delete) a live record at `at`: it leaves every listing and the search, and shows
    with `archived=true` and its `archivedAt`.

    Raises:
        KeyError: when the record does not exist or is already archived.
    """
    name = _type(otype)
    with store.open_state(Path(state_path)).connect() as conn:
        found = store.get_objects(conn, name, [rid]).get(rid)
        if found is None:
            raise KeyError(f"{name} {rid} not found")
        stamp = store.stamp(at)
        store.put_objects(conn, name, [{**found, "archived": True, "archived_at": stamp, "updated_at": stamp}])


def live_ids(state_path: Path, otype: str, *, limit: int, newest: bool = False) -> list[int]:
    """Ids of live records of a type, lowest (or highest) first."""
    name = _type(otype)
    order = "desc" if newest else "asc"
    with store.open_state(Path(state_path)).connect() as conn:
        rows = conn.execute(
            f"select id from objects where type = ? and archived = 0 order by id {order} limit ?", (name, limit)
        )
        return [int(r[0]) for r in rows]
