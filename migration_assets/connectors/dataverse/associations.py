"""Many-to-many relationships exposed to the loader as pseudo-tables named after the relationship.

Real API (reference §4): associate with `POST /<set1>(<id1>)/<nav1>/$ref`
`{"@odata.id": "<base>/<set2>(<id2>)"}` → 204; disassociate with
`DELETE /<set1>(<id1>)/<nav1>/$ref?$id=<base>/<set2>(<id2>)` → 204; the related records are read
with `$expand=<nav1>($select=<id>)` on a `Microsoft.Dynamics.CRM.In` query of the first table.

Ours (the pseudo-table contract):
- table: the relationship's SchemaName (lower case), e.g. `bd_contact_spouse`; its two columns are
  the intersect attributes (`contactidone`/`contactidtwo` for a table linked to itself, else
  `<entity1>id`/`<entity2>id`), lookups to Entity1 and Entity2.
- upsert: each row's two lookups name the pair; already associated pairs are left alone
  ("updated"), the others are associated ("created"); a duplicate refusal (a retried request whose
  first answer was lost) counts as success. The destination id of a pair is `"<id1>,<id2>"`.
- key and external ids: the external id of a pair is `"<ext1>|<ext2>"` and `key` names the
  alternate-key column of each side, `"<key>"` (the same on both sides) or `"<key1>|<key2>"`;
  read_back resolves both sides by those keys, so it needs no state kept between runs. Rows whose
  lookups are missing are resolved the same way on upsert.
- delete: disassociate (a pair no longer associated counts as deleted); count: every pair of the
  relationship (Dataverse cannot tell who created a pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.base import UpsertRow, WriteResult
from migration_assets.connectors.dataverse.batch import BatchRequest, PartResponse, group_error
from migration_assets.connectors.dataverse.metadata import Relationship
from migration_assets.connectors.dataverse.odata import in_filter, literal
from migration_assets.connectors.dataverse.settings import IN_FILTER_CHUNK

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseDestination

SEPARATOR = "|"
DUPLICATE = "0x80040237"


def pair_id(first: str, second: str) -> str:
    return f"{first},{second}"


def split_pair(value: str) -> tuple[str, str] | None:
    first, sep, second = value.partition(",")
    return (first, second) if sep and first and second else None


def side_keys(key: str) -> tuple[str, str]:
    first, sep, second = key.partition(SEPARATOR)
    return (first, second) if sep else (first, first)


class Associations:
    """Associate, read and disassociate the pairs of many-to-many relationships.

    Args:
        connector: the DataverseDestination (api, metadata, batching and paging are reused).
    """

    def __init__(self, connector: DataverseDestination) -> None:
        self.connector = connector

    async def _set(self, table: str) -> tuple[str, str]:
        entity = await self.connector.meta.entity(table)
        return entity.entity_set, entity.primary_id

    def _uri(self, entity_set: str, record_id: str) -> str:
        base = str(self.connector.session.client.base_url).rstrip("/")
        return f"{base}{self.connector.api.prefix}/{entity_set}({record_id})"

    async def upsert(self, rel: Relationship, key: str, rows: Sequence[UpsertRow]) -> list[WriteResult]:
        """Associate each row's pair unless it is associated already."""
        pairs = await self._pairs(rel, key, rows)
        existing = await self.related(rel, sorted({p[0] for p in pairs.values() if p}))
        set1, _ = await self._set(rel.entity1)
        set2, _ = await self._set(rel.entity2)
        todo = [(i, p) for i, p in pairs.items() if p and p[1] not in existing.get(p[0], set())]
        groups = [
            BatchRequest(
                "POST", f"{self.connector.api.prefix}/{set1}({a})/{rel.nav1}/$ref", {"@odata.id": self._uri(set2, b)}
            )
            for _, (a, b) in todo
        ]
        answers = await self.connector.batch_groups(groups)
        failed = {i: _error(answers, n) for n, (i, _) in enumerate(todo)}
        out = []
        for i, row in enumerate(rows):
            pair = pairs[i]
            if pair is None:
                out.append(
                    WriteResult(row.external_id, ok=False, error=f"{rel.name}: the pair's records were not found")
                )
            elif failed.get(i):
                out.append(WriteResult(row.external_id, ok=False, error=failed[i]))
            else:
                operation = "created" if i in failed else "updated"
                out.append(WriteResult(row.external_id, ok=True, destination_id=pair_id(*pair), operation=operation))
        return out

    async def _pairs(self, rel: Relationship, key: str, rows: Sequence[UpsertRow]) -> dict[int, tuple[str, str] | None]:
        """(id1, id2) per row from its lookups, else from its external id and the sides' keys."""
        pairs: dict[int, tuple[str, str] | None] = {}
        unresolved = []
        for i, row in enumerate(rows):
            first, second = row.lookups.get(rel.column1), row.lookups.get(rel.column2)
            if first and second and first.id and second.id:
                pairs[i] = (first.id.lower(), second.id.lower())
            else:
                unresolved.append(i)
        if unresolved:
            found = await self.resolve(rel, key, [rows[i].external_id for i in unresolved])
            pairs.update({i: found.get(rows[i].external_id) for i in unresolved})
        return pairs

    async def resolve(self, rel: Relationship, key: str, external_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """{external id: (id1, id2)} for `"<ext1>|<ext2>"` ids whose two sides exist."""
        key1, key2 = side_keys(key)
        halves = {e: e.split(SEPARATOR, 1) for e in external_ids if SEPARATOR in e}
        ids1 = await self._by_key(rel.entity1, key1, [h[0] for h in halves.values()])
        ids2 = await self._by_key(rel.entity2, key2, [h[1] for h in halves.values()])
        out = {}
        for ext, (a, b) in halves.items():
            if a.casefold() in ids1 and b.casefold() in ids2:
                out[ext] = (ids1[a.casefold()], ids2[b.casefold()])
        return out

    async def _by_key(self, table: str, key: str, values: Sequence[str]) -> dict[str, str]:
        entity_set, primary_id = await self._set(table)
        found: dict[str, str] = {}
        unique = sorted(set(values))
        for start in range(0, len(unique), IN_FILTER_CHUNK):
            params = {
                "$select": f"{primary_id},{key}",
                "$filter": in_filter(key, unique[start : start + IN_FILTER_CHUNK]),
            }
            async for page in self.connector.api.pages(entity_set, params, self.connector.page_size):
                found.update({str(r[key]).casefold(): str(r[primary_id]) for r in page if r.get(key) is not None})
        return found

    async def related(self, rel: Relationship, first_ids: Sequence[str]) -> dict[str, set[str]]:
        """{id1: {id2, ...}}: the records of Entity2 associated with each given Entity1 record."""
        set1, pid1 = await self._set(rel.entity1)
        _, pid2 = await self._set(rel.entity2)
        out: dict[str, set[str]] = {}
        for start in range(0, len(first_ids), IN_FILTER_CHUNK):
            params = {
                "$select": pid1,
                "$filter": in_filter(pid1, first_ids[start : start + IN_FILTER_CHUNK]),
                "$expand": f"{rel.nav1}($select={pid2})",
            }
            async for page in self.connector.api.pages(set1, params, self.connector.page_size):
                for record in page:
                    out[str(record[pid1])] = {str(r[pid2]) for r in record.get(rel.nav1) or []}
        return out

    async def read_back(
        self, rel: Relationship, key: str, external_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Associated pairs by external id: {ext: {"id": "<id1>,<id2>", column1: id1, column2: id2}}."""
        found = await self.resolve(rel, key, external_ids)
        related = await self.related(rel, sorted({p[0] for p in found.values()}))
        return {ext: self._row(rel, a, b, columns) for ext, (a, b) in found.items() if b in related.get(a, set())}

    async def read_by_ids(self, rel: Relationship, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict]:
        """Associated pairs by destination id `"<id1>,<id2>"`."""
        pairs = {i: p for i in ids if (p := split_pair(i))}
        related = await self.related(rel, sorted({p[0] for p in pairs.values()}))
        out = {}
        for i, (a, b) in pairs.items():
            if b in related.get(a, set()):
                out[i] = {k: v for k, v in self._row(rel, a, b, columns).items() if k != "id"}
        return out

    def _row(self, rel: Relationship, first: str, second: str, columns: Sequence[str]) -> dict[str, Any]:
        values = {rel.column1: first, rel.column2: second}
        return {"id": pair_id(first, second), **{c: values.get(c) for c in columns}}

    async def delete(self, rel: Relationship, ids: Sequence[str]) -> list[WriteResult]:
        """Disassociate pairs by destination id; a pair already apart counts as deleted."""
        set1, _ = await self._set(rel.entity1)
        set2, _ = await self._set(rel.entity2)
        pairs = [(i, split_pair(i)) for i in ids]
        groups = [
            BatchRequest(
                "DELETE", f"{self.connector.api.prefix}/{set1}({p[0]})/{rel.nav1}/$ref?$id={self._uri(set2, p[1])}"
            )
            for _, p in pairs
            if p
        ]
        answers = iter(await self._answers(groups))
        out = []
        for record_id, pair in pairs:
            error = f"{record_id!r} is not a pair '<id1>,<id2>'" if pair is None else next(answers)
            out.append(
                WriteResult(
                    record_id,
                    ok=error is None,
                    destination_id=record_id,
                    operation="deleted" if error is None else None,
                    error=error,
                )
            )
        return out

    async def _answers(self, groups: list[BatchRequest]) -> list[str | None]:
        answers = await self.connector.batch_groups(groups)
        errors = []
        for n in range(len(groups)):
            status, error = group_error(answers, n)
            errors.append(None if error is None or status == 404 else error)
        return errors

    async def count(self, rel: Relationship) -> int:
        """Every associated pair of the relationship (paging through Entity1 with its related rows)."""
        set1, pid1 = await self._set(rel.entity1)
        _, pid2 = await self._set(rel.entity2)
        params = {"$select": pid1, "$expand": f"{rel.nav1}($select={pid2})", "$filter": f"{pid1} ne {literal(None)}"}
        total = 0
        async for page in self.connector.api.pages(set1, params, self.connector.page_size):
            total += sum(len(r.get(rel.nav1) or []) for r in page)
        return total


def _error(answers: list[list[PartResponse]] | str, n: int) -> str | None:
    """The error of association `n`, None when it succeeded or the pair was associated already."""
    _, error = group_error(answers, n)
    if error is not None and error.startswith(DUPLICATE):
        return None
    return error


__all__ = ["Associations"]
