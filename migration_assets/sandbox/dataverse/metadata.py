"""Metadata reads: `EntityDefinitions`, their Attributes (with type casts and OptionSet), Keys,
ManyToOneRelationships and ManyToManyRelationships, with `$select`, `$filter` and `$expand`
(reference section 8).

Real: property names and shapes (`@odata.type` per attribute class, `RequiredLevel.Value`,
`Label.UserLocalizedLabel.Label`, `State` on status options, `EntityKeyIndexStatus`).
Lenient where the real service is stricter: derived-type properties (`MaxLength`, `Targets`) may be
selected on the base `Attributes` collection and come back null where they do not apply, because
the shared connector contract asks for them in one request.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, not_found_segment, unknown_property
from migration_assets.sandbox.dataverse.model import Attribute, Entity, EntityKey, ManyToMany
from migration_assets.sandbox.dataverse.odata import parse_expand, parse_filter, parse_key, parse_select, split_segment

METADATA_CLASS = {
    "Lookup": "Lookup",
    "Customer": "Lookup",
    "Owner": "Lookup",
    "Uniqueidentifier": "UniqueIdentifier",
    "Virtual": "",
    "EntityName": "EntityName",
}
TYPE_NAME = {"Uniqueidentifier": "UniqueidentifierType"}
LANGUAGE = 1033


def label(text: str | None) -> dict[str, Any]:
    """A Label object with one 1033 localized label."""
    if text is None:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {"Label": text, "LanguageCode": LANGUAGE}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def label_text(value: Any) -> str | None:
    """The text of a Label object from a request body (first localized label)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        labels = value.get("LocalizedLabels") or []
        if labels and isinstance(labels[0], dict):
            return labels[0].get("Label")
        user = value.get("UserLocalizedLabel")
        if isinstance(user, dict):
            return user.get("Label")
    return None


def metadata_class(attribute: Attribute) -> str:
    return f"{METADATA_CLASS.get(attribute.type, attribute.type)}AttributeMetadata"


def entity_json(entity: Entity) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.EntityMetadata",
        "MetadataId": entity.metadata_id,
        "LogicalName": entity.logical_name,
        "SchemaName": entity.schema_name,
        "EntitySetName": entity.entity_set,
        "LogicalCollectionName": entity.entity_set,
        "CollectionSchemaName": entity.entity_set,
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "IsCustomEntity": entity.is_custom,
        "IsActivity": entity.is_activity,
        "OwnershipType": entity.ownership,
        "ObjectTypeCode": entity.object_type_code,
        "HasActivities": entity.has_activities,
        "HasNotes": entity.has_notes,
        "DisplayName": label(entity.logical_name),
    }


def attribute_json(entity: Entity, attribute: Attribute) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{metadata_class(attribute)}",
        "MetadataId": attribute.metadata_id,
        "LogicalName": attribute.logical_name,
        "SchemaName": attribute.schema_name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attribute.type,
        "AttributeTypeName": {"Value": TYPE_NAME.get(attribute.type, f"{attribute.type}Type")},
        "RequiredLevel": {
            "Value": attribute.required_level,
            "CanBeChanged": not attribute.required_level.startswith("System"),
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "IsCustomAttribute": attribute.is_custom,
        "IsValidForCreate": attribute.valid_create,
        "IsValidForUpdate": attribute.valid_update,
        "IsValidForRead": True,
        "IsPrimaryId": attribute.logical_name == entity.primary_id,
        "IsPrimaryName": attribute.logical_name == entity.primary_name,
        "DisplayName": label(attribute.logical_name),
    }
    if attribute.type in ("String", "Memo"):
        data["MaxLength"] = attribute.max_length
    if attribute.is_lookup:
        data["Targets"] = list(attribute.targets)
    if attribute.type in ("Integer", "Decimal", "Money", "Double", "BigInt"):
        data["MinValue"], data["MaxValue"] = attribute.min_value, attribute.max_value
    if attribute.type in ("Decimal", "Money", "Double"):
        data["Precision"] = attribute.precision if attribute.precision is not None else 2
    if attribute.type == "DateTime":
        data["Format"] = attribute.format
        data["DateTimeBehavior"] = {"Value": "DateOnly" if attribute.format == "DateOnly" else "UserLocal"}
    return data


def option_set_json(entity: Entity, attribute: Attribute) -> dict[str, Any]:
    options = []
    for option in attribute.options or []:
        item: dict[str, Any] = {
            "Value": option["Value"],
            "Label": label(option["Label"]),
            "Description": label(None),
            "Color": None,
        }
        if "State" in option:
            item["@odata.type"] = "#Microsoft.Dynamics.CRM.StatusOptionMetadata"
            item["State"] = option["State"]
        if "DefaultStatus" in option:
            item["@odata.type"] = "#Microsoft.Dynamics.CRM.StateOptionMetadata"
            item["DefaultStatus"] = option["DefaultStatus"]
        options.append(item)
    return {
        "MetadataId": attribute.metadata_id,
        "Name": f"{entity.logical_name}_{attribute.logical_name}",
        "IsGlobal": False,
        "IsCustomOptionSet": attribute.is_custom,
        "OptionSetType": "Picklist" if attribute.type == "MultiSelectPicklist" else attribute.type,
        "Options": options,
    }


