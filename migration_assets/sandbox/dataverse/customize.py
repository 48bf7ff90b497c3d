"""Metadata writes: custom tables, columns, lookups (1:N relationships), alternate keys, option
and status values, publishing and solution components (reference sections 8 and 11).

Real: request shapes (`EntityMetadata`, `<T>AttributeMetadata` incl. `MultiSelectPicklist`,
`OneToManyRelationshipMetadata` with `Lookup`, `Keys` with `KeyAttributes`), 204 +
`OData-EntityId`, the publisher prefix rule (a SchemaName carries the customization prefix of the
publisher of the solution named by `MSCRM.SolutionUniqueName`), option values from that
publisher's option value prefix (10000 → 100000000…), `InsertOptionValue` / `InsertStatusValue`
returning `NewOptionValue`, key index status Pending → Active|Failed, custom lookup navigation
property = lookup SchemaName, the 0x80048547 AppEntityLimitExceeded code.
Invented/unconfirmed: the duplicate-name codes and texts (0x80044363 / 0x80060890), the
prefix-missing text, that a request without a solution may use the prefix of any publisher of the
environment (and the first publisher's option value prefix), a Professional tier refusing the 16th
table through the API, and that metadata changes apply to data writes at once (publishing is
recorded in `sandbox_publishes`, not required). Activity tables must name their primary column
`Subject` (real SDK rule). Many-to-many relationships are created in relationships.py.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.bootstrap import OPTION_VALUE_PREFIX
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result
from migration_assets.sandbox.dataverse.metadata import label_text
from migration_assets.sandbox.dataverse.model import Attribute, Entity, EntityKey, save_entities
from migration_assets.sandbox.dataverse.references import index_keys, key_value
from migration_assets.sandbox.dataverse.standard import REGARDING_TARGETS
from migration_assets.sandbox.dataverse.tables import (
    ACTIVE_INACTIVE,
    ACTIVITY_STATES,
    add_activity_columns,
    add_lookup,
    add_nav_target,
    add_state,
    add_system_columns,
    new_entity,
    plural,
)

TYPE_PREFIX = "Microsoft.Dynamics.CRM."
COLUMN_TYPES = {
    "String",
    "Memo",
    "Integer",
    "Decimal",
    "Money",
    "Boolean",
    "DateTime",
    "Picklist",
    "MultiSelectPicklist",
    "Double",
    "BigInt",
}
CHOICE_TYPES = ("Picklist", "MultiSelectPicklist")
KEY_TYPES = {"String", "Integer", "Decimal", "DateTime", "Lookup", "Customer", "Owner", "Picklist"}
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def bad(message: str, code: str = "0x80040203") -> ODataError:
    return ODataError(400, code, message)


def find_row(ctx: Ctx, entity: str, column: str, value: Any) -> dict[str, Any] | None:
    """The first record of a small system table (solutions, publishers) whose `column` = `value`."""
    row = ctx.conn.execute(
        "select data from records where entity = ? and json_extract(data, '$.' || ?) = ? order by seq limit 1",
        (entity, column, value),
    ).fetchone()
    return json.loads(row["data"]) if row else None


def solution_publisher(ctx: Ctx, solution: str | None = None) -> dict[str, Any] | None:
    """The publisher of the named solution (default: the request's solution), None without one.

    Raises:
        ODataError: 404 when the named solution does not exist.
    """
    name = solution or ctx.solution
    if not name:
        return None
    found = find_row(ctx, "solution", "uniquename", name)
    if found is None:
        raise ODataError(404, "0x8004f001", f"The solution '{name}' does not exist.")
    publisher = (found.get("publisherid") or {}).get("id")
    return store.get_record(ctx.conn, "publisher", publisher)[0] if publisher else None


def allowed_prefixes(ctx: Ctx) -> list[str]:
    """Prefixes a new SchemaName may carry: the solution publisher's, else any publisher's."""
    publisher = solution_publisher(ctx)
    if publisher is not None:
        return [str(publisher.get("customizationprefix"))]
    rows = ctx.conn.execute("select data from records where entity = 'publisher' order by seq").fetchall()
    return [str(json.loads(r["data"]).get("customizationprefix")) for r in rows]


def first_option_value(ctx: Ctx, solution: str | None = None) -> int:
    """The first custom option value: the solution publisher's option value prefix x 10,000."""
    publisher = solution_publisher(ctx, solution)
    prefix = (publisher or {}).get("customizationoptionvalueprefix") or OPTION_VALUE_PREFIX
    return int(prefix) * 10_000


def check_schema_name(ctx: Ctx, name: Any, what: str, allow: tuple[str, ...] = ()) -> str:
    """SchemaName must exist and carry the publisher's customization prefix; returns the logical name."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise bad(f"The {what} SchemaName '{name}' is missing or not a valid name.")
    prefixes = allowed_prefixes(ctx)
    if name not in allow and not any(name.startswith(f"{p}_") for p in prefixes):
        expected = " or ".join(f"'{p}_'" for p in prefixes) or "(no publisher)"
        raise bad(
            f"The {what} SchemaName '{name}' must start with the customization prefix {expected} of "
            f"the solution publisher.",
            "0x80044355",
        )
    return name.lower()


def odata_type(body: dict[str, Any], expected: str | None = None) -> str:
    value = str(body.get("@odata.type", "")).lstrip("#")
    if not value.startswith(TYPE_PREFIX):
        raise bad("The @odata.type annotation is required for metadata objects.", "0x80048d19")
    name = value[len(TYPE_PREFIX) :]
    if expected is not None and name != expected:
        raise bad(f"Expected @odata.type '{TYPE_PREFIX}{expected}', got '{value}'.", "0x80048d19")
    return name


def body_of(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise bad("A JSON object is expected.", "0x80048d19")
    return body


def add_component(ctx: Ctx, component_type: str, name: str) -> None:
    """Record a solution component when the request names a solution (MSCRM.SolutionUniqueName)."""
    if not ctx.solution:
        return
    solution_publisher(ctx)  # 404 when the solution does not exist
    ctx.conn.execute(
        "insert into sandbox_solution_components values (?, ?, ?, ?)",
        (ctx.solution, component_type, name, store.utc_now()),
    )


# ---------------------------------------------------------------- tables


def create_table(ctx: Ctx, call: Call) -> Result:
    """POST EntityDefinitions: a custom table with its primary name column."""
    body = body_of(call)
    odata_type(body, "EntityMetadata")
    logical = check_schema_name(ctx, body.get("SchemaName"), "table")
    if ctx.catalog.entity(logical) or ctx.catalog.by_set.get(plural(logical)):
        raise bad(f"An entity with the specified name {logical} already exists. Specify a unique name.", "0x80044363")
    for field_name in ("DisplayName", "DisplayCollectionName"):
        if not label_text(body.get(field_name)):
            raise bad(f"{field_name} is required to create the table {body['SchemaName']}.")
    limit = ctx.options.custom_table_limit
    custom = sum(1 for e in ctx.catalog.entities.values() if e.is_custom)
    if limit is not None and custom >= int(limit):
        raise bad(
            f"AppEntityLimitExceeded: the {ctx.options.tier} licence allows {limit} custom tables and "
            f"{custom} already exist; table {logical} cannot be created.",
            "0x80048547",
        )
    entity = build_table(ctx, body, logical, custom)
    changed = [entity, *link_new_table(ctx, entity)]
    save_entities(ctx.conn, *changed)
    add_component(ctx, "Entity", logical)
    return Result(204, None, {"OData-EntityId": f"{ctx.base_url}/EntityDefinitions({entity.metadata_id})"})


def build_table(ctx: Ctx, body: dict[str, Any], logical: str, custom_count: int) -> Entity:
    is_activity = bool(body.get("IsActivity"))
    ownership = body.get("OwnershipType", "UserOwned")
    if ownership not in ("UserOwned", "OrganizationOwned"):
        raise bad(f"OwnershipType '{ownership}' is not supported.")
    primary = [a for a in body.get("Attributes") or [] if isinstance(a, dict) and a.get("IsPrimaryName")]
    if len(primary) != 1 or odata_type(primary[0]) != "StringAttributeMetadata":
        raise bad("A new table needs exactly one StringAttributeMetadata attribute with IsPrimaryName true.")
    primary_schema = primary[0].get("SchemaName")
    if is_activity and primary_schema != "Subject":
        raise bad("The primary name attribute of an activity table must have the SchemaName 'Subject'.")
    primary_name = check_schema_name(ctx, primary_schema, "column", allow=("Subject",))
    entity = new_entity(
        logical,
        plural(logical),
        "activityid" if is_activity else f"{logical}id",
        primary_name,
        schema_name=body["SchemaName"],
        is_custom=True,
        is_activity=is_activity,
        ownership="UserOwned" if is_activity else ownership,
        object_type_code=10000 + custom_count,
        has_activities=bool(body.get("HasActivities")),
        has_notes=bool(body.get("HasNotes")),
    )
    add_system_columns(entity)
    if is_activity:
        targets = REGARDING_TARGETS + [
            e.logical_name for e in ctx.catalog.entities.values() if e.is_custom and e.has_activities
        ]
        add_activity_columns(entity, targets)
        add_state(entity, ACTIVITY_STATES)
    else:
        add_state(entity, ACTIVE_INACTIVE)
    column = build_column(ctx, entity, primary[0], "StringAttributeMetadata")
    column.required_level = _required(primary[0])
    column.is_custom = primary_name != "subject"
    entity.add(column)
    for extra in body.get("Attributes") or []:
        if isinstance(extra, dict) and not extra.get("IsPrimaryName"):
            entity.add(build_column(ctx, entity, extra, odata_type(extra)))
    return entity


def link_new_table(ctx: Ctx, entity: Entity) -> list[Entity]:
    """Make the new table a target of activity regarding, note objectid and document locations."""
    changed = []
    for other in ctx.catalog.entities.values():
        column = None
        if other.is_activity and entity.has_activities:
            column = "regardingobjectid"
        elif other.logical_name == "annotation" and entity.has_notes:
            column = "objectid"
        elif other.logical_name == "sharepointdocumentlocation":
            column = "regardingobjectid"
        if column is None:
            continue
        copy = ctx.catalog.editable(other.logical_name)
        add_nav_target(copy, copy.attributes[column], entity.logical_name)
        changed.append(copy)
    return changed


# ---------------------------------------------------------------- columns


def _required(body: dict[str, Any]) -> str:
    level = (body.get("RequiredLevel") or {}).get("Value", "None")
    if level not in ("None", "Recommended", "ApplicationRequired", "SystemRequired"):
        raise bad(f"RequiredLevel '{level}' is not valid.")
    return level


def build_column(ctx: Ctx, entity: Entity, body: dict[str, Any], type_name: str) -> Attribute:
    """An Attribute from a `<T>AttributeMetadata` body (lookups go through RelationshipDefinitions)."""
    kind = type_name.removesuffix("AttributeMetadata")
    if kind == "Lookup":
        raise bad("Lookup columns are created with POST RelationshipDefinitions (OneToManyRelationshipMetadata).")
    if kind not in COLUMN_TYPES:
        raise bad(f"Attribute type '{type_name}' is not supported by the sandbox.")
    schema = body.get("SchemaName")
    logical = check_schema_name(ctx, schema, "column", allow=("Subject",))
    if not label_text(body.get("DisplayName")) and logical != "subject":
        raise bad(f"DisplayName is required to create the column {schema}.")
    attribute = Attribute(logical, kind, schema_name=schema, is_custom=True, required_level=_required(body))
    if kind in ("String", "Memo"):
        attribute.max_length = int(body.get("MaxLength") or (100 if kind == "String" else 2000))
        if not 1 <= attribute.max_length <= (4000 if kind == "String" else 1048576):
            raise bad(f"MaxLength {attribute.max_length} is out of range for {type_name}.")
    if kind == "DateTime":
        attribute.format = (
            body.get("Format")
            or ((body.get("DateTimeBehavior") or {}).get("Value") == "DateOnly" and "DateOnly")
            or "DateAndTime"
        )
    if kind in ("Integer", "Decimal", "Money", "Double", "BigInt"):
        attribute.min_value, attribute.max_value = body.get("MinValue"), body.get("MaxValue")
        attribute.precision = body.get("Precision")
    if kind in CHOICE_TYPES:
        attribute.options = picklist_options(body.get("OptionSet"), schema, first_option_value(ctx))
    return attribute


def picklist_options(option_set: Any, schema: str, first_value: int) -> list[dict[str, Any]]:
    if not isinstance(option_set, dict):
        raise bad(f"Choice column {schema} needs a local OptionSet (global option sets are not supported).")
    options, next_value = [], first_value
    for option in option_set.get("Options") or []:
        value = option.get("Value")
        if value is None:
            value = next_value
        if not isinstance(value, int) or any(o["Value"] == value for o in options):
            raise bad(f"Option value {value} of {schema} is invalid or duplicated.")
        next_value = max(next_value, value + 1)
        options.append({"Value": value, "Label": label_text(option.get("Label")) or str(value)})
    return options


def create_column(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """POST EntityDefinitions(LogicalName='x')/Attributes."""
    body = body_of(call)
    attribute = build_column(ctx, entity, body, odata_type(body))
    if attribute.logical_name in entity.attributes:
        raise bad(
            f"An attribute with the specified name {attribute.logical_name} already exists on {entity.logical_name}.",
            "0x80044363",
        )
    copy = ctx.catalog.editable(entity.logical_name)
    copy.add(attribute)
    save_entities(ctx.conn, copy)
    add_component(ctx, "Attribute", f"{entity.logical_name}.{attribute.logical_name}")
    url = f"{ctx.base_url}/EntityDefinitions(LogicalName='{entity.logical_name}')/Attributes({attribute.metadata_id})"
    return Result(204, None, {"OData-EntityId": url})


def create_relationship(ctx: Ctx, call: Call) -> Result:
    """POST RelationshipDefinitions (1:N): creates the lookup column and its navigation property."""
    body = body_of(call)
    kind = odata_type(body)
    if kind != "OneToManyRelationshipMetadata":
        raise bad(f"Relationship type '{kind}' is not supported by the sandbox (use OneToManyRelationshipMetadata).")
    schema = body.get("SchemaName")
    check_schema_name(ctx, schema, "relationship")
    referenced, referencing = (
        ctx.catalog.entity(str(body.get("ReferencedEntity"))),
        ctx.catalog.entity(str(body.get("ReferencingEntity"))),
    )
    if referenced is None or referencing is None:
        raise ODataError(404, "0x80040217", "ReferencedEntity or ReferencingEntity does not exist.")
    for entity in ctx.catalog.entities.values():
        if any(n.relationship == schema for n in entity.navs.values()):
            raise bad(f"A relationship with the name {schema} already exists.", "0x80044363")
    lookup = body.get("Lookup") or {}
    odata_type(lookup, "LookupAttributeMetadata")
    logical = check_schema_name(ctx, lookup.get("SchemaName"), "lookup column")
    if logical in referencing.attributes:
        raise bad(
            f"An attribute with the specified name {logical} already exists on {referencing.logical_name}.",
            "0x80044363",
        )
    copy = ctx.catalog.editable(referencing.logical_name)
    attribute = add_lookup(
        copy, logical, [], schema_name=lookup["SchemaName"], is_custom=True, required_level=_required(lookup)
    )
    add_nav_target(copy, attribute, referenced.logical_name)
    copy.navs[lookup["SchemaName"]].relationship = schema
    save_entities(ctx.conn, copy)
    add_component(ctx, "Relationship", schema)
    return Result(204, None, {"OData-EntityId": f"{ctx.base_url}/RelationshipDefinitions({attribute.metadata_id})"})


# ---------------------------------------------------------------- keys


def create_key(ctx: Ctx, entity: Entity, call: Call) -> Result:
    """POST EntityDefinitions(LogicalName='x')/Keys: an alternate key, indexed asynchronously."""
    body = body_of(call)
    schema = body.get("SchemaName")
    logical = check_schema_name(ctx, schema, "key")
    columns = body.get("KeyAttributes")
    if not isinstance(columns, list) or not 1 <= len(columns) <= 16:
        raise bad("KeyAttributes must list 1 to 16 columns.")
    for column in columns:
        attribute = entity.attributes.get(column)
        if attribute is None:
            raise bad(f"The attribute {column} does not exist on {entity.logical_name}.", "0x80040217")
        if attribute.type not in KEY_TYPES:
            raise bad(f"The attribute {column} of type {attribute.type} cannot be part of an alternate key.")
    if logical in entity.keys or any(sorted(k.attributes) == sorted(columns) for k in entity.keys.values()):
        raise bad(
            f"An entity key with the name {schema} or the same columns already exists on {entity.logical_name}.",
            "0x80060890",
        )
    if len(entity.keys) >= 10:
        raise bad(f"The entity {entity.logical_name} already has the maximum of 10 keys.")
    copy = ctx.catalog.editable(entity.logical_name)
    key = EntityKey(
        schema, logical, list(columns), active_at=time.time() + float(ctx.options.get("key_activation_seconds"))
    )
    copy.keys[logical] = key
    key.failed = not _index_existing(ctx, copy)
    save_entities(ctx.conn, copy)
    add_component(ctx, "EntityKey", f"{entity.logical_name}.{logical}")
    url = f"{ctx.base_url}/EntityDefinitions(LogicalName='{entity.logical_name}')/Keys({key.metadata_id})"
    return Result(204, None, {"OData-EntityId": url})


def _index_existing(ctx: Ctx, entity: Entity) -> bool:
    """Index existing records under the new key; False (key Failed) when values collide."""
    seen: set[str] = set()
    key = list(entity.keys.values())[-1]
    for data, _ in store.all_records(ctx.conn, entity.logical_name):
        parts = [data.get(a) for a in key.attributes]
        if any(p is None for p in parts):
            continue
        value = key_value(parts)
        if value in seen:
            return False
        seen.add(value)
    for data, _ in store.all_records(ctx.conn, entity.logical_name):
        index_keys(ctx, entity, data[entity.primary_id], data)
    return True


# ---------------------------------------------------------------- option values, publish


def _option_attribute(ctx: Ctx, body: dict[str, Any], kinds: tuple[str, ...]) -> tuple[Entity, Attribute]:
    entity = ctx.catalog.entity(str(body.get("EntityLogicalName")))
    if entity is None:
        raise ODataError(404, "0x80040217", f"Entity '{body.get('EntityLogicalName')}' does not exist.")
    attribute = entity.attributes.get(str(body.get("AttributeLogicalName")))
    if attribute is None or attribute.type not in kinds:
        raise bad(
            f"Attribute '{body.get('AttributeLogicalName')}' of {entity.logical_name} is not a {kinds[0]} column."
        )
    return ctx.catalog.editable(entity.logical_name), attribute


def _new_value(attribute: Attribute, requested: Any, first_value: int) -> int:
    values = attribute.option_values()
    if requested is not None:
        if not isinstance(requested, int) or requested in values:
            raise bad(f"Option value {requested} is invalid or already used by {attribute.logical_name}.", "0x80044363")
        return requested
    custom = [v for v in values if first_value <= v < first_value + 10_000]
    return max(custom) + 1 if custom else first_value


def insert_option_value(ctx: Ctx, call: Call) -> Result:
    """POST InsertOptionValue → {"NewOptionValue": n} (value from the publisher prefix)."""
    body = body_of(call)
    entity, _ = _option_attribute(ctx, body, CHOICE_TYPES)
    attribute = entity.attributes[str(body["AttributeLogicalName"])]
    value = _new_value(attribute, body.get("Value"), first_option_value(ctx, body.get("SolutionUniqueName")))
    text = label_text(body.get("Label"))
    if not text:
        raise bad("Label is required.")
    attribute.options = [*(attribute.options or []), {"Value": value, "Label": text, "Custom": True}]
    save_entities(ctx.conn, entity)
    add_component(ctx, "OptionValue", f"{entity.logical_name}.{attribute.logical_name}.{value}")
    return Result(
        200,
        {
            "@odata.context": f"{ctx.base_url}/$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse",
            "NewOptionValue": value,
        },
    )


def insert_status_value(ctx: Ctx, call: Call) -> Result:
    """POST InsertStatusValue → {"NewOptionValue": n}; StateCode must be a state of the table."""
    body = body_of(call)
    entity, _ = _option_attribute(ctx, body, ("Status",))
    attribute = entity.attributes[str(body["AttributeLogicalName"])]
    state = body.get("StateCode")
    if state not in entity.attributes["statecode"].option_values():
        raise bad(f"StateCode {state} is not a valid state of {entity.logical_name}.")
    value = _new_value(attribute, body.get("Value"), first_option_value(ctx, body.get("SolutionUniqueName")))
    text = label_text(body.get("Label"))
    if not text:
        raise bad("Label is required.")
    attribute.options = [*(attribute.options or []), {"Value": value, "Label": text, "State": state, "Custom": True}]
    save_entities(ctx.conn, entity)
    add_component(ctx, "OptionValue", f"{entity.logical_name}.{attribute.logical_name}.{value}")
    return Result(
        200,
        {
            "@odata.context": f"{ctx.base_url}/$metadata#Microsoft.Dynamics.CRM.InsertStatusValueResponse",
            "NewOptionValue": value,
        },
    )


def publish(ctx: Ctx, call: Call) -> Result:
    """POST PublishXml / PublishAllXml: recorded only (changes already apply)."""
    body = call.json() if call.body.strip() else {}
    xml = body.get("ParameterXml") if isinstance(body, dict) else None
    if call.path.startswith("PublishXml") and not xml:
        raise bad("ParameterXml is required.")
    ctx.conn.execute(
        "insert into sandbox_publishes (parameter_xml, at) values (?, ?)", (xml or "<all/>", store.utc_now())
    )
    return Result(204)
