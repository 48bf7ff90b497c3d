"""What the org computes on a write: derived fields and records created or changed alongside.

Real: Contact/User Name, Case.CaseNumber auto-number, Case/Task IsClosed from the status's closed flag
(and Case.ClosedDate), Event start/end/duration kept consistent, ContentVersion creating its
ContentDocument and (with FirstPublishLocationId) a ContentDocumentLink with ShareType I.
From memory in the reference, emulated as such: setting Contact.AccountId creates the IsDirect=true
AccountContactRelation. Invented: changing Contact.AccountId turns the old direct relation indirect;
custom AutoNumber names are `<first 3 letters of label>-<6 digits>`; an Event ending before it starts is
FIELD_INTEGRITY_EXCEPTION.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migration_assets.sandbox.salesforce import files
from migration_assets.sandbox.salesforce.context import Ctx, new_row, records_where, save
from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.ids import next_counter
from migration_assets.sandbox.salesforce.schema import ObjectDef
from migration_assets.sandbox.salesforce.store import now_iso, option
from migration_assets.sandbox.salesforce.validate import required_error


def derive(ctx: Ctx, obj: ObjectDef, record: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Fields computed by the org: names, auto-numbers, IsClosed, event times."""
    if obj.name in ("Contact", "User"):
        record["Name"] = " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p)
    if before is None and obj.name == "Case":
        record["CaseNumber"] = f"{next_counter(ctx.conn, 'CaseNumber', 1001):08d}"
    if before is None and obj.custom and obj.fields["Name"].auto_number:
        record["Name"] = f"{obj.label[:3].upper()}-{next_counter(ctx.conn, 'auto:' + obj.name):06d}"
    if obj.name in ("Case", "Task"):
        closed = {p.value for p in obj.fields["Status"].picklist if p.closed}
        was_closed = bool(before and before.get("IsClosed"))
        record["IsClosed"] = record.get("Status") in closed
        if obj.name == "Case":
            record["ClosedDate"] = (
                (record.get("ClosedDate") if was_closed else now_iso()) if record["IsClosed"] else None
            )
    if obj.name == "Event":
        _derive_event(record)


def _derive_event(record: dict[str, Any]) -> None:
    """Keep StartDateTime/ActivityDateTime and EndDateTime/DurationInMinutes consistent."""
    if record.get("IsAllDayEvent"):
        return
    start = record.get("StartDateTime") or record.get("ActivityDateTime")
    if not start:
        raise required_error(["ActivityDateTime"])
    record["StartDateTime"] = record["ActivityDateTime"] = start
    record["ActivityDate"] = start[:10]
    begin = _parse(start)
    if record.get("EndDateTime"):
        minutes = int((_parse(record["EndDateTime"]) - begin).total_seconds() // 60)
        if minutes < 0:
            raise SfError(
                "FIELD_INTEGRITY_EXCEPTION",
                "End Date Time: End Date Time can't be before Start Date Time",
                ["EndDateTime"],
            )
        record["DurationInMinutes"] = minutes
    elif record.get("DurationInMinutes") is not None:
        end = begin + timedelta(minutes=record["DurationInMinutes"])
        record["EndDateTime"] = end.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    else:
        raise required_error(["DurationInMinutes"])


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def before_insert(ctx: Ctx, obj: ObjectDef, record: dict[str, Any], blob: Any) -> None:
    """Checks and files handled before a new record is stored (ACR duplicates, ContentVersion bytes)."""
    if obj.name == "AccountContactRelation":
        for other in records_where(ctx, obj.name, "ContactId", record["ContactId"]):
            if other["AccountId"] == record["AccountId"]:
                raise SfError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: <unknown> duplicates value on record with id: {other['Id']}",
                    ["ContactId"],
                )
    if obj.name == "ContentVersion":
        _store_version(ctx, record, blob)


def _store_version(ctx: Ctx, record: dict[str, Any], blob: Any) -> None:
    """Write the bytes, fill the read-only file fields and create the ContentDocument."""
    limit = int(option(ctx.conn, "max_file_bytes"))
    data = blob if blob is not None else record.get("VersionData")
    if data is None:
        raise required_error(["VersionData"])
    if isinstance(data, str):
        data = files.decode_version_data(data, limit)
    if isinstance(data, bytes) and len(data) > limit:
        raise files.too_large(len(data), limit)
    size, md5 = files.write_blob(ctx.blobs, record["Id"], data, limit)
    ext, kind = files.file_type(record["PathOnClient"])
    title = record.get("Title") or Path(record["PathOnClient"]).stem
    record |= {
        "VersionData": None,
        "ContentSize": size,
        "Checksum": md5,
        "FileExtension": ext,
        "FileType": kind,
        "Title": title,
    }
    doc_obj = ctx.obj("ContentDocument")
    doc = new_row(
        ctx,
        doc_obj,
        {
            "Title": title,
            "LatestPublishedVersionId": record["Id"],
            "FileExtension": ext,
            "FileType": kind,
            "ContentSize": size,
        },
    )
    save(ctx, doc_obj, doc)
    record["ContentDocumentId"] = doc["Id"]


def after_write(ctx: Ctx, obj: ObjectDef, record: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Records the org creates or changes after a write (direct ACR, ContentDocumentLink)."""
    if obj.name == "Contact":
        _sync_direct_relation(ctx, record, before)
    if obj.name == "ContentVersion" and before is None and record.get("FirstPublishLocationId"):
        link_obj = ctx.obj("ContentDocumentLink")
        link = {
            "ContentDocumentId": record["ContentDocumentId"],
            "LinkedEntityId": record["FirstPublishLocationId"],
            "ShareType": "I",
        }
        save(ctx, link_obj, new_row(ctx, link_obj, link))


def _sync_direct_relation(ctx: Ctx, contact: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Maintain the IsDirect AccountContactRelation that follows Contact.AccountId."""
    old, new = (before or {}).get("AccountId"), contact.get("AccountId")
    if old == new:
        return
    acr = ctx.obj("AccountContactRelation")
    relations = records_where(ctx, acr.name, "ContactId", contact["Id"])
    for rel in relations:
        if rel["AccountId"] == old and rel.get("IsDirect"):
            save(ctx, acr, rel | {"IsDirect": False, "LastModifiedDate": now_iso()})
    if new is None:
        return
    existing = next((r for r in relations if r["AccountId"] == new), None)
    if existing:
        save(ctx, acr, existing | {"IsDirect": True, "LastModifiedDate": now_iso()})
        return
    row = {"AccountId": new, "ContactId": contact["Id"], "IsDirect": True, "IsActive": True}
    save(ctx, acr, new_row(ctx, acr, row))
