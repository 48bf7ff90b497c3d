"""sObject Collections: upsert, update and delete up to 200 records per call.

Real shapes (reference section 6): `PATCH /composite/sobjects/<O>/<ExtIdField>` upserts records of
one type (each with `attributes.type` and the external id, no `Id`) and answers UpsertResults in
request order; `PATCH /composite/sobjects` updates by `Id`; `DELETE /composite/sobjects?ids=..`
deletes. `allOrNone` is always false so one bad record never blocks the others; per-record errors
carry `statusCode`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from migration_assets.connectors.base import UpsertRow, WriteResult
from migration_assets.connectors.salesforce.client import SalesforceClient, error_codes, format_errors
from migration_assets.errors import RemoteRejected

# Deleting a record that is already gone is success for an idempotent rollback.
ALREADY_GONE = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND"})
# Whole-request errors about the object or key itself: raised, not turned into row errors.
OBJECT_LEVEL = frozenset({"INVALID_TYPE", "NOT_FOUND"})


def json_value(value: Any) -> Any:
    """A field value as Salesforce JSON expects it (multipicklists as `a;b`, ISO dates).

    Args:
        value: a JSON-able value, a date/datetime, a Decimal, or a list of picklist values.

    Returns:
        The value to put in a request body (None stays None: it clears the field).
    """
    if isinstance(value, list | tuple | set | frozenset):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def upsert_record(sobject: str, key: str, row: UpsertRow) -> dict[str, Any]:
    """The JSON record of one upsert: type, external id, fields and lookup ids (None → null)."""
    record: dict[str, Any] = {"attributes": {"type": sobject}}
    record.update({name: json_value(value) for name, value in row.fields.items() if name != key})
    record.update({name: ref.id for name, ref in row.lookups.items()})
    record[key] = row.external_id
    return record


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """`items` cut into consecutive slices of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]


async def upsert_chunk(
    client: SalesforceClient, sobject: str, key: str, rows: Sequence[UpsertRow]
) -> list[WriteResult]:
    """Upsert ≤ 200 rows of one object on the external-id field `key`.

    Args:
        client: the org client.
        sobject: object API name.
        key: external-id field API name.
        rows: the rows (each row's `external_id` is the key value).

    Returns:
        One WriteResult per row, in order.

    Raises:
        RemoteRejected: the whole request was refused for another reason than its content (404, 5xx).
    """
    body = {"allOrNone": False, "records": [upsert_record(sobject, key, row) for row in rows]}
    try:
        answers = await client.json("PATCH", f"/composite/sobjects/{sobject}/{key}", json=body)
    except RemoteRejected as exc:
        if exc.status != 400 or OBJECT_LEVEL & set(error_codes(exc.body)):
            raise
        # The content of the request was refused as a whole (e.g. an unknown field): every row of
        # it fails with that reason, like Bulk reports the same problem row by row.
        reason = format_errors(exc.body) if isinstance(exc.body, list) else str(exc)
        return [WriteResult(row.external_id, False, error=reason) for row in rows]
    return [_upsert_result(row.external_id, answer) for row, answer in zip(rows, answers, strict=True)]


def _upsert_result(external_id: str, answer: Mapping[str, Any]) -> WriteResult:
    if answer.get("success"):
        operation = "created" if answer.get("created") else "updated"
        return WriteResult(external_id, True, answer.get("id"), operation)
    return WriteResult(external_id, False, answer.get("id"), error=format_errors(answer.get("errors")))


async def update_chunk(
    client: SalesforceClient, sobject: str, images: Sequence[Mapping[str, Any]]
) -> list[WriteResult]:
    """Update ≤ 200 records by Id (`PATCH /composite/sobjects`), used to restore before-images.

    Args:
        client: the org client.
        sobject: object API name.
        images: `{"id" or "Id": ..., field: value}` mappings.

    Returns:
        One WriteResult per image (external_id = the record id), operation "restored".
    """
    records = []
    for image in images:
        fields = {k: json_value(v) for k, v in image.items() if k not in ("id", "Id", "attributes")}
        records.append({"attributes": {"type": sobject}, "Id": record_id(image), **fields})
    answers = await client.json("PATCH", "/composite/sobjects", json={"allOrNone": False, "records": records})
    results = []
    for image, answer in zip(images, answers, strict=True):
        rid = record_id(image)
        if answer.get("success"):
            results.append(WriteResult(rid, True, rid, "restored"))
        else:
            results.append(WriteResult(rid, False, rid, error=_restore_error(answer.get("errors"))))
    return results


def _restore_error(errors: list[dict[str, Any]] | None) -> str:
    codes = {e.get("statusCode") for e in errors or []}
    if codes & ALREADY_GONE:
        return (
            "record was deleted after the before-image was taken; this workbench cannot undelete "
            "Salesforce records (restore it from the Recycle Bin, then re-run the rollback): " + format_errors(errors)
        )
    return format_errors(errors)


def record_id(image: Mapping[str, Any]) -> str:
    """The record id of a before-image (`id` or `Id`)."""
    return str(image.get("id") or image.get("Id"))


async def delete_chunk(client: SalesforceClient, ids: Sequence[str]) -> list[WriteResult]:
    """Delete ≤ 200 records by id; a record already deleted or missing counts as deleted.

    Args:
        client: the org client.
        ids: record ids.

    Returns:
        One WriteResult per id (external_id = the id), operation "deleted" when ok.
    """
    params = {"ids": ",".join(ids), "allOrNone": "false"}
    answers = await client.json("DELETE", "/composite/sobjects", params=params)
    results = []
    for rid, answer in zip(ids, answers, strict=True):
        codes = {e.get("statusCode") for e in answer.get("errors") or []}
        if answer.get("success") or codes & ALREADY_GONE:
            results.append(WriteResult(rid, True, rid, "deleted"))
        else:
            results.append(WriteResult(rid, False, rid, error=format_errors(answer.get("errors"))))
    return results
