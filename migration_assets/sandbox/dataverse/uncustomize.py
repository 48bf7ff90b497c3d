"""Metadata deletes: custom tables, columns, alternate keys, relationships and option values.

Real (Web API metadata operations; SDK DeleteEntity/DeleteAttribute/DeleteEntityKey/
DeleteRelationship/DeleteOptionValue): `DELETE EntityDefinitions(LogicalName='x')` (or by
MetadataId), `DELETE EntityDefinitions(LogicalName='x')/Attributes(LogicalName='y')`,
`DELETE EntityDefinitions(LogicalName='x')/Keys(LogicalName='k')`,
`DELETE RelationshipDefinitions(SchemaName='s')` (or by MetadataId) for 1:N and N:N relationships,
`POST DeleteOptionValue` {"EntityLogicalName","AttributeLogicalName","Value"} → 204. Only custom
components can be deleted; a lookup column goes with its relationship, not on its own; a column
that is part of an alternate key cannot be deleted until the key is; deleting a table deletes its
records (and their keys and associations) and the relationships it is the referencing side of.
Unknown components answer 404.
Invented/unconfirmed: the error codes and texts of the refusals (0x80048405 for a system
component, 0x8004f01f for a dependency); that a table another table's custom lookup points at is
refused as a dependency (the real service lists the dependent components); that a system option
value is one the environment shipped with (values the publisher added are custom).
"""

from __future__ import annotations

import json
from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result
from migration_assets.sandbox.dataverse.customize import bad, body_of
from migration_assets.sandbox.dataverse.model import Entity, ManyToMany, save_entities
from migration_assets.sandbox.dataverse.odata import parse_key

SYSTEM_COMPONENT = "0x80048405"
DEPENDENCY = "0x8004f01f"


def _system(message: str) -> ODataError:
    return ODataError(400, SYSTEM_COMPONENT, message)


def _dependency(message: str) -> ODataError:
    return ODataError(400, DEPENDENCY, message)


def _bump(ctx: Ctx) -> None:
    ctx.conn.execute(
        "insert into sandbox_counters values ('meta', 1) on conflict(name) do update set value = value + 1"
    )


# ---------------------------------------------------------------- tables


def delete_table(ctx: Ctx, entity: Entity) -> Result:
    """DELETE EntityDefinitions(...): a custom table, its records and the relationships it owns."""
    if not entity.is_custom:
        raise _system(f"The entity {entity.logical_name} is a system entity and cannot be deleted.")
    for other in ctx.catalog.entities.values():
        if other.logical_name == entity.logical_name:
            continue
        for attribute in other.attributes.values():
            if attribute.is_custom and attribute.is_lookup and entity.logical_name in attribute.targets:
                raise _dependency(
                    f"The entity {entity.logical_name} cannot be deleted because the lookup "
                    f"{other.logical_name}.{attribute.logical_name} depends on it; delete that relationship first."
                )
    for rel in ctx.catalog.relationships.values():
        if entity.logical_name in (rel.entity1, rel.entity2):
            raise _dependency(
                f"The entity {entity.logical_name} cannot be deleted because the relationship "
                f"{rel.schema_name} depends on it; delete that relationship first."
            )
    ids = [r["id"] for r in ctx.conn.execute("select id from records where entity = ?", (entity.logical_name,))]
    for record_id in ids:
        store.delete_record(ctx.conn, entity.logical_name, record_id)
    changed = []
    for other in ctx.catalog.entities.values():  # activity regarding, note objectid, document locations
        if other.logical_name == entity.logical_name or not any(
            entity.logical_name in a.targets for a in other.attributes.values()
        ):
            continue
        copy = ctx.catalog.editable(other.logical_name)
        for attribute in copy.attributes.values():
            if entity.logical_name in attribute.targets:
                attribute.targets.remove(entity.logical_name)
        copy.navs = {n: nav for n, nav in copy.navs.items() if nav.target != entity.logical_name}
        changed.append(copy)
    if changed:
        save_entities(ctx.conn, *changed)
    ctx.conn.execute("delete from meta_entities where logical_name = ?", (entity.logical_name,))
    _bump(ctx)
    return Result(204)


# ---------------------------------------------------------------- columns and keys


def delete_column(ctx: Ctx, entity: Entity, args: str) -> Result:
    """DELETE EntityDefinitions(...)/Attributes(...)."""
    attribute = _find(entity.attributes.values(), args, "attribute")
    name = attribute.logical_name
    if not attribute.is_custom:
        raise _system(f"The attribute {entity.logical_name}.{name} is a system attribute and cannot be deleted.")
    if name in (entity.primary_name, entity.primary_id):
        raise _system(
            f"The attribute {entity.logical_name}.{name} is the table's primary column and cannot be deleted."
        )
    if attribute.is_lookup:
        raise bad(
            f"The lookup attribute {entity.logical_name}.{name} is deleted with its relationship "
            "(DELETE RelationshipDefinitions).",
            DEPENDENCY,
        )
    keys = [k.schema_name for k in entity.keys.values() if name in k.attributes]
    if keys:
        raise _dependency(
            f"The attribute {entity.logical_name}.{name} cannot be deleted because it is part of the "
            f"alternate key {', '.join(keys)}; delete the key first."
        )
    copy = ctx.catalog.editable(entity.logical_name)
    del copy.attributes[name]
    save_entities(ctx.conn, copy)
    _strip_record_column(ctx, entity, name)
    return Result(204)


