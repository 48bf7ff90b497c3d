"""Destination seeding hooks used by `migrate sandbox seed/reset` and by tests.

They work on the SQLite file directly (no HTTP), so a CLI process can prepare the state that
in-process or served emulators then share. Hooks (systems.py): `reset(state_path, **options)`,
`seed_users(state_path, people)`; also `provision_sharepoint(state_path)` (an admin sets up
document management after a reset with `sharepoint_site=False`), `seed_records`, `snapshot` and
`document_listing`, `seed_document` and `document_bytes` for tests.
"""

from __future__ import annotations

import datetime as dt
import json
import mimetypes
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from migration_assets.sandbox.dataverse import bootstrap, store, writes
from migration_assets.sandbox.dataverse.core import API_PREFIX, Ctx, ODataError
from migration_assets.sandbox.dataverse.model import load_catalog
from migration_assets.systems import Person

HOST = "http://dataverse.sandbox"
VOLATILE = frozenset({"versionnumber", "modifiedon", "modifiedby", "createdon", "createdby"})
KEPT_TABLES = ("sandbox_counters", "tokens")


def reset(state_path: Path, **options: Any) -> None:
    """Wipe records, custom metadata, documents and options, reinstall the standard environment.

    Args:
        state_path: the emulator's SQLite file.
        **options: sandbox options to set afterwards (tier, customer_service, limits, faults,
            `sharepoint_site` (False: no SharePoint site, documents go to notes or wait), `app_users`
            (application users 2..n accepted, each counted on its own: store.app_user), the realistic
            server model (`server_model`, server_model.py)...).
    """
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        tables = [r["name"] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            if table not in KEPT_TABLES and not table.startswith("sqlite_"):
                conn.execute(f"delete from {table}")  # names come from sqlite_master
        bootstrap.install(conn)
        if options.get("sharepoint_site") is False:
            store.delete_record(conn, "sharepointsite", bootstrap.DEFAULT_SITE_ID)
        bootstrap.add_app_users(conn, int(options.get("app_users") or 1))
    shutil.rmtree(Path(state_path).parent / f"{Path(state_path).stem}_documents", ignore_errors=True)
    if options:
        state.set_options(options)


def provision_sharepoint(state_path: Path) -> None:
    """Set up document management: the default SharePoint site exists and the drive answers."""
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        bootstrap.install(conn)
        if store.get_record(conn, "sharepointsite", bootstrap.DEFAULT_SITE_ID) is None:
            bootstrap.add_default_site(conn)
    state.set_options({"sharepoint_site": True})


def user_shape(person: Person) -> dict[str, Any]:
    """A systemuser row for a person: the e-mail is both the mailbox and the sign-in name (UPN)."""
    return {
        "internalemailaddress": person.email,
        "domainname": person.email,
        "firstname": person.first_name,
        "lastname": person.last_name,
        "fullname": f"{person.first_name} {person.last_name}".strip(),
        "isdisabled": not person.active,
    }


def seed_users(state_path: Path, people: Sequence[Person | Mapping[str, Any]]) -> list[str]:
    """Add one system user per person (a ready systemuser row is also accepted, as is).

    Args:
        state_path: the emulator's SQLite file.
        people: the people to mirror (seeding hook), or systemuser rows.

    Returns:
        The new systemuserid values, in order.
    """
    state = store.open_state(Path(state_path))
    ids = []
    with state.connect() as conn:
        bootstrap.install(conn)
        for person in people:
            user = user_shape(person) if isinstance(person, Person) else dict(person)
            user_id = str(user.get("systemuserid") or store.new_record_id())
            bootstrap.write_raw(
                conn, "systemuser", user_id, bootstrap.user_row({k: v for k, v in user.items() if k != "systemuserid"})
            )
            ids.append(user_id)
    return ids


def seed_records(state_path: Path, table: str, rows: list[dict[str, Any]]) -> list[str]:
    """Write pre-existing destination records with the API's validation (binds, keys, types).

    Args:
        state_path: the emulator's SQLite file.
        table: logical name (or entity set name) of the table.
        rows: Web API bodies, optionally with the primary id.

    Returns:
        The record ids, in order.

    Raises:
        ODataError: when a row is invalid (nothing is written).
    """
    state = store.open_state(Path(state_path))
    ids = []
    with state.connect() as conn:
        bootstrap.install(conn)
        catalog = load_catalog(conn, None)
        entity = catalog.entity(table) or catalog.by_set.get(table)
        if entity is None:
            raise ODataError(404, "0x8006088a", f"Resource not found for the segment '{table}'.")
        options = store.Options({**store.read_options(conn).values, "customer_service": True})
        ctx = Ctx(conn, catalog, options, HOST + API_PREFIX, bootstrap.APP_USER_ID)
        for row in rows:
            record_id = str(row.get(entity.primary_id) or store.new_record_id()).lower()
            body = {k: v for k, v in row.items() if k != entity.primary_id}
            writes.save(ctx, entity, record_id, body, None)
            ids.append(record_id)
    return ids


def snapshot(state_path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every table's records sorted by id, without volatile columns (for before/after comparisons)."""
    state = store.open_state(Path(state_path))
    result: dict[str, list[dict[str, Any]]] = {}
    with state.connect() as conn:
        rows = conn.execute("select entity, id, data from records order by entity, id").fetchall()
    for row in rows:
        data = {k: v for k, v in json.loads(row["data"]).items() if k not in VOLATILE}
        result.setdefault(row["entity"], []).append(data)
    return result


def document_listing(state_path: Path) -> list[dict[str, Any]]:
    """Files of the document store: path, name, size and MIME type, sorted by path."""
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        rows = conn.execute("select path, name, size, mime from documents order by path").fetchall()
    return [{"path": r["path"], "name": r["name"], "size": r["size"], "mime_type": r["mime"]} for r in rows]


def _documents_root(state_path: Path) -> Path:
    return Path(state_path).parent / f"{Path(state_path).stem}_documents"


def seed_document(state_path: Path, path: str, content: bytes) -> None:
    """Put a file into the document store's drive at `path` (as a person using SharePoint would)."""
    target = _documents_root(state_path) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    state = store.open_state(Path(state_path))
    with state.connect() as conn:
        bootstrap.install(conn)
        conn.execute(
            "insert into documents values (?, ?, ?, ?, ?, ?, ?) on conflict(path) do update set "
            "size = excluded.size, mime = excluded.mime, modified = excluded.modified",
            (path, uuid.uuid4().hex.upper(), path.rsplit("/", 1)[-1], len(content), mime, now, now),
        )


def document_bytes(state_path: Path, path: str) -> bytes | None:
    """The content of the drive's file at `path`, None when there is none."""
    target = _documents_root(state_path) / path
    return target.read_bytes() if target.is_file() else None
