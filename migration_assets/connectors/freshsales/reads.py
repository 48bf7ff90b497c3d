"""Reading records back: by external id, by id, and counting keyed records.

Contacts, accounts and deals are found with `POST /filtered_search/<name>` (`is_in` up to 100 keys
per request); search results are thin (no `custom_field`), so the full records are then read by id,
one request per record found (a first load finds none), or page by page from the entity's "All"
view when that is cheaper (account.py). Sales activities, tasks, appointments and
notes come from the connector's list index (index.py); notes are listed per record only, so a note
not indexed yet is looked for on the keyed deals, then contacts, then accounts (one request per
record), until every wanted note is found. Documents carry no external id: they are read by id only
(`read_files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migration_assets.connectors.freshsales import bulk
from migration_assets.connectors.freshsales.account import Account, table_def
from migration_assets.connectors.freshsales.index import RecordIndex
from migration_assets.connectors.freshsales.rows import column_value, external_id_of
from migration_assets.connectors.freshsales.settings import BY_MODEL, SEARCH_VALUES, TableDef
from migration_assets.errors import RemoteRejected


async def search_ids(account: Account, tdef: TableDef, key: str, external_ids: Sequence[str]) -> set[str]:
    """Ids of the records whose `key` is one of `external_ids` (thin search results only)."""
    found: set[str] = set()
    unique = list(dict.fromkeys(external_ids))
    for start in range(0, len(unique), SEARCH_VALUES):
        hits = await bulk.search(account.client, tdef, key, unique[start : start + SEARCH_VALUES])
        found |= {str(h["id"]) for h in hits}
    return found


async def find_records(
    account: Account, tdef: TableDef, key: str, external_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Full records by external id (absent ones are left out)."""
    if tdef.search:
        ids = await search_ids(account, tdef, key, external_ids)
        records = await account.full_records(tdef, sorted(ids))
        by_ext = {external_id_of(tdef, r, key): r for r in records.values()}
    elif tdef.lists or tdef.table == "note":
        index = account.index(tdef, key)
        if tdef.lists:
            await index.load()
        else:
            await _find_notes(account, index, key, external_ids)
        by_ext = {ext: index.get(ext) for ext in external_ids}
    else:  # documents keep no external id
        return {}
    wanted = set(external_ids)
    return {ext: r for ext, r in by_ext.items() if ext in wanted and r is not None}


async def read_back(
    account: Account, table: str, key: str, external_ids: Sequence[str], columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """`{external_id: {"id": ..., key: external_id, column: value}}` (lookups as id text)."""
    tdef = table_def(table)
    records = await find_records(account, tdef, key, external_ids)
    choices = await account.choices(columns)
    return {
        ext: {"id": str(r["id"]), key: ext, **{c: column_value(tdef, r, c, key, choices) for c in columns if c != key}}
        for ext, r in records.items()
    }


async def read_by_ids(account: Account, table: str, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
    """`{id: {column: value}}` of the records that exist."""
    tdef = table_def(table)
    records = await account.get_records(tdef, ids)
    choices = await account.choices(columns)
    key = next((c for c in columns if c.startswith("cf_")), "")
    return {i: {c: column_value(tdef, r, c, key, choices) for c in columns} for i, r in records.items()}


async def count(account: Account, table: str, key: str) -> int:
    """Records of `table` carrying `key` (notes and documents: those on keyed parents)."""
    tdef = table_def(table)
    if tdef.search:
        return await _count_searchable(account, tdef, key)
    if tdef.lists:
        index = account.index(tdef, key)
        await index.load(refresh=True)
        return len(index)
    if tdef.table == "note":
        index = account.index(tdef, key)
        await index.load_parents(await _keyed_parents(account, key), refresh=True)
        return len(index)
    return await _count_documents(account, key)


async def _count_searchable(account: Account, tdef: TableDef, key: str) -> int:
    account.client.ensure(1, f"a count of {tdef.entity}")
    body = {"filter_rule": [{"attribute": key, "operator": "is_not_empty"}], "page": 1, "per_page": 1}
    answer = await account.client.json("POST", f"filtered_search/{tdef.search}", json=body)
    return int(((answer or {}).get("meta") or {}).get("total") or 0)


async def _find_notes(account: Account, index: RecordIndex, key: str, external_ids: Sequence[str]) -> None:
    """Index the notes of keyed records, deals first, until every one of `external_ids` is found."""
    for model in ("Deal", "Contact", "SalesAccount"):
        if all(index.get(ext) is not None for ext in external_ids):
            return
        await index.load_parents(await _keyed_parents(account, key, (model,)))


async def _keyed_parents(
    account: Account, key: str, models: Sequence[str] = ("Contact", "SalesAccount", "Deal")
) -> list[tuple[str, str]]:
    """(model, id) of every record of `models` (contacts, accounts, deals) carrying `key` (a search
    page per 100)."""
    parents: list[tuple[str, str]] = []
    for model in models:
        tdef = BY_MODEL[model]
        page, total_pages = 1, 1
        while page <= total_pages:
            account.client.ensure(1, f"a search of {tdef.entity}")
            body = {"filter_rule": [{"attribute": key, "operator": "is_not_empty"}], "page": page, "per_page": 100}
            try:
                answer = await account.client.json("POST", f"filtered_search/{tdef.search}", json=body)
            except RemoteRejected as exc:
                if exc.status == 400:  # the entity has no such field: no keyed parents there
                    break
                raise
            parents += [(model, str(r["id"])) for r in (answer or {}).get(tdef.entity) or []]
            total_pages = int(((answer or {}).get("meta") or {}).get("total_pages") or 0)
            page += 1
    return parents


async def _count_documents(account: Account, key: str) -> int:
    total = 0
    for model, parent_id in await _keyed_parents(account, key):
        account.client.ensure(1, "a documents list")
        path = f"{BY_MODEL[model].entity}/{parent_id}/document_associations"
        answer = await account.client.json("GET", path, params={"page": 1, "per_page": 1})
        total += int(((answer or {}).get("meta") or {}).get("total") or 0)
    return total
