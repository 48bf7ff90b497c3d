"""Finding sales activities, tasks, appointments and notes by external id.

These have no search endpoint, so the connector reads their lists once per connector and keeps an
index external id -> record, updated by its own writes: sales activities through `GET
/sales_activities` (the key is a custom field), tasks through `GET /tasks?filter=open|completed`,
appointments through `GET /appointments?filter=past|upcoming` (the key is the description line).
Notes are listed per record only (`GET /<entity>/{id}/notes`), so their index covers the parent
records of the rows being written (looked up before each write) and nothing else: a note read back
by external id alone is found only when its parent was seen by this connector.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migration_assets.connectors.freshsales.client import FreshsalesClient
from migration_assets.connectors.freshsales.rows import external_id_of
from migration_assets.connectors.freshsales.settings import BY_MODEL, TableDef


class RecordIndex:
    """External id -> record of one list-only table.

    Args:
        client: the account client.
        tdef: the table (sales_activity, task, appointment or note).
        key: the external-id column.
    """

    def __init__(self, client: FreshsalesClient, tdef: TableDef, key: str) -> None:
        self.client, self.tdef, self.key = client, tdef, key
        self.by_external_id: dict[str, dict[str, Any]] = {}
        self.loaded = False
        self.parents: set[tuple[str, str]] = set()

    def add(self, record: dict[str, Any]) -> str | None:
        """Index one record (from a list or a write); returns its external id."""
        ext = external_id_of(self.tdef, record, self.key)
        if ext is not None:
            self.by_external_id[ext] = record
        return ext

    def drop(self, record_id: str) -> None:
        for ext, record in list(self.by_external_id.items()):
            if str(record.get("id")) == str(record_id):
                del self.by_external_id[ext]

    async def load(self, *, refresh: bool = False) -> None:
        """Read every list of the table once (again with `refresh`)."""
        if self.loaded and not refresh:
            return
        for wanted in self.tdef.lists:
            params = {"filter": wanted} if wanted else {}
            async for items in self.client.pages(
                self.tdef.entity, self.tdef.entity, params, what=f"{self.tdef.entity} list"
            ):
                for record in items:
                    self.add(record)
        self.loaded = True

    async def load_parents(self, parents: Iterable[tuple[str, str]], *, refresh: bool = False) -> None:
        """Read the notes of each (model, id) parent not read yet (all of them with `refresh`)."""
        for model, parent_id in sorted(set(parents)):
            if (model, parent_id) in self.parents and not refresh:
                continue
            entity = BY_MODEL[model].entity
            async for items in self.client.pages(f"{entity}/{parent_id}/notes", "notes", what="a notes list"):
                for record in items:
                    self.add(record)
            self.parents.add((model, parent_id))

    def get(self, external_id: str) -> dict[str, Any] | None:
        return self.by_external_id.get(external_id)

    def __len__(self) -> int:
        return len(self.by_external_id)
