"""Record JSON as the Web API returns it: `_<lookup>_value` columns, `@odata.etag`, annotations
with `Prefer: odata.include-annotations`, `$select` and `$expand` of single-valued navigation
properties, activity parties and many-to-many collections (reference sections 3-4).

Ours: an expanded many-to-many collection lists every related record (no nested paging).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, unknown_property
from migration_assets.sandbox.dataverse.model import Attribute, Entity
from migration_assets.sandbox.dataverse.odata import parse_expand, parse_select
from migration_assets.sandbox.dataverse.parties import parties_property, render_parties


def render(ctx: Ctx, entity: Entity, data: dict[str, Any], version: int, call: Call | None = None) -> dict[str, Any]:
    """Record JSON as the Web API returns it (`_x_value` lookups, `@odata.etag`, annotations)."""
    return renderer(ctx, entity, call)(data, version)


def renderer(ctx: Ctx, entity: Entity, call: Call | None = None) -> Callable[[dict[str, Any], int], dict[str, Any]]:
    """`render` for many records of one call: its `$select`, annotations and `$expand` are read
    once, not per record."""
    select = output_names(entity, parse_select(call.query.get("$select")) if call else None)
    annotate = call is not None and "odata.include-annotations" in call.headers.get("prefer", "")
    columns = [p for p in entity.properties() if p.output_name in select]
    expanding = call if call is not None and call.query.get("$expand") else None

    def one(data: dict[str, Any], version: int) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": f'W/"{version}"'}
        for logical_name, name, is_lookup, attribute in columns:
            value = data.get(logical_name)
            if is_lookup:
                out[name] = value["id"] if value else None
                if annotate and value:
                    out[f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = value["type"]
                    out[f"{name}@Microsoft.Dynamics.CRM.associatednavigationproperty"] = _nav_for(
                        entity, attribute, value["type"]
                    )
            else:
                out[name] = value
                if annotate and attribute.options and value is not None:
                    label = next((o["Label"] for o in attribute.options if o["Value"] == value), None)
                    out[f"{name}@OData.Community.Display.V1.FormattedValue"] = label
        if expanding is not None:
            expand(ctx, entity, data, expanding, out)
        return out

    return one


def _nav_for(entity: Entity, attribute: Attribute, target: str) -> str:
    return next(
        (n.name for n in entity.navs.values() if n.attribute == attribute.logical_name and n.target in (target, "*")),
        attribute.logical_name,
    )


def output_names(entity: Entity, select: list[str] | None) -> set[str]:
    """The record-JSON names to return; unknown `$select` names → 400 0x0 (real text)."""
    names = entity.property_names()
    if select is None:
        return set(names)
    for name in select:
        if name not in names:
            raise ODataError(
                400,
                "0x0",
                f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
            )
    return {*select, entity.primary_id}


def check_query(entity: Entity, call: Call) -> None:
    """Validate `$select`/`$expand` names up front (also when no record matches)."""
    output_names(entity, parse_select(call.query.get("$select")))
    for name in parse_expand(call.query.get("$expand")):
        if name not in entity.navs and name not in entity.collections and name != parties_property(entity):
            raise unknown_property(name, entity.logical_name)


def expand(ctx: Ctx, entity: Entity, data: dict[str, Any], call: Call, out: dict[str, Any]) -> None:
    """Add each expanded navigation property: the related record (its own `$select`) or null."""
    for name, options in parse_expand(call.query.get("$expand")).items():
        if name == parties_property(entity):
            out[name] = render_parties(data)
            continue
        if name in entity.collections:
            out[name] = related(ctx, entity, data, name, options, call)
            continue
        nav = entity.navs.get(name)
        if nav is None:
            raise unknown_property(name, entity.logical_name)
        value = data.get(nav.attribute)
        out[name] = None
        if not value or nav.target not in ("*", value["type"]):
            continue
        target = ctx.catalog.entities[value["type"]]
        found = store.get_record(ctx.conn, target.logical_name, value["id"])
        if found:
            inner = Call("GET", "", dict(options), call.headers)
            out[name] = render(ctx, target, found[0], found[1], inner)


def related(ctx: Ctx, entity: Entity, data: dict[str, Any], name: str, options: dict[str, str], call: Call) -> list:
    """Rendered records related through the many-to-many navigation property `name`."""
    nav = entity.collections[name]
    target = ctx.catalog.entities[nav.target]
    inner = Call("GET", "", dict(options), call.headers)
    output_names(target, parse_select(inner.query.get("$select")))  # unknown names → 400
    out = []
    for other in store.related_ids(ctx.conn, nav.relationship, nav.side, data[entity.primary_id]):
        found = store.get_record(ctx.conn, target.logical_name, other)
        if found:
            out.append(render(ctx, target, found[0], found[1], inner))
    return out
