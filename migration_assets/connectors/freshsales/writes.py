"""Writing records: upserts by external id, deletes and restores.

Contacts, accounts and deals: the keys are searched first (one request per 100, to tell created
from updated), then a batch of at least `bulk_threshold` rows goes through `bulk_upsert` (chunks of
100, a polled job, per-record failures from its report) and a smaller one through single
`POST /<entity>/upsert` calls. Sales activities, tasks, appointments and notes have no upsert: each
row is matched in the list index and updated (`PUT`) or created (`POST`, sent once; a create whose
answer is lost is looked up again before it is repeated). A row the account refuses (a dropdown
value outside its choices, a missing required field) fails alone with the account's message.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

from migration_assets.connectors.base import LookupRef, UpsertRow, WriteResult
from migration_assets.connectors.freshsales import bulk
from migration_assets.connectors.freshsales.account import Account, table_def
from migration_assets.connectors.freshsales.client import error_messages
from migration_assets.connectors.freshsales.index import RecordIndex
from migration_assets.connectors.freshsales.reads import search_ids
from migration_assets.connectors.freshsales.rows import RowError, build_body, is_association, read_marker
from migration_assets.connectors.freshsales.settings import BULK_MAX, LOOKUP_TARGETS, SEARCH_VALUES, TableDef
from migration_assets.errors import LostResponse, MigrationError, RemoteRejected

Prepared = list[tuple[str, dict[str, Any]]]  # (external id, body)


def write_calls(tdef: TableDef, n_rows: int, *, bulk_path: bool, poll_estimate: int, concurrency: int) -> int:
    """Requests an upsert of `n_rows` rows makes (searches included, list reads of indexes not)."""
    if n_rows <= 0:
        return 0
    if tdef.key_not_stored:
        return 2 * n_rows  # a document: its record's documents list (is it there already?), then the upload
    if not tdef.search:
        return n_rows
    searches = math.ceil(n_rows / SEARCH_VALUES)
    if not bulk_path:
        return searches + n_rows
    jobs = math.ceil(n_rows / BULK_MAX)
    return searches + jobs * (1 + poll_estimate) + bulk.view_pages(n_rows, min(concurrency, jobs))


async def upsert(account: Account, table: str, key: str, rows: Sequence[UpsertRow]) -> tuple[list[WriteResult], str]:
    """Upsert rows on `key` (see module docstring).

    Returns:
        (one WriteResult per row in order, the path used: "bulk", "single" or "listed").

    Raises:
        BudgetExhausted: the requests needed do not fit the hourly budget (nothing was sent).
    """
    tdef = table_def(table)
    if tdef.table == "document":
        raise MigrationError("freshsales: documents are written with upload_file, not upsert")
    columns = {c for row in rows for c in (*row.fields, *row.lookups)}
    choices = await account.choices(columns)
    results: dict[int, WriteResult] = {}
    prepared: list[tuple[int, str, dict[str, Any]]] = []
    for n, row in enumerate(rows):
        ext = str(row.external_id or "").strip()
        try:
            if not ext:
                raise RowError("empty external id")
            prepared.append(
                (n, ext, build_body(tdef, row.fields, row.lookups, key=key, external_id=ext, choices=choices))
            )
        except RowError as exc:
            results[n] = WriteResult(row.external_id, False, error=str(exc))
    items = [(ext, body) for _, ext, body in prepared]
    if tdef.search:
        path = "bulk" if len(items) >= account.options.bulk_threshold else "single"
        written = await _upsert_searchable(account, tdef, key, items, bulk_path=path == "bulk")
    else:
        path = "listed"
        written = await _upsert_listed(account, tdef, key, items)
    results |= {n: result for (n, _, _), result in zip(prepared, written, strict=True)}
    return [results[n] for n in range(len(rows))], path


async def _upsert_searchable(
    account: Account, tdef: TableDef, key: str, items: Prepared, *, bulk_path: bool
) -> list[WriteResult]:
    options = account.options
    needed = write_calls(
        tdef, len(items), bulk_path=bulk_path, poll_estimate=options.poll_estimate, concurrency=options.concurrency
    )
    if bulk_path and items and tdef.entity not in account.client.views:
        needed += 1  # the views list, read once to find the "All" view
    account.client.ensure(needed, f"an upsert of {len(items)} {tdef.entity}")
    if not items:
        return []
    existing = await search_ids(account, tdef, key, [ext for ext, _ in items])
    if not bulk_path:
        semaphore = asyncio.Semaphore(options.concurrency)
        return list(
            await asyncio.gather(*(_single(account, tdef, key, ext, body, existing, semaphore) for ext, body in items))
        )
    parts = bulk.chunks(items)
    semaphore = asyncio.Semaphore(options.concurrency)
    pages = bulk.view_pages(BULK_MAX, min(options.concurrency, len(parts)))

    async def run(part: Sequence[tuple[str, dict[str, Any]]]) -> list[WriteResult]:
        async with semaphore:
            failures, ids, _ = await bulk.run_chunk(account.client, tdef, key, part, options.poll, pages)
        return bulk.results(part, failures, ids, existing)

    return [r for part in await asyncio.gather(*(run(p) for p in parts)) for r in part]


async def _single(
    account: Account, tdef: TableDef, key: str, ext: str, body: dict, existing: set[str], semaphore: asyncio.Semaphore
) -> WriteResult:
    payload = {"unique_identifier": bulk.identifier(key, ext), tdef.table: body}
    async with semaphore:
        try:
            answer = await account.client.json("POST", f"{tdef.entity}/upsert", json=payload)
        except RemoteRejected as exc:
            return WriteResult(ext, False, error="; ".join(error_messages(exc.body)) or str(exc))
    record_id = str(answer[tdef.table]["id"])
    return WriteResult(ext, True, record_id, "updated" if record_id in existing else "created")


async def _upsert_listed(account: Account, tdef: TableDef, key: str, items: Prepared) -> list[WriteResult]:
    index = account.index(tdef, key)
    if tdef.table == "note":
        await index.load_parents(_parents(items))
    else:
        await index.load()
    account.client.ensure(len(items), f"writing {len(items)} {tdef.entity}")
    semaphore = asyncio.Semaphore(account.options.concurrency)

    async def one(ext: str, body: dict[str, Any]) -> WriteResult:
        async with semaphore:
            try:
                current = index.get(ext)
                if current is not None:
                    answer = await account.client.json("PUT", f"{tdef.entity}/{current['id']}", json={tdef.table: body})
                    record, operation = answer[tdef.table], "updated"
                else:
                    record, operation = await _create(account, tdef, index, ext, body), "created"
            except RemoteRejected as exc:
                return WriteResult(ext, False, error="; ".join(error_messages(exc.body)) or str(exc))
        index.add(record)
        return WriteResult(ext, True, str(record["id"]), operation)

    return list(await asyncio.gather(*(one(ext, body) for ext, body in items)))


def _parents(items: Prepared) -> set[tuple[str, str]]:
    return {(str(b["targetable_type"]), str(b["targetable_id"])) for _, b in items if b.get("targetable_id")}


async def _create(account: Account, tdef: TableDef, index: RecordIndex, ext: str, body: dict) -> dict[str, Any]:
    """POST once; when the answer is lost, look the record up before sending it again."""
    for attempt in (1, 2):
        try:
            answer = await account.client.json("POST", tdef.entity, json={tdef.table: body}, create=True)
            return answer[tdef.table]
        except LostResponse:
            if attempt == 2:
                raise
        if tdef.table == "note":
            await index.load_parents(_parents([(ext, body)]), refresh=True)
        else:
            await index.load(refresh=True)
        found = index.get(ext)
        if found is not None:
            return found
    raise AssertionError("unreachable")


# -- deletes and restores -------------------------------------------------------------------------
async def delete(account: Account, table: str, ids: Sequence[str]) -> list[WriteResult]:
    """Delete by id: `bulk_destroy` per 100 where it exists, else one DELETE each; gone counts as deleted."""
    tdef = table_def(table)
    unique = [str(i) for i in ids]
    if tdef.bulk:
        parts = bulk.chunks([i for i in unique if i.isdigit()])
        account.client.ensure(len(parts), f"a delete of {len(unique)} {tdef.entity}")
        for part in parts:
            await account.client.json(
                "POST", f"{tdef.entity}/bulk_destroy", json={"selected_ids": [int(i) for i in part]}
            )
        return [WriteResult(i, True, i, "deleted") for i in unique]
    account.client.ensure(len(unique), f"a delete of {len(unique)} {tdef.entity}")
    semaphore = asyncio.Semaphore(account.options.concurrency)

    async def one(record_id: str) -> WriteResult:
        async with semaphore:
            try:
                await account.client.send("DELETE", f"{tdef.entity}/{record_id}")
            except RemoteRejected as exc:
                if exc.status != 404:
                    return WriteResult(record_id, False, record_id, error="; ".join(error_messages(exc.body)))
        for index in account.indexes.values():
            if index.tdef is tdef:
                index.drop(record_id)
        return WriteResult(record_id, True, record_id, "deleted")

    return list(await asyncio.gather(*(one(i) for i in unique)))


def _is_lookup(tdef: TableDef, column: str) -> bool:
    return column in LOOKUP_TARGETS or is_association(tdef.table, column)


async def restore(account: Account, table: str, images: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
    """Write before-images back by id (`PUT`); a record deleted since is reported, not re-created."""
    tdef = table_def(table)
    account.client.ensure(len(images) * (2 if tdef.key_in_description else 1), f"a restore of {tdef.entity}")
    columns = {c for image in images for c in image}
    choices = await account.choices(columns)
    results = []
    for image in images:
        record_id = str(image["id"])
        fields = {k: v for k, v in image.items() if k != "id" and not _is_lookup(tdef, k)}
        lookups = {k: _as_ref(v) for k, v in image.items() if _is_lookup(tdef, k)}
        try:
            key, ext = await _kept_marker(account, tdef, record_id) if tdef.key_in_description else ("", None)
            body = build_body(tdef, fields, lookups, key=key, external_id=ext, choices=choices)
            await account.client.json("PUT", f"{tdef.entity}/{record_id}", json={tdef.table: body})
            results.append(WriteResult(record_id, True, record_id, "restored"))
        except RemoteRejected as exc:
            reason = "the record no longer exists" if exc.status == 404 else "; ".join(error_messages(exc.body))
            results.append(WriteResult(record_id, False, record_id, error=reason))
        except RowError as exc:
            results.append(WriteResult(record_id, False, record_id, error=str(exc)))
    return results


def _as_ref(value: Any) -> LookupRef | None:
    if isinstance(value, Mapping):
        return LookupRef(str(value.get("table")), None if value.get("id") is None else str(value["id"]))
    return None


async def _kept_marker(account: Account, tdef: TableDef, record_id: str) -> tuple[str, str | None]:
    """(key, external id) of the description line a record carries now, so a restore keeps it."""
    body = await account.client.json("GET", f"{tdef.entity}/{record_id}")
    found = read_marker((body or {}).get(tdef.table, {}).get("description"))
    return found if found else ("", None)
