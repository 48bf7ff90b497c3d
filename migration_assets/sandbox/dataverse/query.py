"""Collection reads: `$select`, `$filter`, `$orderby`, `$top`, `$count`, `/$count` and paging.

Real: `Prefer: odata.maxpagesize` (≤ 5,000, also the default), `@odata.nextLink` carrying
`$skiptoken` to follow unchanged, `$count` capped at 5,000, `$skip` refused, `$top` ignored when
a page size is requested. Invented: the skiptoken content (base64 of the last row's sort key;
real tokens are paging cookies) — clients must treat it as opaque either way.
Cost (ours): a query without `$orderby` reads its candidates through indexes in primary-id order
and stops at the page's end (scan.py), so keyed and `In` reads cost the same at any table size and
paging is keyset; `$orderby`, `$top` without a page size and `activitypointers` sort in memory.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from migration_assets.sandbox.dataverse import scan, store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, unknown_property
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.odata import Predicate, compile_filter, normalize, parse_filter, parse_orderby
from migration_assets.sandbox.dataverse.records import activity_tables
from migration_assets.sandbox.dataverse.render import check_query, renderer

MAX_PAGE = 5000
SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$expand"}


def check_parameters(entity: Entity, call: Call) -> None:
    """Refuse `$skip`, unknown system query options and unknown `$select`/`$expand` names."""
    if "$skip" in call.query:
        raise ODataError(400, "0x0", "The query parameter $skip is not supported.")
    for name in call.query:
        if name.startswith("$") and name not in SUPPORTED:
            raise ODataError(400, "0x0", f"The query parameter '{name}' is not supported.")
    check_query(entity, call)  # unknown $select/$expand names → 400 even with no rows


def matching(ctx: Ctx, entity: Entity, call: Call) -> list[tuple[dict[str, Any], int, dict[str, Any]]]:
    """(record data, version, flat output row) of every record passing `$filter`, sorted in memory."""
    check_parameters(entity, call)
    rows = []
    tables = activity_tables(ctx) if entity.logical_name == "activitypointer" else [entity.logical_name]
    for table in tables:
        for data, version in store.all_records(ctx.conn, table):
            rows.append((data, version, flat(entity, data)))
    text = call.query.get("$filter")
    if text:
        predicate = parse_filter(text, lambda name: resolve(entity, name))
        rows = [r for r in rows if predicate(r[2])]
    order = [(resolve(entity, name), desc) for name, desc in parse_orderby(call.query.get("$orderby"))]
    rows.sort(key=lambda r: sort_key(r[2], order, entity.primary_id))
    return rows


def resolve(entity: Entity, name: str) -> str:
    if entity.attribute_by_output(name) is None:
        raise unknown_property(name, entity.logical_name)
    return name


def flat(entity: Entity, data: dict[str, Any]) -> dict[str, Any]:
    """The record's properties by record-JSON name (lookups as their target id): what `$filter`,
    `$orderby` and skiptokens see."""
    row = {}
    for name, output, is_lookup, _ in entity.properties():
        value = data.get(name)
        row[output] = value["id"] if is_lookup and value else value
    return row


def sort_key(row: dict[str, Any], order: list[tuple[str, bool]], primary_id: str) -> list[Any]:
    """Nulls first ascending (SQL Server), then the primary id as a stable tie-breaker."""
    key: list[Any] = []
    for name, desc in order:
        value = row.get(name)
        rank = 0 if value is None else 1
        part = normalize(value) if value is not None else 0
        if desc:
            key.append(_Reverse((rank, part)))
        else:
            key.append((rank, part))
    key.append(str(row.get(primary_id)))
    return key


class _Reverse:
    """Wraps a value so it sorts in descending order inside an ascending sort."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and other.value == self.value


def page_size(call: Call) -> int | None:
    value = call.prefer_value("odata.maxpagesize")
    if value is None:
        return None
    try:
        size = int(value)
    except ValueError:
        raise ODataError(400, "0x0", f"Invalid odata.maxpagesize '{value}'.") from None
    return max(1, min(size, MAX_PAGE))


def keyset(call: Call, entity: Entity) -> bool:
    """Whether the query can be answered in primary-id order through indexes (scan.py)."""
    size = page_size(call)
    return not (
        entity.logical_name == "activitypointer"
        or parse_orderby(call.query.get("$orderby"))
        or (call.query.get("$top") is not None and size is None)
    )


def compiled(entity: Entity, call: Call) -> tuple[Predicate | None, list[Any]]:
    text = call.query.get("$filter")
    if not text:
        return None, []
    return compile_filter(text, lambda name: resolve(entity, name))


