"""Upserting rows in `$batch`es of atomic change sets, and isolating the rows that fail.

Real (reference §5): a change set is all-or-nothing; with `Prefer: odata.continue-on-error` a failed
change set answers with one error part and the other change sets of the batch still run.
Ours (the loading strategy): up to `records_per_changeset` rows share one change set (fewer parts
and round trips); when a change set fails, none of its rows was written, so its rows are sent
again one per change set: the failing row gets its own error and the others load
("transaction-level rollback on partial failures").

Rows are addressed by alternate key (`PATCH /<set>(<key>='<value>')`), or, when `key` is the
table's primary id column, by a deterministic GUID (`PATCH /<set>(<uuid5>)`, records.deterministic_id)
for tables that cannot take a custom alternate key (workflow, processstage, annotation...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.base import LookupRef, UpsertRow, WriteResult
from migration_assets.connectors.dataverse import bulk, records
from migration_assets.connectors.dataverse.batch import BatchRequest, PartResponse
from migration_assets.connectors.dataverse.metadata import EntityMeta, TableMeta
from migration_assets.connectors.dataverse.odata import in_filter, key_problem
from migration_assets.connectors.dataverse.settings import IN_FILTER_CHUNK

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseDestination


@dataclass
class Prepared:
    """One row ready to send: its position, its requests, and its primary id when addressed by it."""

    index: int
    parts: list[BatchRequest]
    record_id: str | None = None


class Upserter:
    """Sends one chunk of rows of one table.

    Args:
        connector: the DataverseDestination (api, metadata, batching, options).
        meta: the table.
        key: the alternate-key column, or the primary id column (deterministic GUIDs).
        sets: table -> entity set of every lookup target.
    """

    def __init__(self, connector: DataverseDestination, meta: TableMeta, key: str, sets: Mapping[str, str]) -> None:
        self.connector, self.meta, self.key, self.sets = connector, meta, key, sets
        self.by_id = key == meta.entity.primary_id
        self.api = connector.api

    def record_id(self, external_id: str) -> str | None:
        if not self.by_id:
            return None
        return records.deterministic_id(self.connector.id_namespace, self.meta.entity.logical, external_id)

    async def run(self, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """One WriteResult per row, in order (sent by the identity `connector.writer` picks)."""
        self.api = self.connector.writer(rows)
        self.api.assigned += 1
        try:
            return await self._run(rows)
        finally:
            self.api.assigned -= 1

    async def _run(self, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        if self.api is not self.connector.api and "ownerid" in self.meta.info.columns:
            rows = await self._owned(rows)
        out: dict[int, WriteResult] = {}
        existing = self._known(rows)
        if existing is None and records.needs_existence(rows):
            existing = await self._existing(rows)
        extras = await self.connector.parties.bodies(self.meta, rows) if self.meta.party_columns else [{}] * len(rows)
        prepared = []
        for i, row in enumerate(rows):
            item = self._prepare(i, row, existing, extras[i])
            if isinstance(item, str):
                out[i] = WriteResult(row.external_id, ok=False, error=item)
            else:
                prepared.append(item)
        if bulk.eligible(self.meta, rows):
            prepared = await bulk.send(self, rows, prepared, out)
        size = self.connector.records_per_changeset
        failed = await self._send([prepared[n : n + size] for n in range(0, len(prepared), size)], rows, out)
        if failed:  # isolate: one row per change set, so only the failing row keeps an error
            await self._send([[p] for p in failed], rows, out)
        return [out[i] for i in range(len(rows))]

    def _prepare(
        self, index: int, row: UpsertRow, existing: set[str] | None, extra: Mapping[str, Any] | str
    ) -> Prepared | str:
        """The row's requests, or why it cannot be sent."""
        if isinstance(extra, str):
            return extra
        record_id = self.record_id(row.external_id)
        exists = None if existing is None else (record_id or row.external_id).casefold() in existing
        prefix = self.connector.api.prefix
        try:
            parts = records.upsert_parts(
                row, self.key, self.meta, self.sets, prefix, exists, record_id=record_id, extra=extra
            )
        except ValueError as exc:
            return str(exc)
        return Prepared(index, parts, record_id)

    async def _send(
        self, sets: list[list[Prepared]], rows: Sequence[UpsertRow], out: dict[int, WriteResult]
    ) -> list[Prepared]:
        """Send change sets; record the rows' results; return the rows of failed multi-row sets."""
        if not sets:
            return []
        answers = await self.connector.batch_groups(
            [[part for p in group for part in p.parts] for group in sets], self.api
        )
        retry: list[Prepared] = []
        for n, group in enumerate(sets):
            responses = _responses(answers, n)
            if isinstance(responses, str) or any(not r.ok for r in responses):
                error = responses if isinstance(responses, str) else _first_error(responses)
                if len(group) > 1:
                    retry.extend(group)
                else:
                    out[group[0].index] = WriteResult(rows[group[0].index].external_id, ok=False, error=error)
                continue
            offset = 0
            for prepared in group:
                mine = responses[offset : offset + len(prepared.parts)]
                offset += len(prepared.parts)
                result = records.upsert_result(rows[prepared.index], mine, self.meta.entity.primary_id)
                if result.ok and prepared.record_id and not result.destination_id:
                    result = WriteResult(result.external_id, True, prepared.record_id, result.operation)
                out[prepared.index] = result
        return retry

    async def _owned(self, rows: Sequence[UpsertRow]) -> list[UpsertRow]:
        """New records without an owner get the primary identity's user, as its own creates would."""
        owner = LookupRef(self.connector.user_table, await self.connector.owner())
        if owner.table not in self.sets:
            self.sets = {**self.sets, **await self.connector._sets({owner.table})}
        return [
            replace(r, lookups={**r.lookups, "ownerid": owner})
            if r.exists is False and "ownerid" not in r.lookups
            else r
            for r in rows
        ]

    def _known(self, rows: Sequence[UpsertRow]) -> set[str] | None:
        """The existing records' keys as `_existing` gives them, when the caller said for every row."""
        if any(r.exists is None for r in rows):
            return None
        return {(self.record_id(r.external_id) or r.external_id).casefold() for r in rows if r.exists}

    async def _existing(self, rows: Sequence[UpsertRow]) -> set[str]:
        """Casefolded key values (or primary ids) of the rows' records that exist already."""
        if self.by_id:
            ids = [self.record_id(r.external_id) or "" for r in rows]
            entity = self.meta.entity
            return {k.casefold() for k in await read_column(self.connector, entity, entity.primary_id, ids)}
        values = [r.external_id for r in rows if not key_problem(r.external_id)]
        return {k.casefold() for k in await read_column(self.connector, self.meta.entity, self.key, values)}