def key_json(entity: Entity, key: EntityKey) -> dict[str, Any]:
    return {
        "MetadataId": key.metadata_id,
        "SchemaName": key.schema_name,
        "LogicalName": key.logical_name,
        "EntityLogicalName": entity.logical_name,
        "KeyAttributes": list(key.attributes),
        "EntityKeyIndexStatus": key.status(),
        "DisplayName": label(key.schema_name),
    }


def relationships_json(ctx: Ctx, entity: Entity) -> list[dict[str, Any]]:
    rows = []
    for nav in entity.navs.values():
        attribute = entity.attributes[nav.attribute]
        targets = attribute.targets if nav.target == "*" else [nav.target]
        for target in targets:
            referenced = ctx.catalog.entity(target)
            rows.append(
                {
                    "MetadataId": f"{entity.metadata_id[:24]}{abs(hash((nav.name, target))) % 10**12:012d}",
                    "SchemaName": nav.relationship if nav.target != "*" else f"{target}_{entity.logical_name}_owner",
                    "RelationshipType": "OneToManyRelationship",
                    "ReferencedEntity": target,
                    "ReferencedAttribute": referenced.primary_id if referenced else f"{target}id",
                    "ReferencingEntity": entity.logical_name,
                    "ReferencingAttribute": nav.attribute,
                    "ReferencingEntityNavigationPropertyName": nav.name,
                    "IsCustomRelationship": attribute.is_custom,
                }
            )
    return rows


def definition_json(rel: ManyToMany) -> dict[str, Any]:
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
        "MetadataId": rel.metadata_id,
        "SchemaName": rel.schema_name,
        "RelationshipType": "ManyToManyRelationship",
        "IsCustomRelationship": rel.is_custom,
        "Entity1LogicalName": rel.entity1,
        "Entity2LogicalName": rel.entity2,
        "IntersectEntityName": rel.intersect,
        "Entity1IntersectAttribute": rel.attribute1,
        "Entity2IntersectAttribute": rel.attribute2,
        "Entity1NavigationPropertyName": rel.nav1,
        "Entity2NavigationPropertyName": rel.nav2,
    }


def many_to_many_json(ctx: Ctx, entity: Entity) -> list[dict[str, Any]]:
    return [
        definition_json(r) for r in ctx.catalog.relationships.values() if entity.logical_name in (r.entity1, r.entity2)
    ]


# ---------------------------------------------------------------- query options


def shape(
    items: list[dict[str, Any]], options: dict[str, str], type_name: str, strict_select: bool = True
) -> list[dict[str, Any]]:
    """Apply `$filter` and `$select` to metadata objects."""
    known = set().union(*(i.keys() for i in items)) if items else set()
    text = options.get("$filter")
    if text:

        def resolve(name: str) -> str:
            if name not in known:
                raise unknown_property(name, type_name)
            return name

        predicate = parse_filter(text, resolve)
        items = [i for i in items if predicate(i)]
    select = parse_select(options.get("$select"))
    if select is None:
        return items
    for name in select:
        if strict_select and items and name not in known:
            raise unknown_property(name, type_name)
    base = ("@odata.type", "MetadataId")
    return [{**{b: i[b] for b in base if b in i}, **{n: i.get(n) for n in select}} for i in items]


def expand_entity(ctx: Ctx, entity: Entity, data: dict[str, Any], expand: dict[str, dict[str, str]]) -> dict[str, Any]:
    for name, options in expand.items():
        if name == "Attributes":
            items = [attribute_json(entity, a) for a in entity.attributes.values()]
            data[name] = shape(items, options, "AttributeMetadata", strict_select=False)
        elif name == "Keys":
            data[name] = shape([key_json(entity, k) for k in entity.keys.values()], options, "EntityKeyMetadata")
        elif name == "ManyToOneRelationships":
            data[name] = shape(relationships_json(ctx, entity), options, "OneToManyRelationshipMetadata")
        elif name == "ManyToManyRelationships":
            data[name] = shape(many_to_many_json(ctx, entity), options, "ManyToManyRelationshipMetadata")
        else:
            raise unknown_property(name, "EntityMetadata")
    return data


# ---------------------------------------------------------------- routes


def find_entity(ctx: Ctx, args: str) -> Entity:
    key = parse_key(args)
    if isinstance(key, str):
        entity = next((e for e in ctx.catalog.entities.values() if e.metadata_id == key), None)
    else:
        entity = ctx.catalog.entity(str(key.get("LogicalName", "")))
    if entity is None:
        raise ODataError(404, "0x80060888", f"Could not find entity with the specified key: {args}")
    return entity


