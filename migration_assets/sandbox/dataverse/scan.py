"""Reading the candidate records of a collection query through SQLite indexes, in primary-id order.

A `$filter` conjunct `x eq v` or `Microsoft.Dynamics.CRM.In(PropertyName='x',...)` (odata.Constraint)
narrows the rows read: on the primary id through the records' primary key, on a one-column
alternate key through `record_keys`; on any other column SQLite compares the JSON value itself
(`json_extract`, no Python decoding of rows that cannot match). Every candidate still passes the
full `$filter` predicate afterwards, so the narrowing only changes the cost, never the result.
Rows come in primary-id order from the `records` primary key, so paging reads from the last id of
the previous page (keyset) instead of sorting the whole table per page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from migration_assets.sandbox.dataverse.core import Ctx
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.odata import Constraint, is_guid
from migration_assets.sandbox.dataverse.references import key_value

CHUNK = 500
TEXT_TYPES = frozenset({"String", "Memo"})
NUMBER_TYPES = frozenset({"Integer", "BigInt", "Decimal", "Money", "Double", "Picklist", "State", "Status"})

Row = tuple[str, dict[str, Any], int]  # (id, data, version)


def candidates(ctx: Ctx, entity: Entity, constraints: list[Constraint], after: str = "") -> Iterator[Row]:
    """Records of `entity` with an id greater than `after`, in id order, narrowed by a constraint."""
    ids = indexed_ids(ctx, entity, constraints)
    if ids is not None:
        yield from _by_ids(ctx, entity, sorted(i for i in ids if i > after))
        return
    where, params = _narrowing(entity, constraints)
    cursor = ctx.conn.execute(
        f"select id, data, version from records where entity = ? and id > ?{where} order by id",
        (entity.logical_name, after, *params),
    )
    while rows := cursor.fetchmany(CHUNK):
        for row in rows:
            yield row["id"], json.loads(row["data"]), int(row["version"])


def count_all(ctx: Ctx, entity: Entity) -> int:
    row = ctx.conn.execute("select count(*) as n from records where entity = ?", (entity.logical_name,))
    return int(row.fetchone()["n"])


def indexed_ids(ctx: Ctx, entity: Entity, constraints: list[Constraint]) -> set[str] | None:
    """Ids allowed by the first constraint an index answers (primary id first), or None."""
    for key, values in sorted(constraints, key=lambda c: c[0] != entity.primary_id):
        if key == entity.primary_id:
            return {str(v).lower() for v in values if isinstance(v, str) and is_guid(v)}
        attribute = entity.attribute_by_output(key)
        if attribute is None or attribute.is_lookup:
            continue
        index = next(
            (k for k in entity.keys.values() if k.attributes == [attribute.logical_name] and not k.failed), None
        )
        if index is None:
            continue
        wanted = [key_value([v]) for v in values if v is not None]
        found: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            rows = ctx.conn.execute(
                f"select id from record_keys where entity = ? and key_name = ? and value in ({_marks(part)})",
                (entity.logical_name, index.logical_name, *part),
            )
            found.update(r["id"] for r in rows)
        return found
    return None


def _by_ids(ctx: Ctx, entity: Entity, ids: list[str]) -> Iterator[Row]:
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        rows = ctx.conn.execute(
            f"select id, data, version from records where entity = ? and id in ({_marks(part)}) order by id",
            (entity.logical_name, *part),
        )
        for row in rows:
            yield row["id"], json.loads(row["data"]), int(row["version"])


def _narrowing(entity: Entity, constraints: list[Constraint]) -> tuple[str, list[Any]]:
    """An SQL condition on the JSON document implied by one constraint ("" when none applies)."""
    for key, values in constraints:
        attribute = entity.attribute_by_output(key)
        if attribute is None or not values or len(values) > CHUNK:
            continue
        if not all((isinstance(v, str) and v.isascii()) or _number(v) for v in values):
            continue  # SQLite's lower() folds ASCII only; other text is left to the predicate
        if attribute.is_lookup and all(isinstance(v, str) for v in values):
            path = f"$.{attribute.logical_name}.id"
            return f" and lower(json_extract(data, ?)) in ({_marks(values)})", [path, *(v.lower() for v in values)]
        path = f"$.{attribute.logical_name}"
        if attribute.type in TEXT_TYPES and all(isinstance(v, str) for v in values):
            return f" and lower(json_extract(data, ?)) in ({_marks(values)})", [path, *(v.lower() for v in values)]
        if attribute.type in NUMBER_TYPES and all(_number(v) for v in values):
            return f" and json_extract(data, ?) in ({_marks(values)})", [path, *values]
    return "", []


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))