async def read_many(
    connector: DataverseDestination,
    entity: EntityMeta,
    column: str,
    values: Sequence[str],
    select: str | None = None,
    expand: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Records whose `column` is in `values`, by the casefolded value: the whole table paged through
    (`column ne null`, 5,000 a page) while that takes fewer requests than `In` filters of 100 would,
    else (a table much larger than `values`) by `In` filters."""
    wanted = {v.casefold() for v in values}
    budget = -(-len(wanted) // IN_FILTER_CHUNK)  # requests the In filters would take
    params = {
        "$select": select or records.select_list([column], set(), entity.primary_id),
        "$filter": f"{column} ne null",
    }
    if expand:
        params["$expand"] = expand
    found: dict[str, dict[str, Any]] = {}
    pages = 0
    async for page in connector.api.pages(entity.entity_set, params, connector.page_size):
        pages += 1
        for record in page:
            value = record.get(column)
            if value is not None and str(value).casefold() in wanted:
                found[str(value).casefold()] = record
        if pages >= budget and len(page) == connector.page_size:
            unique = list(dict.fromkeys(values))
            chunks = [unique[i : i + IN_FILTER_CHUNK] for i in range(0, len(unique), IN_FILTER_CHUNK)]
            jobs = [lambda c=c: read_column(connector, entity, column, c, select, expand) for c in chunks]
            return {k.casefold(): r for part in await connector._gather(jobs) for k, r in part.items()}
    return found


async def read_column(
    connector: DataverseDestination,
    entity: EntityMeta,
    column: str,
    values: Sequence[str],
    select: str | None = None,
    expand: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Records whose `column` is in `values`, by that column's value (chunks of ≤ 100, all pages)."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_FILTER_CHUNK):
        params = {
            "$select": select or records.select_list([column], set(), entity.primary_id),
            "$filter": in_filter(column, unique[start : start + IN_FILTER_CHUNK]),
        }
        if expand:
            params["$expand"] = expand
        async for page in connector.api.pages(entity.entity_set, params, connector.page_size):
            found.update({str(r[column]): r for r in page if r.get(column) is not None})
    return found


def _responses(answers: list[list[PartResponse]] | str, n: int) -> list[PartResponse] | str:
    if isinstance(answers, str):
        return answers
    if n >= len(answers) or not answers[n]:
        return "not processed: the batch stopped early"
    return answers[n]


def _first_error(responses: Sequence[PartResponse]) -> str:
    failed = next((r for r in responses if not r.ok), None)
    return failed.error_text() if failed else "no response for this change set"
