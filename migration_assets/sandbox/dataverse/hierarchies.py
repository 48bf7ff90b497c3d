"""Hierarchical lookups: a record may not become its own ancestor (account.parentaccountid).

Real (Dataverse web service error codes): `0x80040507` AccountLoopBeingCreated "Creating this
parental association would create a loop in Accounts hierarchy." for a write that would close a
loop, including a record made its own parent. Unconfirmed: the HTTP status (we answer 400, as for
other business-rule refusals) and that a self parent gets this code rather than a generic one.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Ctx, ODataError
from migration_assets.sandbox.dataverse.model import Entity

# table -> (its self-referencing hierarchical lookup, error code, the message's plural name)
HIERARCHIES = {"account": ("parentaccountid", "0x80040507", "Accounts")}
MAX_DEPTH = 10_000  # a chain longer than any real hierarchy: stop walking (a stored loop never exists)


def check(ctx: Ctx, entity: Entity, record_id: str, changes: dict[str, Any]) -> None:
    """Refuse a parent that is the record itself or one of its descendants.

    Raises:
        ODataError: 400 with the table's loop code.
    """
    rule = HIERARCHIES.get(entity.logical_name)
    if rule is None or not isinstance(changes.get(rule[0]), dict):
        return
    column, code, plural = rule
    node = changes[column].get("id")
    for _ in range(MAX_DEPTH):
        if node is None:
            return
        if str(node).lower() == str(record_id).lower():
            raise ODataError(
                400, code, f"Creating this parental association would create a loop in {plural} hierarchy."
            )
        found = store.get_record(ctx.conn, entity.logical_name, node)
        node = ((found[0].get(column) or {}).get("id")) if found else None