def collection(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """GET /<set>: one page of records, `@odata.count` and `@odata.nextLink` as needed."""
    if keyset(call, entity):
        return keyset_page(ctx, entity, call)
    rows = matching(ctx, entity, call)
    size = page_size(call)
    top = call.query.get("$top")
    if top is not None and size is None:
        try:
            rows = rows[: max(0, int(top))]
        except ValueError:
            raise ODataError(400, "0x0", f"Invalid value '{top}' for $top.") from None
    order = [(resolve(entity, n), d) for n, d in parse_orderby(call.query.get("$orderby"))]
    start = 0
    token = call.query.get("$skiptoken")
    if token:
        start = _position(rows, _decode(token), order, entity.primary_id)
    limit = size or MAX_PAGE
    page = rows[start : start + limit]
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/$metadata#{entity.entity_set}"}
    if call.query.get("$count") == "true":
        body["@odata.count"] = min(len(rows), MAX_PAGE)
        if len(rows) > MAX_PAGE:
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
    one = renderer(ctx, entity, call)
    body["value"] = [one(data, version) for data, version, _ in page]
    if start + limit < len(rows):
        body["@odata.nextLink"] = _next_link(ctx, entity, call, _encode(page[-1][2], order, entity.primary_id))
    return Result(200, body, {"Preference-Applied": f"odata.maxpagesize={size}"} if size else {})


def keyset_page(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """One page read in primary-id order from after the skiptoken's id, stopping at the page's end."""
    check_parameters(entity, call)
    predicate, constraints = compiled(entity, call)
    size = page_size(call)
    limit = size or MAX_PAGE
    token = call.query.get("$skiptoken")
    after = str(_decode(token).get("id") or "") if token else ""
    page: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
    more = False
    for _, data, version in scan.candidates(ctx, entity, constraints, after):
        row = flat(entity, data)
        if predicate is not None and not predicate(row):
            continue
        if len(page) == limit:
            more = True
            break
        page.append((data, version, row))
    body: dict[str, Any] = {"@odata.context": f"{ctx.base_url}/$metadata#{entity.entity_set}"}
    if call.query.get("$count") == "true":
        total = count_matching(ctx, entity, predicate, constraints)
        body["@odata.count"] = min(total, MAX_PAGE)
        if total > MAX_PAGE:
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
    one = renderer(ctx, entity, call)
    body["value"] = [one(data, version) for data, version, _ in page]
    if more:
        body["@odata.nextLink"] = _next_link(ctx, entity, call, _encode(page[-1][2], [], entity.primary_id))
    return Result(200, body, {"Preference-Applied": f"odata.maxpagesize={size}"} if size else {})


def count_matching(ctx: Ctx, entity: Entity, predicate: Predicate | None, constraints: list[Any]) -> int:
    """How many records pass the filter (an SQL count when there is none)."""
    if predicate is None:
        return scan.count_all(ctx, entity)
    return sum(1 for _, data, _ in scan.candidates(ctx, entity, constraints) if predicate(flat(entity, data)))


def count(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """GET /<set>/$count → text/plain, capped at 5,000 like the real service."""
    if entity.logical_name == "activitypointer":
        return Result(200, str(min(len(matching(ctx, entity, call)), MAX_PAGE)))
    check_parameters(entity, call)
    predicate, constraints = compiled(entity, call)
    return Result(200, str(min(count_matching(ctx, entity, predicate, constraints), MAX_PAGE)))


def _encode(row: dict[str, Any], order: list[tuple[str, bool]], primary_id: str) -> str:
    payload = {"v": [row.get(n) for n, _ in order], "id": row.get(primary_id)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise ODataError(400, "0x0", "The $skiptoken is not valid.") from None


def _position(rows: list[Any], token: dict[str, Any], order: list[tuple[str, bool]], primary_id: str) -> int:
    """Index of the first row after the token's row in the current sort order."""
    marker = {primary_id: token["id"], **{n: v for (n, _), v in zip(order, token["v"], strict=False)}}
    mark_key = sort_key(marker, order, primary_id)
    for index, row in enumerate(rows):
        if _after(sort_key(row[2], order, primary_id), mark_key):
            return index
    return len(rows)


def _after(key: list[Any], mark: list[Any]) -> bool:
    return mark < key


def _next_link(ctx: Ctx, entity: Entity, call: Call, token: str) -> str:
    params = {k: v for k, v in call.query.items() if k != "$skiptoken"}
    params["$skiptoken"] = token
    return f"{ctx.base_url}/{entity.entity_set}?{urlencode(params)}"
