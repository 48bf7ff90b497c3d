"""Many-to-many relationships: their metadata (create, read) and their pairs (associate,
disassociate, read through the collection-valued navigation properties).

Real (reference §4 and §8): `POST RelationshipDefinitions` with `ManyToManyRelationshipMetadata`
(`SchemaName`, `Entity1LogicalName`, `Entity2LogicalName`, `IntersectEntityName`, navigation
property names) → 204 + `OData-EntityId`; `GET RelationshipDefinitions/Microsoft.Dynamics.CRM.
ManyToManyRelationshipMetadata` and `EntityDefinitions(...)/ManyToManyRelationships`; associate
`POST /<set>(<id>)/<nav>/$ref` `{"@odata.id": "<uri>"}` → 204; disassociate `DELETE
/<set>(<id>)/<nav>/$ref?$id=<uri>` or `DELETE /<set>(<id>)/<nav>(<id2>)/$ref` → 204; related rows
with `GET /<set>(<id>)/<nav>` and `$expand=<nav>`. Navigation properties default to the
SchemaName; a table linked to itself needs two distinct names; intersect attributes default to
`<e1>id`/`<e2>id` (`<e>idone`/`<e>idtwo` for a table linked to itself).
Invented/unconfirmed: the texts of the refusals; associating a pair twice answers 400 0x80040237
"Cannot insert duplicate key."; disassociating a pair that is not associated answers 204; the
intersect table is not listed among EntityDefinitions.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, not_found_segment
from migration_assets.sandbox.dataverse.customize import add_component, bad, body_of, check_schema_name, odata_type
from migration_assets.sandbox.dataverse.model import CollectionNav, Entity, ManyToMany, save_entities
from migration_assets.sandbox.dataverse.odata import split_segment
from migration_assets.sandbox.dataverse.references import missing, resolve_reference
from migration_assets.sandbox.dataverse.render import related

DUPLICATE = ODataError(400, "0x80040237", "Cannot insert duplicate key.")


def intersect_attributes(entity1: str, entity2: str) -> tuple[str, str]:
    if entity1 == entity2:
        return f"{entity1}idone", f"{entity1}idtwo"
    return f"{entity1}id", f"{entity2}id"


def create(ctx: Ctx, call: Call) -> Result:
    """POST RelationshipDefinitions with a ManyToManyRelationshipMetadata body."""
    body = body_of(call)
    odata_type(body, "ManyToManyRelationshipMetadata")
    schema = body.get("SchemaName")
    check_schema_name(ctx, schema, "relationship")
    first, second = (ctx.catalog.entity(str(body.get(k))) for k in ("Entity1LogicalName", "Entity2LogicalName"))
    if first is None or second is None:
        raise ODataError(404, "0x80040217", "Entity1LogicalName or Entity2LogicalName does not exist.")
    intersect = body.get("IntersectEntityName")
    if not isinstance(intersect, str) or not intersect:
        raise bad("IntersectEntityName is required for a many-to-many relationship.")
    taken = any(r.schema_name.lower() == str(schema).lower() for r in ctx.catalog.relationships.values())
    if taken or any(n.relationship == schema for e in ctx.catalog.entities.values() for n in e.navs.values()):
        raise bad(f"A relationship with the name {schema} already exists.", "0x80044363")
    nav1 = str(body.get("Entity1NavigationPropertyName") or schema)
    nav2 = str(body.get("Entity2NavigationPropertyName") or schema)
    if first.logical_name == second.logical_name and nav1 == nav2:
        raise bad("A relationship between a table and itself needs two different navigation property names.")
    for entity, nav in ((first, nav1), (second, nav2)):
        if nav in entity.navs or nav in entity.collections or nav in entity.attributes:
            raise bad(f"The navigation property name {nav} is already used on {entity.logical_name}.", "0x80044363")
    default1, default2 = intersect_attributes(first.logical_name, second.logical_name)
    relationship = ManyToMany(
        schema_name=str(schema),
        entity1=first.logical_name,
        entity2=second.logical_name,
        intersect=intersect.lower(),
        attribute1=str(body.get("Entity1IntersectAttribute") or default1),
        attribute2=str(body.get("Entity2IntersectAttribute") or default2),
        nav1=nav1,
        nav2=nav2,
    )
    changed = _link(ctx, relationship)
    save_entities(ctx.conn, *changed, relationship=relationship)
    add_component(ctx, "Relationship", str(schema))
    return Result(204, None, {"OData-EntityId": f"{ctx.base_url}/RelationshipDefinitions({relationship.metadata_id})"})


def _link(ctx: Ctx, rel: ManyToMany) -> list[Entity]:
    first = ctx.catalog.editable(rel.entity1)
    first.collections[rel.nav1] = CollectionNav(rel.nav1, rel.schema_name, rel.entity2, 1)
    if rel.entity1 == rel.entity2:
        first.collections[rel.nav2] = CollectionNav(rel.nav2, rel.schema_name, rel.entity1, 2)
        return [first]
    second = ctx.catalog.editable(rel.entity2)
    second.collections[rel.nav2] = CollectionNav(rel.nav2, rel.schema_name, rel.entity1, 2)
    return [first, second]


# ---------------------------------------------------------------- pairs


def _pair(nav: CollectionNav, record_id: str, other_id: str) -> tuple[str, str, str]:
    first, second = (record_id, other_id) if nav.side == 1 else (other_id, record_id)
    return nav.relationship, first, second


def route(ctx: Ctx, entity: Entity, record_id: str, rest: list[str], call: Call) -> Result:
    """`/<set>(<id>)/<nav>[(<id2>)][/$ref]`: read, associate or disassociate."""
    name, args = split_segment(rest[0])
    nav = entity.collections.get(name)
    if nav is None or len(rest) > 2 or (len(rest) == 2 and rest[1] != "$ref"):
        raise not_found_segment(rest[-1] if nav is not None else name)
    if store.get_record(ctx.conn, entity.logical_name, record_id) is None:
        raise missing(entity, record_id)
    if len(rest) == 1 and call.method == "GET" and args is None:
        body = {"@odata.context": f"{ctx.base_url}/$metadata#{ctx.catalog.entities[nav.target].entity_set}"}
        data = {entity.primary_id: record_id}
        return Result(200, {**body, "value": related(ctx, entity, data, name, dict(call.query), call)})
    if len(rest) != 2:
        raise ODataError(405, "0x80060888", f"The HTTP method '{call.method}' is not supported for '{call.path}'.")
    if call.method == "POST" and args is None:
        return associate(ctx, nav, record_id, call)
    if call.method == "DELETE":
        return disassociate(ctx, nav, record_id, args, call)
    raise ODataError(405, "0x80060888", f"The HTTP method '{call.method}' is not supported for '{call.path}'.")


def _target_id(ctx: Ctx, nav: CollectionNav, reference: Any) -> str:
    if not isinstance(reference, str) or not reference:
        raise ODataError(400, "0x80048d19", "The '@odata.id' of the related record is required.")
    target, other = resolve_reference(ctx, reference)
    if target.logical_name != nav.target:
        raise ODataError(
            400, "0x80048d19", f"The navigation property '{nav.name}' relates {nav.target}, not {target.logical_name}."
        )
    return other


def associate(ctx: Ctx, nav: CollectionNav, record_id: str, call: Call) -> Result:
    body = call.json()
    other = _target_id(ctx, nav, body.get("@odata.id") if isinstance(body, dict) else None)
    pair = _pair(nav, record_id, other)
    found = ctx.conn.execute(
        "select 1 from associations where relationship = ? and id1 = ? and id2 = ?", pair
    ).fetchone()
    if found:
        raise DUPLICATE
    ctx.conn.execute("insert into associations values (?, ?, ?)", pair)
    return Result(204)


def disassociate(ctx: Ctx, nav: CollectionNav, record_id: str, args: str | None, call: Call) -> Result:
    # `$id` is a URL (decoded by resolve_reference)
    other = args.strip().lower() if args is not None else _target_id(ctx, nav, call.query.get("$id") or None)
    ctx.conn.execute(
        "delete from associations where relationship = ? and id1 = ? and id2 = ?", _pair(nav, record_id, other)
    )
    return Result(204)
