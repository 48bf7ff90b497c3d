"""Record references: alternate-key lookups and uniqueness, and `@odata.bind` resolution.

Real: key-addressed URLs `(k='v',k2=2)`, keys unique case-insensitively (412 0x80040237 "A record
with matching key values already exists."), keys usable only when their index is Active, bind
navigation property names (400 0x80048d19 "An undeclared property ..."), missing targets
("... With Id = ... Does Not Exist", 0x80040217; "A record with the specified key values does not
exist in x entity"). Unconfirmed/invented: the texts for a key that is not an alternate key
(0x80060891) and a key not yet active (0x80060892).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import API_PREFIX, Ctx, ODataError
from migration_assets.sandbox.dataverse.model import Attribute, Entity
from migration_assets.sandbox.dataverse.odata import normalize, parse_key, split_segment
from migration_assets.sandbox.dataverse.values import coerce

DUPLICATE_KEY = "A record with matching key values already exists."


def missing(entity: Entity, record_id: str) -> ODataError:
    return ODataError(404, "0x80040217", f"{entity.logical_name} With Id = {record_id} Does Not Exist")


def key_attributes(entity: Entity, names: list[str]) -> list[str]:
    return [name[1:-6] if name.startswith("_") and name.endswith("_value") else name for name in names]


def key_value(values: list[Any]) -> str:
    """Index form of a key: case-insensitive like SQL Server's default collation."""
    return json.dumps([normalize(v["id"] if isinstance(v, dict) else v) for v in values])


def find_by_key(ctx: Ctx, entity: Entity, pairs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Record id addressed by alternate-key values (None when absent) and the typed key values.

    Raises:
        ODataError: 400 when the columns are not an alternate key or the key is not Active yet.
    """
    names = key_attributes(entity, list(pairs))
    key = next((k for k in entity.keys.values() if sorted(k.attributes) == sorted(names)), None)
    if key is None:
        raise ODataError(
            400,
            "0x80060891",
            f"The key attribute(s) {', '.join(names)} specified for entity '{entity.logical_name}' do not "
            f"match any alternate key defined on the entity.",
        )
    status = key.status()
    if status != "Active":
        raise ODataError(
            400,
            "0x80060892",
            f"The entity key {key.schema_name} of entity '{entity.logical_name}' is not active "
            f"(EntityKeyIndexStatus: {status}); alternate key lookups are not available until the index is built.",
        )
    typed = {}
    for (raw, value), name in zip(pairs.items(), names, strict=True):
        attribute = entity.attributes[name]
        typed[name] = {"id": value} if attribute.is_lookup else coerce(entity, attribute, value)
        del raw
    record_id = store.key_owner(
        ctx.conn, entity.logical_name, key.logical_name, key_value([typed[a] for a in key.attributes])
    )
    return record_id, typed


def index_keys(ctx: Ctx, entity: Entity, record_id: str, data: dict[str, Any]) -> None:
    """Write the record's alternate-key values, refusing duplicates with 412 0x80040237."""
    values = {}
    for key in entity.keys.values():
        if key.failed:
            continue  # a key whose index build failed enforces nothing
        parts = [data.get(a) for a in key.attributes]
        if any(p is None for p in parts):
            continue
        value = key_value(parts)
        owner = store.key_owner(ctx.conn, entity.logical_name, key.logical_name, value)
        if owner is not None and owner != record_id:
            raise ODataError(412, "0x80040237", DUPLICATE_KEY)
        values[key.logical_name] = value
    store.set_record_keys(ctx.conn, entity.logical_name, record_id, values)


def reference_segment(reference: str) -> tuple[str, str | None]:
    """(entity set, key arguments) of an entity URL in a payload (`@odata.id`, `@odata.bind`,
    `$id`): `/accounts(<id>)`, `accounts(k='v')` or an absolute URL. It is a URL, so a key value
    in it is percent-encoded as in a request line (`'a%20b'` is `'a b'`)."""
    path = reference
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    return split_segment(unquote(path.lstrip("/")))


def resolve_reference(ctx: Ctx, reference: str) -> tuple[Entity, str]:
    """`/accounts(<id>)`, `accounts(k='v')` or an absolute URL → (table, existing record id).

    Raises:
        ODataError: 400 for a malformed reference, 404 for a missing record, 400 for a missing key.
    """
    name, args = reference_segment(reference)
    entity = ctx.catalog.by_set.get(name)
    if entity is None or args is None:
        raise ODataError(
            400,
            "0x80048d19",
            f"Error identified in Payload provided by the user: the reference '{reference}' is not a valid entity URL.",
        )
    key = parse_key(args)
    if isinstance(key, str):
        if store.get_record(ctx.conn, entity.logical_name, key) is None:
            raise missing(entity, key)
        return entity, key
    record_id, _ = find_by_key(ctx, entity, key)
    if record_id is None:
        raise ODataError(
            404, "0x80040217", f"A record with the specified key values does not exist in {entity.logical_name} entity"
        )
    return entity, record_id


def bind(ctx: Ctx, entity: Entity, nav_name: str, reference: Any) -> tuple[Attribute, dict[str, str] | None]:
    """Resolve one `<nav>@odata.bind` into (lookup column, stored value)."""
    nav = entity.navs.get(nav_name)
    if nav is None:
        raise ODataError(
            400,
            "0x80048d19",
            f"Error identified in Payload provided by the user for Entity :'{entity.entity_set}', For more "
            f"information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293"
            f"  ----> InnerException : Microsoft.OData.ODataException: An undeclared property '{nav_name}' which "
            f"only has property annotations in the payload but no property value was found in the payload. In "
            f"OData, only declared navigation properties and declared named streams can be represented as "
            f"properties without values.",
        )
    attribute = entity.attributes[nav.attribute]
    if reference is None:
        return attribute, None
    if not isinstance(reference, str):
        raise ODataError(400, "0x80048d19", f"The value of '{nav_name}@odata.bind' must be an entity URL string.")
    target, record_id = resolve_reference(ctx, reference)
    allowed = attribute.targets if nav.target == "*" else [nav.target]
    if target.logical_name not in allowed:
        raise ODataError(
            400,
            "0x80048d19",
            f"Error identified in Payload provided by the user for Entity :'{entity.entity_set}': the navigation "
            f"property '{nav_name}' cannot reference entity '{target.logical_name}'.",
        )
    return attribute, {"id": record_id, "type": target.logical_name}
