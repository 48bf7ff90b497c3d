"""CreateMultiple and UpdateMultiple for rows whose existence the caller knows.

Real (reference §5): `POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple` with `Targets` (each with
the table's `@odata.type`) answers 200 `{"Ids": [...]}` in order; `UpdateMultiple` (`@odata.id` of
each record, here its alternate key or primary id) answers 204; each is all or nothing, counts once
for service protection and costs the server less per record than a `$batch` of single upserts.
Tables that do not take the messages answer 404 for the action segment.
Ours (the strategy): only rows that need one request each go this way (a non-default state needs a
second PATCH, activity parties their own handling: those go through `$batch`); a refused request
(any 4xx) or one whose answer is lost sends its rows through the `$batch` upsert instead, which
isolates the failing row and, being an upsert by key, cannot duplicate what a lost CreateMultiple
created. A table that answers 404 is remembered and not asked again in this session. The result of
an update carries no destination id: the caller knows it (the before-image it read).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from migration_assets.connectors.base import UpsertRow, WriteResult
from migration_assets.connectors.dataverse.metadata import TableMeta
from migration_assets.errors import AuthError, ConnectorError, RateLimited

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.loading import Prepared, Upserter

ACTION = "Microsoft.Dynamics.CRM"


def eligible(meta: TableMeta, rows: Sequence[UpsertRow]) -> bool:
    """Whether the bulk messages can take these rows at all (existence known, no activity parties)."""
    return bool(rows) and not meta.party_columns and all(r.exists is not None for r in rows)


def single(prepared: Prepared) -> bool:
    """A row written by one PATCH (no second state request)."""
    return len(prepared.parts) == 1 and prepared.parts[0].method == "PATCH"


async def send(
    upserter: Upserter, rows: Sequence[UpsertRow], prepared: list[Prepared], out: dict[int, WriteResult]
) -> list[Prepared]:
    """Write the single-request rows of `prepared` with CreateMultiple (new records) and
    UpdateMultiple (existing ones), their results into `out` by row index; returns the rows left
    for `$batch` (others, refused, lost)."""
    connector, meta = upserter.connector, upserter.meta
    if meta.entity.logical in connector.no_bulk_tables:
        return prepared
    rest = [p for p in prepared if not single(p)]
    creates = [p for p in prepared if single(p) and not rows[p.index].exists]
    updates = [p for p in prepared if single(p) and rows[p.index].exists]
    for message, group in (("CreateMultiple", creates), ("UpdateMultiple", updates)):
        if group:
            rest += await _send(upserter, message, rows, group, out)
    return rest


async def _send(
    upserter: Upserter, message: str, rows: Sequence[UpsertRow], group: list[Prepared], out: dict[int, WriteResult]
) -> list[Prepared]:
    connector, meta = upserter.connector, upserter.meta
    targets = [_target(upserter, message, rows[p.index], p) for p in group]
    path = f"{meta.entity.entity_set}/{ACTION}.{message}"
    try:
        response = await upserter.api.send("POST", path, json={"Targets": targets}, expect=(200, 204))
    except (AuthError, RateLimited):
        raise
    except ConnectorError as exc:  # refused, lost or unsupported: the $batch path decides per row
        if exc.status == 404:
            connector.no_bulk_tables.add(meta.entity.logical)
        return group
    ids = response.json().get("Ids", []) if response.status_code == 200 else []
    for n, p in enumerate(group):
        if message == "CreateMultiple":
            record_id = str(ids[n]) if n < len(ids) else p.record_id
            out[p.index] = WriteResult(rows[p.index].external_id, True, record_id, "created")
        else:
            out[p.index] = WriteResult(rows[p.index].external_id, True, p.record_id, "updated")
    return []


def _target(upserter: Upserter, message: str, row: UpsertRow, prepared: Prepared) -> dict:
    meta = upserter.meta
    part = prepared.parts[0]
    body = {"@odata.type": f"{ACTION}.{meta.entity.logical}", **dict(part.body or {})}
    if message == "UpdateMultiple":
        body["@odata.id"] = part.url.split("?", 1)[0]
    elif prepared.record_id:
        body[meta.entity.primary_id] = prepared.record_id
    else:
        body[upserter.key] = row.external_id
    return body
