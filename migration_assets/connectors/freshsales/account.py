"""What the connector keeps of one account while it works: field settings, selector choices, list
indexes, and reading records by id.

Field settings and selectors are read once per connector (describe and plan re-read them); reads by
id are one `GET /<entity>/{id}` each (contacts with `include=sales_accounts`), sent concurrently, or,
for contacts, accounts and deals when that takes fewer requests, the pages of the entity's "All"
view (100 full records each; how many pages it has is learnt from its first page, once per
connector): reading back most of a table costs a page per 100 records instead of a request each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from migration_assets.connectors.freshsales.bulk import PollPolicy, all_view
from migration_assets.connectors.freshsales.client import FreshsalesClient
from migration_assets.connectors.freshsales.index import RecordIndex
from migration_assets.connectors.freshsales.rows import Choices
from migration_assets.connectors.freshsales.settings import ID_DROPDOWNS, PER_PAGE, STATIC_CHOICES, TABLES, TableDef
from migration_assets.errors import MigrationError, RemoteRejected, known_values


@dataclass(frozen=True)
class Options:
    """Connection options of the connector (see the package docstring)."""

    bulk_threshold: int
    poll: PollPolicy
    poll_estimate: int
    max_file_bytes: int
    concurrency: int


def table_def(table: str) -> TableDef:
    """The definition of one of our tables.

    Raises:
        MigrationError: an unknown table (the message lists the known ones).
    """
    if table not in TABLES:
        raise MigrationError(f"freshsales: unknown table {table!r} {known_values(TABLES)}")
    return TABLES[table]


@dataclass
class Account:
    """Per-connector knowledge of the account."""

    client: FreshsalesClient
    options: Options
    indexes: dict[tuple[str, str], RecordIndex] = field(default_factory=dict)
    _settings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _selectors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    view_pages: dict[str, int] = field(default_factory=dict)  # entity -> pages of its "All" view

    async def settings(self, tdef: TableDef, *, refresh: bool = False) -> list[dict[str, Any]]:
        """The field settings of a table with a settings endpoint."""
        if refresh or tdef.table not in self._settings:
            self.client.ensure(1, f"the {tdef.entity} field settings")
            body = await self.client.json("GET", f"settings/{tdef.entity}/fields")
            self._settings[tdef.table] = list((body or {}).get("fields") or [])
        return self._settings[tdef.table]

    async def selector(self, name: str, *, refresh: bool = False) -> list[dict[str, Any]]:
        """Items of `/selector/<name>` (owners come under `users`)."""
        if name in STATIC_CHOICES:
            return [dict(i) for i in STATIC_CHOICES[name]]
        if refresh or name not in self._selectors:
            self.client.ensure(1, f"the {name} selector")
            body = await self.client.json("GET", f"selector/{name}")
            self._selectors[name] = list((body or {}).get("users" if name == "owners" else name) or [])
        return self._selectors[name]

    async def choices(self, columns: Iterable[str]) -> Choices:
        """Names and ids of the selector dropdowns among `columns`."""
        out = Choices()
        wanted = {c for c in columns if c in ID_DROPDOWNS}
        if wanted & {"deal_pipeline_id", "deal_stage_id"}:
            out.add_pipelines(await self.selector("deal_pipelines"))
        for column in sorted(wanted - {"deal_pipeline_id", "deal_stage_id"}):
            out.add(column, await self.selector(ID_DROPDOWNS[column]))
        return out

    def index(self, tdef: TableDef, key: str) -> RecordIndex:
        return self.indexes.setdefault((tdef.table, key), RecordIndex(self.client, tdef, key))

    async def get_records(self, tdef: TableDef, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full records by id (missing ids are absent); one GET each."""
        unique = list(dict.fromkeys(str(i) for i in ids))
        self.client.ensure(len(unique), f"reading {len(unique)} {tdef.entity}")
        params = {"include": "sales_accounts"} if tdef.table == "contact" else None
        semaphore = asyncio.Semaphore(self.options.concurrency)

        async def one(record_id: str) -> dict[str, Any] | None:
            async with semaphore:
                try:
                    body = await self.client.json("GET", f"{tdef.entity}/{record_id}", params=params)
                except RemoteRejected as exc:
                    if exc.status == 404:
                        return None
                    raise
            return (body or {}).get(tdef.table)  # our table names are the singular keys

        found = await asyncio.gather(*(one(i) for i in unique if i.isdigit()))
        return {str(r["id"]): r for r in found if r}

    async def full_records(self, tdef: TableDef, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full records by id (missing ids are absent): one GET each, or the pages of the entity's
        "All" view when there are fewer pages than records to read (see module docstring)."""
        wanted = {str(i) for i in ids if str(i).isdigit()}
        if not tdef.bulk or len(wanted) < 3:
            return await self.get_records(tdef, sorted(wanted))
        found: dict[str, dict[str, Any]] = {}
        pages = self.view_pages.get(tdef.entity)
        first = 1
        if pages is None:
            found, pages = await self._view_page(tdef, 1, wanted)
            first = 2
        rest = list(range(first, pages + 1))
        if len(rest) >= len(wanted - found.keys()):
            return found | await self.get_records(tdef, sorted(wanted - found.keys()))
        semaphore = asyncio.Semaphore(self.options.concurrency)

        async def page(number: int) -> dict[str, dict[str, Any]]:
            async with semaphore:
                return (await self._view_page(tdef, number, wanted))[0]

        for part in await asyncio.gather(*(page(n) for n in rest)):
            found |= part
        return found

    async def _view_page(self, tdef: TableDef, number: int, wanted: set[str]) -> tuple[dict[str, dict], int]:
        """The wanted records of one page of the "All" view, and how many pages the view has."""
        view = await all_view(self.client, tdef)
        self.client.ensure(1, f"the {tdef.entity} view")
        params: dict[str, Any] = {"page": number, "per_page": PER_PAGE, "sort": "created_at", "sort_type": "asc"}
        if tdef.table == "contact":
            params["include"] = "sales_accounts"
        body = await self.client.json("GET", f"{tdef.entity}/view/{view}", params=params) or {}
        pages = int((body.get("meta") or {}).get("total_pages") or 0)
        self.view_pages[tdef.entity] = pages
        items = body.get(tdef.entity) or []
        return {str(r["id"]): r for r in items if str(r.get("id")) in wanted}, pages
