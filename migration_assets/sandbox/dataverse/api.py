"""Routing of one data-API call (`/api/data/v9.2/...`) to the module that answers it.

Used both for HTTP requests and for the parts of a `$batch`. `GET WhoAmI` answers the caller
(real). Invented routes (no real equivalent; real environments need the Power Platform admin
center): `GET sandbox/environment` (tier facts, custom table count, 24 h entitlement usage) and
`GET sandbox/silentfailures`.
"""

from __future__ import annotations

import uuid

from migration_assets.sandbox.dataverse import (
    actions,
    bootstrap,
    bulk,
    customize,
    metadata,
    query,
    records,
    relationships,
    store,
    uncustomize,
)
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, not_found_segment
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.odata import split_path, split_segment

BULK_PREFIX = "Microsoft.Dynamics.CRM."


def method_not_allowed(call: Call) -> ODataError:
    return ODataError(405, "0x80060888", f"The HTTP method '{call.method}' is not supported for '{call.path}'.")


def dispatch(ctx: Ctx, call: Call) -> Result:
    """Answer one call inside the caller's transaction.

    Raises:
        ODataError: any refusal; the caller turns it into the error body and rolls back.
    """
    segments = split_path(call.path)
    if not segments:
        raise not_found_segment("")
    name, args = split_segment(segments[0])
    rest = segments[1:]
    if name == "EntityDefinitions":
        return entity_definitions(ctx, args, rest, call)
    if name in ACTIONS and args is None and not rest:
        if call.method != "POST":
            raise method_not_allowed(call)
        return ACTIONS[name](ctx, call)
    if name == "RelationshipDefinitions":
        if args is not None:
            if rest or call.method != "DELETE":
                raise method_not_allowed(call)
            return uncustomize.delete_relationship(ctx, args)
        return relationship_definitions(ctx, rest, call)
    if name == "sandbox" and args is None:
        return sandbox_info(ctx, rest, call)
    if name == "WhoAmI" and args is None and not rest:
        return who_am_i(ctx, call)
    return data(ctx, records.entity_for_set(ctx, name), args, rest, call)


def entity_definitions(ctx: Ctx, args: str | None, rest: list[str], call: Call) -> Result:
    if call.method == "GET":
        return metadata.read(ctx, args, rest, call)
    if call.method == "DELETE" and args is not None:
        return _delete_definition(ctx, metadata.find_entity(ctx, args), rest, call)
    if call.method != "POST":
        raise method_not_allowed(call)
    if args is None and not rest:
        return customize.create_table(ctx, call)
    if args is not None and rest == ["Attributes"]:
        return customize.create_column(ctx, metadata.find_entity(ctx, args), call)
    if args is not None and rest == ["Keys"]:
        return customize.create_key(ctx, metadata.find_entity(ctx, args), call)
    raise method_not_allowed(call)


def _delete_definition(ctx: Ctx, entity: Entity, rest: list[str], call: Call) -> Result:
    """DELETE a table, or one of its columns or keys."""
    if not rest:
        return uncustomize.delete_table(ctx, entity)
    child, child_args = split_segment(rest[0])
    if len(rest) == 1 and child_args is not None and child == "Attributes":
        return uncustomize.delete_column(ctx, entity, child_args)
    if len(rest) == 1 and child_args is not None and child == "Keys":
        return uncustomize.delete_key(ctx, entity, child_args)
    raise method_not_allowed(call)


def relationship_definitions(ctx: Ctx, rest: list[str], call: Call) -> Result:
    """POST a 1:N or N:N relationship; GET the many-to-many relationships (typed cast)."""
    if not rest and call.method == "POST":
        body = call.json()
        kind = str(body.get("@odata.type", "")).lstrip("#") if isinstance(body, dict) else ""
        if kind == "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata":
            return relationships.create(ctx, call)
        return customize.create_relationship(ctx, call)
    if rest == ["Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata"] and call.method == "GET":
        items = [metadata.definition_json(r) for r in ctx.catalog.relationships.values()]
        shaped = metadata.shape(items, call.query, "ManyToManyRelationshipMetadata")
        return Result(200, {"@odata.context": f"{ctx.base_url}/$metadata#RelationshipDefinitions", "value": shaped})
    if rest:
        raise not_found_segment(rest[0])
    raise method_not_allowed(call)


def data(ctx: Ctx, entity: Entity, args: str | None, rest: list[str], call: Call) -> Result:
    """Record routes of one entity set."""
    if args is None:
        if not rest:
            if call.method == "GET":
                return query.collection(ctx, entity, call)
            if call.method == "POST":
                return records.create(ctx, entity, call)
            raise method_not_allowed(call)
        if rest == ["$count"] and call.method == "GET":
            return query.count(ctx, entity, call)
        if len(rest) == 1 and rest[0].startswith(BULK_PREFIX) and call.method == "POST":
            return bulk.run(ctx, entity, rest[0][len(BULK_PREFIX) :], call)
        raise not_found_segment(rest[0])
    if rest:
        record_id, _ = records.locate(ctx, entity, args)
        if record_id is None:
            raise records.missing(entity, args)
        return relationships.route(ctx, entity, record_id, rest, call)
    handlers = {"GET": records.retrieve, "PATCH": records.upsert, "DELETE": records.delete}
    if call.method not in handlers:
        raise method_not_allowed(call)
    return handlers[call.method](ctx, entity, args, call)


def who_am_i(ctx: Ctx, call: Call) -> Result:
    """`GET WhoAmI` (real function): the calling user, its business unit and the organization."""
    if call.method != "GET":
        raise method_not_allowed(call)
    ids = {k: str(uuid.uuid5(bootstrap.NS, k)) for k in ("business-unit", "organization")}
    return Result(
        200,
        {
            "@odata.context": f"{ctx.base_url}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": ids["business-unit"],
            "UserId": ctx.user_id,
            "OrganizationId": ids["organization"],
        },
    )


def sandbox_info(ctx: Ctx, rest: list[str], call: Call) -> Result:
    """Invented read-only views: environment facts and the silent-failure log."""
    if call.method != "GET":
        raise method_not_allowed(call)
    if rest == ["environment"]:
        custom = sum(1 for e in ctx.catalog.entities.values() if e.is_custom)
        return Result(
            200,
            {
                "tier": ctx.options.tier,
                "customer_service": ctx.options.customer_service,
                "custom_table_limit": ctx.options.custom_table_limit,
                "custom_table_count": custom,
                "entitlement_requests_24h": store.entitlement_used(ctx.conn),
                "sharepoint_site": bool(ctx.options.get("sharepoint_site")),
            },
        )
    if rest == ["silentfailures"]:
        rows = ctx.conn.execute("select entity, record_id, reason, body, at from sandbox_silent_failures order by id")
        return Result(
            200,
            {
                "value": [
                    {"entity": r["entity"], "recordid": r["record_id"], "reason": r["reason"], "at": r["at"]}
                    for r in rows
                ]
            },
        )
    raise not_found_segment("/".join(rest) or "sandbox")


ACTIONS = {
    "CloseIncident": actions.close_incident,
    "InsertOptionValue": customize.insert_option_value,
    "DeleteOptionValue": uncustomize.delete_option_value,
    "InsertStatusValue": customize.insert_status_value,
    "PublishXml": customize.publish,
    "PublishAllXml": customize.publish,
}
