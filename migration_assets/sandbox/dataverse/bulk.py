"""Bulk messages bound to an entity set: CreateMultiple, UpdateMultiple, UpsertMultiple.

Real (reference section 5): `POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple` with `Targets`,
each carrying `@odata.type` of the one table → 200 `{"Ids":[…]}`; UpdateMultiple and
UpsertMultiple (`@odata.id` such as `accounts(accountnumber='A-1')` per target) → 204; all or
nothing; each target counts for the entitlement, the request once for service protection.
Unconfirmed: which standard tables support them (here: every writable table except users,
teams, solutions/publishers and activitypointer).
"""

from __future__ import annotations

import json
from typing import Any

from migration_assets.sandbox.dataverse import records, store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result, not_found_segment
from migration_assets.sandbox.dataverse.model import Entity
from migration_assets.sandbox.dataverse.references import reference_segment

UNSUPPORTED = {"activitypointer", "systemuser", "team", "solution", "publisher"}
MESSAGES = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


def targets_of(entity: Entity, call: Call) -> list[dict[str, Any]]:
    body = call.json()
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets:
        raise ODataError(400, "0x80048d19", "The 'Targets' parameter is required and must be a non-empty array.")
    expected = f"Microsoft.Dynamics.CRM.{entity.logical_name}"
    for target in targets:
        kind = target.get("@odata.type") if isinstance(target, dict) else None
        if kind is None:
            raise ODataError(400, "0x80048d19", "The '@odata.type' annotation is required for every item of 'Targets'.")
        if str(kind).lstrip("#") != expected:
            raise ODataError(
                400, "0x80040203", f"All Targets must be of type '{expected}' (the bound entity set); got '{kind}'."
            )
    return targets


def address(ctx: Ctx, entity: Entity, target: dict[str, Any]) -> str | None:
    """Key segment of a target from `@odata.id` (a URL: `reference_segment`) or its primary id
    (None: create)."""
    odata_id = target.get("@odata.id")
    if odata_id:
        name, args = reference_segment(str(odata_id))
        if name != entity.entity_set or args is None:
            raise ODataError(
                400, "0x80040203", f"'@odata.id' {odata_id} does not address a record of {entity.entity_set}."
            )
        return args
    record_id = target.get(entity.primary_id)
    return str(record_id) if record_id else None


def run(ctx: Ctx, entity: Entity, message: str, call: Call) -> Result:
    """Answer one bulk message; any failing target fails (and rolls back) the whole request."""
    if message not in MESSAGES or entity.logical_name in UNSUPPORTED:
        raise not_found_segment(f"Microsoft.Dynamics.CRM.{message}")
    targets = targets_of(entity, call)
    store.count_entitlement(ctx.conn, len(targets) - 1)
    ids = []
    for target in targets:
        body = {k: v for k, v in target.items() if k not in ("@odata.type", "@odata.id")}
        part = Call("PATCH", call.path, {}, {}, json.dumps(body).encode())
        args = address(ctx, entity, target)
        if message == "CreateMultiple":
            result = records.create(ctx, entity, Call("POST", call.path, {}, {}, part.body))
        elif args is None:
            if message == "UpdateMultiple":
                raise ODataError(
                    400, "0x80040203", f"Each UpdateMultiple target needs {entity.primary_id} or '@odata.id'."
                )
            result = records.create(ctx, entity, Call("POST", call.path, {}, {}, part.body))
        else:
            if message == "UpdateMultiple":
                part.headers["if-match"] = "*"
            result = records.upsert(ctx, entity, args, part)
        ids.append(result.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")"))
    if message == "CreateMultiple":
        context = f"{ctx.base_url}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
        return Result(200, {"@odata.context": context, "Ids": ids})
    return Result(204)