def _strip_record_column(ctx: Ctx, entity: Entity, column: str) -> None:
    rows = ctx.conn.execute("select id, data from records where entity = ?", (entity.logical_name,)).fetchall()
    for row in rows:
        data = json.loads(row["data"])
        if column in data:
            data.pop(column)
            ctx.conn.execute(
                "update records set data = ? where entity = ? and id = ?",
                (json.dumps(data), entity.logical_name, row["id"]),
            )


def delete_key(ctx: Ctx, entity: Entity, args: str) -> Result:
    """DELETE EntityDefinitions(...)/Keys(...): the key and its index."""
    key = _find(entity.keys.values(), args, "entity key")
    copy = ctx.catalog.editable(entity.logical_name)
    del copy.keys[key.logical_name]
    save_entities(ctx.conn, copy)
    ctx.conn.execute(
        "delete from record_keys where entity = ? and key_name = ?", (entity.logical_name, key.logical_name)
    )
    return Result(204)


def _find(items: Any, args: str, what: str) -> Any:
    wanted = parse_key(args)
    for item in items:
        if isinstance(wanted, str) and item.metadata_id == wanted:
            return item
        if isinstance(wanted, dict) and item.logical_name == wanted.get("LogicalName"):
            return item
    raise ODataError(404, "0x80060888", f"Could not find {what} with the specified key: {args}")


# ---------------------------------------------------------------- relationships


def delete_relationship(ctx: Ctx, args: str) -> Result:
    """DELETE RelationshipDefinitions(SchemaName='s'): a 1:N relationship with its lookup column,
    or a many-to-many relationship with its associations."""
    wanted = parse_key(args)
    schema = wanted.get("SchemaName") if isinstance(wanted, dict) else None
    for rel in ctx.catalog.relationships.values():
        if rel.metadata_id == wanted or rel.schema_name == schema:
            return _delete_many_to_many(ctx, rel)
    for entity in ctx.catalog.entities.values():
        for nav in entity.navs.values():
            attribute = entity.attributes.get(nav.attribute)
            if attribute is None or (nav.relationship != schema and attribute.metadata_id != wanted):
                continue
            if not attribute.is_custom:
                raise _system(f"The relationship {nav.relationship} is a system relationship and cannot be deleted.")
            return _delete_lookup(ctx, entity, attribute.logical_name)
    raise ODataError(404, "0x80060888", f"Could not find relationship with the specified key: {args}")


def _delete_lookup(ctx: Ctx, entity: Entity, column: str) -> Result:
    keys = [k.schema_name for k in entity.keys.values() if column in k.attributes]
    if keys:
        raise _dependency(
            f"The attribute {entity.logical_name}.{column} cannot be deleted because it is part of the "
            f"alternate key {', '.join(keys)}; delete the key first."
        )
    copy = ctx.catalog.editable(entity.logical_name)
    del copy.attributes[column]
    copy.navs = {n: nav for n, nav in copy.navs.items() if nav.attribute != column}
    save_entities(ctx.conn, copy)
    _strip_record_column(ctx, entity, column)
    return Result(204)


def _delete_many_to_many(ctx: Ctx, rel: ManyToMany) -> Result:
    if not rel.is_custom:
        raise _system(f"The relationship {rel.schema_name} is a system relationship and cannot be deleted.")
    changed = []
    for name in {rel.entity1, rel.entity2}:
        copy = ctx.catalog.editable(name)
        copy.collections = {n: c for n, c in copy.collections.items() if c.relationship != rel.schema_name}
        changed.append(copy)
    save_entities(ctx.conn, *changed)
    ctx.conn.execute("delete from meta_relationships where schema_name = ?", (rel.schema_name,))
    ctx.conn.execute("delete from associations where relationship = ?", (rel.schema_name,))
    return Result(204)


# ---------------------------------------------------------------- option values


def delete_option_value(ctx: Ctx, call: Call) -> Result:
    """POST DeleteOptionValue: remove one value of a choice or status column."""
    body = body_of(call)
    entity = ctx.catalog.entity(str(body.get("EntityLogicalName")))
    if entity is None:
        raise ODataError(404, "0x80040217", f"Entity '{body.get('EntityLogicalName')}' does not exist.")
    attribute = entity.attributes.get(str(body.get("AttributeLogicalName")))
    if attribute is None or attribute.options is None or attribute.type == "State":
        raise bad(f"Attribute '{body.get('AttributeLogicalName')}' of {entity.logical_name} is not a choice column.")
    value = body.get("Value")
    option = next((o for o in attribute.options if o["Value"] == value), None)
    if option is None:
        raise ODataError(
            404, "0x80040217", f"Option value {value} does not exist in {entity.logical_name}.{attribute.logical_name}."
        )
    if not (attribute.is_custom or option.get("Custom")):
        raise _system(
            f"The option value {value} of {entity.logical_name}.{attribute.logical_name} is a system option "
            "and cannot be deleted."
        )
    copy = ctx.catalog.editable(entity.logical_name)
    column = copy.attributes[attribute.logical_name]
    column.options = [o for o in column.options or [] if o["Value"] != value]
    save_entities(ctx.conn, copy)
    return Result(204)
