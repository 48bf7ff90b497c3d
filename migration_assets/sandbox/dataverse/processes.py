"""Business process flow references on records: `processid` and `stageid` (reference §9 area).

Real: a record's `processid` names its business process flow (a `workflow` of category 4 whose
`primaryentity` is the record's table) and `stageid` the active stage (a `processstage` of that
flow); both are Uniqueidentifier columns, not lookups.
Invented/unconfirmed: that the Web API refuses a process or stage that does not fit (the real
service may only fail later, in the flow's UI), and the codes and texts of those refusals.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Ctx, ODataError
from migration_assets.sandbox.dataverse.model import Entity

BUSINESS_PROCESS_FLOW = 4


def check(ctx: Ctx, entity: Entity, data: dict[str, Any], changes: dict[str, Any]) -> None:
    """Refuse a process that is not a flow of this table, or a stage outside the record's flow.

    Args:
        ctx: the request.
        entity: the table written to.
        data: the record as it will be stored (existing values merged with the changes).
        changes: the columns this write sets.

    Raises:
        ODataError: 400 0x80040217 for a missing process or stage, 400 0x80040203 for a mismatch.
    """
    if "processid" not in changes and "stageid" not in changes:
        return
    column = entity.attributes.get("processid")
    if column is None or column.type != "Uniqueidentifier":  # processstage.processid is a lookup
        return
    process_id, stage_id = data.get("processid"), data.get("stageid")
    if process_id is not None:
        found = store.get_record(ctx.conn, "workflow", process_id)
        if found is None:
            raise ODataError(400, "0x80040217", f"workflow With Id = {process_id} Does Not Exist")
        flow = found[0]
        if flow.get("category") != BUSINESS_PROCESS_FLOW or flow.get("primaryentity") != entity.logical_name:
            raise ODataError(
                400,
                "0x80040203",
                f"The process {process_id} is not a business process flow for entity '{entity.logical_name}'.",
            )
    if stage_id is None:
        return
    stage = store.get_record(ctx.conn, "processstage", stage_id)
    if stage is None:
        raise ODataError(400, "0x80040217", f"processstage With Id = {stage_id} Does Not Exist")
    owner = (stage[0].get("processid") or {}).get("id")
    if process_id is None or owner != process_id:
        raise ODataError(
            400,
            "0x80040203",
            f"The stage {stage_id} does not belong to the process {process_id} of this {entity.logical_name}.",
        )
