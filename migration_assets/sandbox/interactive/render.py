"""How the Interactive emulator renders CRM records, inline associations and paging (real shapes).

A record is `{"id": "<id>", "properties": {...}, "createdAt", "updatedAt", "archived"}` plus
`archivedAt` when archived and `associations` when asked for and not empty. `properties` holds the
requested properties that exist on the type (unknown ones are omitted, unset ones are null), always
with the create date, last-modified date and `hs_object_id`; without `properties` the type's default
set. Every value is a string. Paging is `{"next": {"after", "link"}}`, absent on the last page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from migration_assets.sandbox.interactive.objects import (
    ASSOCIATION_TYPES,
    CUSTOM_FQN,
    CUSTOM_TYPE_ID,
    ObjectType,
)
from migration_assets.sandbox.interactive.store import Record


def properties(otype: ObjectType, stored: Mapping[str, str], requested: Sequence[str] | None) -> dict[str, str | None]:
    """The `properties` object of a record: requested (or default) names that exist, plus the
    always-returned ones; values as stored (strings) or None."""
    names = list(otype.defaults if requested is None else requested)
    known = otype.by_name
    chosen = [n for n in dict.fromkeys([*names, *otype.always()]) if n in known]
    return {n: stored.get(n) for n in sorted(chosen)}


def association_key(otype: ObjectType) -> str:
    """The key of a type in a record's inline `associations` (the custom object's full name)."""
    return CUSTOM_FQN if otype.name == CUSTOM_TYPE_ID else otype.name


def render(
    otype: ObjectType,
    rec: Record,
    requested: Sequence[str] | None,
    links: Mapping[str, list[tuple[int, int]]] | None = None,
) -> dict[str, Any]:
    """One record as the API returns it.

    Args:
        otype: its type.
        rec: the stored record.
        requested: property names asked for (None: the defaults).
        links: {association key: [(to id, type id)]} for the inline `associations`.
    """
    out: dict[str, Any] = {
        "id": str(rec["id"]),
        "properties": properties(otype, rec["props"], requested),
        "createdAt": rec["created_at"],
        "updatedAt": rec["updated_at"],
        "archived": rec["archived"],
    }
    if rec["archived"]:
        out["archivedAt"] = rec["archived_at"]
    inline = {
        key: {"results": [{"id": str(to_id), "type": ASSOCIATION_TYPES[t].name} for to_id, t in pairs]}
        for key, pairs in (links or {}).items()
        if pairs
    }
    if inline:
        out["associations"] = inline
    return out


def next_page(request: Request, after: str) -> dict[str, Any]:
    """`paging` pointing at the next page: the same query with `after` replaced."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "after"] + [("after", after)]
    link = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(query)}"
    return {"next": {"after": after, "link": link}}
