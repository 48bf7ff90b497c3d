"""Column builders shared by the standard tables and by custom tables created through metadata.

Real: logical names, AttributeType values, MaxLength and which columns are read-only or
create-only follow the Dataverse/CDM definitions (reference sections 9 and 10).
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse.model import Attribute, Entity, NavProperty

ACTIVITY_NAV = "regardingobjectid"


def options(pairs: dict[int, str]) -> list[dict[str, Any]]:
    return [{"Value": v, "Label": label} for v, label in pairs.items()]


def string(name: str, max_length: int, **kw: Any) -> Attribute:
    return Attribute(name, "String", max_length=max_length, **kw)


def memo(name: str, max_length: int = 2000, **kw: Any) -> Attribute:
    return Attribute(name, "Memo", max_length=max_length, **kw)


def picklist(name: str, pairs: dict[int, str], **kw: Any) -> Attribute:
    return Attribute(name, "Picklist", options=options(pairs), **kw)


def date(name: str, only: bool = False, **kw: Any) -> Attribute:
    return Attribute(name, "DateTime", format="DateOnly" if only else "DateAndTime", **kw)


def read_only(attribute: Attribute) -> Attribute:
    attribute.valid_create = attribute.valid_update = False
    return attribute


def add_lookup(entity: Entity, name: str, targets: list[str], *, kind: str = "Lookup", **kw: Any) -> Attribute:
    """A lookup column plus one navigation property per target (`<name>_<target>` when polymorphic)."""
    attribute = entity.add(Attribute(name, kind, targets=list(targets), **kw))
    for target in targets:
        add_nav_target(entity, attribute, target)
    return attribute


def nav_name(entity: Entity, attribute: Attribute, target: str) -> str:
    """Real naming: activity regarding → `regardingobjectid_<target>_<activity>`; polymorphic →
    `<col>_<target>`; single target → the column name (custom: its SchemaName, case-sensitive)."""
    if attribute.logical_name == ACTIVITY_NAV and entity.is_activity:
        return f"{ACTIVITY_NAV}_{target}_{entity.logical_name}"
    polymorphic = ("Customer",)
    if attribute.type in polymorphic or attribute.logical_name in (ACTIVITY_NAV, "objectid", "parentsiteorlocation"):
        return f"{attribute.logical_name}_{target}"
    return attribute.schema_name if attribute.is_custom else attribute.logical_name


def add_nav_target(entity: Entity, attribute: Attribute, target: str) -> None:
    if target not in attribute.targets:
        attribute.targets.append(target)
    relationship = f"{target}_{entity.logical_name}_{attribute.logical_name}"
    if attribute.type == "Owner":
        # One `ownerid` navigation property serves both systemuser and team targets.
        entity.navs["ownerid"] = NavProperty("ownerid", attribute.logical_name, "*", f"owner_{entity.logical_name}")
        return
    name = nav_name(entity, attribute, target)
    entity.navs[name] = NavProperty(name, attribute.logical_name, target, relationship)


def add_state(entity: Entity, states: dict[int, tuple[str, dict[int, str], int]]) -> None:
    """statecode/statuscode: `states` maps state value → (label, {status: label}, default status)."""
    state_options = [
        {"Value": s, "Label": label, "DefaultStatus": default} for s, (label, _, default) in states.items()
    ]
    status_options = [
        {"Value": v, "Label": label, "State": s} for s, (_, pairs, _) in states.items() for v, label in pairs.items()
    ]
    # statecode is not valid for create (records start in state 0), valid for update.
    entity.add(
        Attribute("statecode", "State", options=state_options, valid_create=False, required_level="SystemRequired")
    )
    entity.add(Attribute("statuscode", "Status", options=status_options))


ACTIVE_INACTIVE = {0: ("Active", {1: "Active"}, 1), 1: ("Inactive", {2: "Inactive"}, 2)}


def add_system_columns(entity: Entity) -> None:
    """Primary key, audit columns, owner and version: present on every table."""
    entity.add(Attribute(entity.primary_id, "Uniqueidentifier", valid_update=False))
    entity.add(read_only(date("createdon")))
    entity.add(read_only(date("modifiedon")))
    entity.add(date("overriddencreatedon", valid_update=False))
    entity.add(read_only(Attribute("versionnumber", "BigInt")))
    entity.add(Attribute("importsequencenumber", "Integer", valid_update=False))
    for name in ("createdby", "modifiedby"):
        add_lookup(entity, name, ["systemuser"], valid_create=False, valid_update=False)
    if entity.ownership == "UserOwned":
        add_lookup(entity, "ownerid", ["systemuser", "team"], kind="Owner", required_level="SystemRequired")


ACTIVITY_STATES = {
    0: ("Open", {1: "Open"}, 1),
    1: ("Completed", {2: "Completed"}, 2),
    2: ("Canceled", {3: "Canceled"}, 3),
    3: ("Scheduled", {4: "Scheduled"}, 4),
}


def add_activity_columns(entity: Entity, regarding_targets: list[str]) -> None:
    """Columns every activity table shares (the activitypointer columns)."""
    entity.add(string("subject", 200))
    entity.add(memo("description"))
    for name in ("scheduledstart", "scheduledend", "actualstart", "actualend"):
        entity.add(date(name))
    entity.add(Attribute("actualdurationminutes", "Integer", min_value=0, max_value=2147483647))
    entity.add(picklist("prioritycode", {0: "Low", 1: "Normal", 2: "High"}))
    entity.add(read_only(Attribute("activitytypecode", "EntityName")))
    add_lookup(entity, ACTIVITY_NAV, list(regarding_targets))


def new_entity(logical_name: str, entity_set: str, primary_id: str, primary_name: str | None, **kw: Any) -> Entity:
    entity = Entity(
        logical_name, entity_set, primary_id, primary_name, schema_name=kw.pop("schema_name", logical_name), **kw
    )
    return entity


def plural(logical_name: str) -> str:
    """Default EntitySetName of a custom table (the logical collection name)."""
    if logical_name.endswith("y") and logical_name[-2:-1] not in "aeiou":
        return logical_name[:-1] + "ies"
    if logical_name.endswith(("s", "x", "ch", "sh")):
        return logical_name + "es"
    return logical_name + "s"