def read(ctx: Ctx, args: str | None, rest: list[str], call: Call) -> Result:
    """GET under `EntityDefinitions`."""
    context = f"{ctx.base_url}/$metadata#EntityDefinitions"
    expand = parse_expand(call.query.get("$expand"))
    if args is None:
        if rest:
            raise not_found_segment(rest[0])
        items = []
        for entity in ctx.catalog.entities.values():
            items.append(expand_entity(ctx, entity, entity_json(entity), {}))
        items = shape(items, call.query, "EntityMetadata")
        items = [
            expand_entity(
                ctx, ctx.catalog.entities[i["LogicalName"]] if "LogicalName" in i else _by_id(ctx, i), i, expand
            )
            for i in items
        ]
        return Result(200, {"@odata.context": context, "value": items})
    entity = find_entity(ctx, args)
    if not rest:
        item = shape(
            [entity_json(entity)],
            {"$select": call.query.get("$select")} if call.query.get("$select") else {},
            "EntityMetadata",
        )[0]
        return Result(200, {"@odata.context": f"{context}/$entity", **expand_entity(ctx, entity, item, expand)})
    return read_child(ctx, entity, rest, call)


def _by_id(ctx: Ctx, item: dict[str, Any]) -> Entity:
    return next(e for e in ctx.catalog.entities.values() if e.metadata_id == item["MetadataId"])


def read_child(ctx: Ctx, entity: Entity, rest: list[str], call: Call) -> Result:
    name, args = split_segment(rest[0])
    cast = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        raise not_found_segment(rest[2])
    if name == "Attributes":
        return _attributes(ctx, entity, args, cast, call)
    if cast is not None:
        raise not_found_segment(cast)
    if name == "Keys":
        items = [key_json(entity, k) for k in entity.keys.values()]
        if args is not None:
            wanted = parse_key(args)
            items = [
                i
                for i in items
                if (isinstance(wanted, dict) and i["LogicalName"] == wanted.get("LogicalName"))
                or i["MetadataId"] == wanted
            ]
            if not items:
                raise not_found_segment(rest[0])
            return Result(200, shape(items, call.query, "EntityKeyMetadata")[0])
        return Result(200, {"value": shape(items, call.query, "EntityKeyMetadata")})
    if name == "ManyToOneRelationships" and args is None:
        return Result(
            200, {"value": shape(relationships_json(ctx, entity), call.query, "OneToManyRelationshipMetadata")}
        )
    if name == "ManyToManyRelationships" and args is None:
        return Result(
            200, {"value": shape(many_to_many_json(ctx, entity), call.query, "ManyToManyRelationshipMetadata")}
        )
    raise not_found_segment(rest[0])


def _attributes(ctx: Ctx, entity: Entity, args: str | None, cast: str | None, call: Call) -> Result:
    attributes = list(entity.attributes.values())
    if args is not None:
        key = parse_key(args)
        attributes = [
            a
            for a in attributes
            if (a.metadata_id == key if isinstance(key, str) else a.logical_name == key.get("LogicalName"))
        ]
        if not attributes:
            raise ODataError(404, "0x80060888", f"Could not find attribute with the specified key: {args}")
    if cast is not None:
        class_name = cast.removeprefix("Microsoft.Dynamics.CRM.")
        if not cast.startswith("Microsoft.Dynamics.CRM."):
            raise not_found_segment(cast)
        attributes = [a for a in attributes if metadata_class(a) == class_name]
        if args is not None and not attributes:
            raise ODataError(400, "0x0", f"The attribute is not of type '{cast}'.")
    expand = parse_expand(call.query.get("$expand"))
    items = []
    for attribute in attributes:
        item = attribute_json(entity, attribute)
        for name in expand:
            if name in ("OptionSet", "GlobalOptionSet") and attribute.options is not None:
                item[name] = option_set_json(entity, attribute) if name == "OptionSet" else None
            elif name not in ("OptionSet", "GlobalOptionSet"):
                raise unknown_property(name, metadata_class(attribute))
        items.append(item)
    items = _select_keep(items, call.query, list(expand))
    context = f"{ctx.base_url}/$metadata#EntityDefinitions('{entity.logical_name}')/Attributes"
    if args is not None:
        return Result(200, {"@odata.context": f"{context}/$entity", **items[0]})
    return Result(200, {"@odata.context": context, "value": items})


def _select_keep(items: list[dict[str, Any]], query: dict[str, str], keep: list[str]) -> list[dict[str, Any]]:
    shaped = shape(items, query, "AttributeMetadata", strict_select=False)
    if query.get("$select"):
        for original, item in zip(items, shaped, strict=True):
            for name in keep:
                if name in original:
                    item[name] = original[name]
    return shaped
