"""Validation and storage of one record write (create or update), shared by single requests,
`$batch` parts, bulk messages and seeding.

Real: unknown body columns (0x0 "Invalid property ..."), read-only/create-only columns silently
ignored, statecode ignored on create, statuscode must belong to statecode, only SystemRequired
enforced, note size counted on base64 (0x80044a02), document location relativeurl xor absoluteurl
(0x80040203), incident writes need a Customer Service licence (403 0x80040220), process/stage
references (processes.py), no loop in an account hierarchy (hierarchies.py), publisher
customization prefixes (2-8 letters or digits), unique publisher and solution unique names (the
duplicate answer, 412 0x80040237, is unconfirmed).
Invented/unconfirmed: texts for a missing SystemRequired column and a statuscode outside its state;
the "silent failure" of activities owned by a disabled user: answered as success but not stored,
logged in `sandbox_silent_failures` (readable at `GET /api/data/v9.2/sandbox/silentfailures`).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from migration_assets.sandbox.dataverse import hierarchies, processes, store
from migration_assets.sandbox.dataverse.core import Ctx, ODataError
from migration_assets.sandbox.dataverse.model import Attribute, Entity
from migration_assets.sandbox.dataverse.parties import STORED as STORED_PARTIES
from migration_assets.sandbox.dataverse.parties import parse_parties, parties_property
from migration_assets.sandbox.dataverse.references import bind, index_keys
from migration_assets.sandbox.dataverse.values import coerce

PREFIX_RE = re.compile(r"^(?!mscrm)[A-Za-z][A-Za-z0-9]{1,7}$")
PRIVILEGES = {"create": "prvCreateIncident", "update": "prvWriteIncident", "delete": "prvDeleteIncident"}


def check_privilege(ctx: Ctx, entity: Entity, action: str) -> None:
    """incident is a restricted table: writes need a Customer Service licence (option switch)."""
    if entity.logical_name == "incident" and not ctx.options.customer_service:
        privilege = PRIVILEGES[action]
        raise ODataError(
            403,
            "0x80040220",
            f"Principal user (Id={ctx.user_id}, type=8, roleCount=1, privilegeName={privilege}, "
            f"accessRightsMask=0) is missing {privilege} privilege (Id={uuid.uuid5(uuid.NAMESPACE_URL, privilege)}) "
            f"on OTC=112 for entity 'incident'. context.Caller={ctx.user_id}",
        )


def invalid_property(entity: Entity, name: str) -> ODataError:
    return ODataError(
        400,
        "0x0",
        f"An error occurred while validating input parameters: Microsoft.OData.ODataException: "
        f"Invalid property '{name}' was found in entity 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
    )


def parse_body(ctx: Ctx, entity: Entity, body: Any, creating: bool) -> dict[str, Any]:
    """Validated column values of a create/update body (read-only columns dropped silently)."""
    if not isinstance(body, dict):
        raise ODataError(
            400, "0x80048d19", "Error identified in Payload provided by the user: a JSON object is expected."
        )
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name.endswith("@odata.bind"):
            attribute, stored = bind(ctx, entity, name[: -len("@odata.bind")], value)
            if _writable(attribute, creating):
                changes[attribute.logical_name] = stored
            continue
        if "@" in name:
            if name == "@odata.type" and value not in (
                f"Microsoft.Dynamics.CRM.{entity.logical_name}",
                f"#Microsoft.Dynamics.CRM.{entity.logical_name}",
            ):
                raise ODataError(
                    400, "0x80048d19", f"The @odata.type '{value}' does not match entity '{entity.logical_name}'."
                )
            continue  # instance annotations such as @odata.etag
        if name == parties_property(entity):
            changes[STORED_PARTIES] = parse_parties(ctx, entity, value)
            continue
        attribute = entity.attributes.get(name)
        if attribute is None or attribute.is_lookup or attribute.type in ("EntityName", "Virtual"):
            if attribute is not None and attribute.type == "EntityName":
                continue
            raise invalid_property(entity, name)
        if not _writable(attribute, creating):
            continue  # real: columns not valid for the operation are silently ignored
        changes[name] = coerce(entity, attribute, value)
    return changes


def _writable(attribute: Attribute, creating: bool) -> bool:
    return attribute.valid_create if creating else attribute.valid_update


def apply_state(entity: Entity, data: dict[str, Any], changes: dict[str, Any], creating: bool, record_id: str) -> None:
    """statuscode must belong to statecode; state 0 on create; a new state alone takes its default status."""
    state_attr, status_attr = entity.attributes.get("statecode"), entity.attributes.get("statuscode")
    if state_attr is None or status_attr is None:
        return
    state = 0 if creating else changes.get("statecode", data.get("statecode", 0))
    if state is None:
        raise ODataError(400, "0x80040203", "statecode cannot be null.")
    status = changes.get("statuscode")
    state_option = next(o for o in state_attr.options or [] if o["Value"] == state)
    if status is None:
        if creating or "statecode" in changes:
            changes["statuscode"] = state_option["DefaultStatus"]
    else:
        option = next((o for o in status_attr.options or [] if o["Value"] == status), None)
        if option is None or option["State"] != state:
            raise ODataError(
                400,
                "0x80040203",
                f"{status} is not a valid status code for state code {entity.schema_name.capitalize()}State."
                f"{state_option['Label'].replace(' ', '')} on {entity.logical_name} with Id {record_id}.",
            )
    changes["statecode"] = state


def derived_columns(entity: Entity, data: dict[str, Any]) -> None:
    """Columns Dataverse computes: fullname, activitytypecode, note objecttypecode/filesize."""
    if "fullname" in entity.attributes and "firstname" in entity.attributes and "lastname" in entity.attributes:
        data["fullname"] = " ".join(p for p in (data.get("firstname"), data.get("lastname")) if p) or None
    if entity.is_activity:
        data["activitytypecode"] = entity.logical_name
    if entity.logical_name == "annotation":
        body = data.get("documentbody")
        data["objecttypecode"] = (data.get("objectid") or {}).get("type")
        data["filesize"] = len(body) * 3 // 4 - body[-2:].count("=") if body else None
        data["isdocument"] = bool(body) or bool(data.get("isdocument"))


def table_rules(ctx: Ctx, entity: Entity, data: dict[str, Any], changes: dict[str, Any]) -> None:
    """Per-table rules: note size cap, document location URL xor, publisher prefix, SystemRequired columns."""
    prefix = changes.get("customizationprefix")
    if entity.logical_name == "publisher" and prefix is not None and not PREFIX_RE.match(str(prefix)):
        raise ODataError(
            400,
            "0x80040203",
            "The customization prefix must be 2 to 8 characters long, can only consist of letters and digits, "
            "must start with a letter and cannot start with 'mscrm'.",
        )
    unique = changes.get("uniquename")
    if entity.logical_name in ("publisher", "solution") and unique is not None:
        other = ctx.conn.execute(
            "select id from records where entity = ? and lower(json_extract(data, '$.uniquename')) = lower(?) "
            "and id != ?",
            (entity.logical_name, unique, data.get(entity.primary_id) or ""),
        ).fetchone()
        if other is not None:
            raise ODataError(412, "0x80040237", "A record with matching key values already exists.")
    body = changes.get("documentbody")
    if (
        entity.logical_name == "annotation"
        and body is not None
        and len(body) > int(ctx.options.get("max_upload_bytes"))
    ):
        raise ODataError(400, "0x80044a02", "Attachment file size is too big.")
    if entity.logical_name == "sharepointdocumentlocation":
        has_relative, has_absolute = bool(data.get("relativeurl")), bool(data.get("absoluteurl"))
        if has_relative == has_absolute:
            raise ODataError(
                400,
                "0x80040203",
                "A document location must have either a relative URL (with a parent site or location) or an "
                "absolute URL, not both and not neither.",
            )
    for attribute in entity.attributes.values():
        if (
            attribute.required_level == "SystemRequired"
            and attribute.valid_create
            and data.get(attribute.logical_name) is None
        ):
            raise ODataError(
                400,
                "0x80040203",
                f"Attribute '{attribute.logical_name}' of entity '{entity.logical_name}' is required "
                f"(RequiredLevel SystemRequired) and cannot be null.",
            )


def owner_is_disabled(ctx: Ctx, data: dict[str, Any]) -> bool:
    owner = data.get("ownerid")
    if not owner or owner.get("type") != "systemuser":
        return False
    found = store.get_record(ctx.conn, "systemuser", owner["id"])
    return bool(found and found[0].get("isdisabled"))


def silent_failure(ctx: Ctx, entity: Entity, record_id: str, body: Any) -> None:
    ctx.conn.execute(
        "insert into sandbox_silent_failures (entity, record_id, reason, body, at) values (?, ?, ?, ?, ?)",
        (entity.logical_name, record_id, "activity owner is a disabled user", json.dumps(body), store.utc_now()),
    )


def save(
    ctx: Ctx, entity: Entity, record_id: str, body: Any, existing: dict[str, Any] | None
) -> tuple[dict[str, Any], int] | None:
    """Validate and store a create (existing None) or an update; None when silently dropped."""
    creating = existing is None
    check_privilege(ctx, entity, "create" if creating else "update")
    changes = parse_body(ctx, entity, body, creating)
    data = dict(existing or {})
    now = store.utc_now()
    if creating:
        data = {entity.primary_id: record_id, "createdon": changes.get("overriddencreatedon") or now}
        data["createdby"] = {"id": ctx.user_id, "type": "systemuser"}
        if "ownerid" in entity.attributes:
            data["ownerid"] = {"id": ctx.user_id, "type": "systemuser"}
        changes.pop(entity.primary_id, None)
    apply_state(entity, data, changes, creating, record_id)
    table_rules(ctx, entity, {**data, **changes}, changes)
    processes.check(ctx, entity, {**data, **changes}, changes)
    hierarchies.check(ctx, entity, record_id, changes)
    data.update(changes)
    data["modifiedon"], data["modifiedby"] = now, {"id": ctx.user_id, "type": "systemuser"}
    derived_columns(entity, data)
    if entity.is_activity and "ownerid" in changes and owner_is_disabled(ctx, data):
        silent_failure(ctx, entity, record_id, body)
        return None
    index_keys(ctx, entity, record_id, data)
    version = store.put_record(ctx.conn, entity.logical_name, record_id, data)
    return data, version
