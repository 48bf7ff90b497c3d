"""Unbound actions on records: `CloseIncident` (reference section 9).

Real (shape secondary): `POST /CloseIncident` with `{"IncidentResolution": {"@odata.type":
"Microsoft.Dynamics.CRM.incidentresolution", "subject": …, "incidentid@odata.bind":
"/incidents(<id>)"}, "Status": 5}` → 204; it creates the resolution activity and moves the case to
Resolved with the given status reason. Invented: the refusal texts. Not emulated (unconfirmed in
the reference): refusing a plain PATCH of an incident to the Resolved state.
"""

from __future__ import annotations

from migration_assets.sandbox.dataverse import store
from migration_assets.sandbox.dataverse.core import Call, Ctx, ODataError, Result
from migration_assets.sandbox.dataverse.writes import check_privilege, save

RESOLVED = 1


def close_incident(ctx: Ctx, call: Call) -> Result:
    """Resolve a case: create its incidentresolution and set statecode 1 with `Status`.

    Raises:
        ODataError: 400 for a malformed body, a status outside Resolved or a case not Active;
            403 without Customer Service; 404 when the case does not exist.
    """
    body = call.json()
    resolution = body.get("IncidentResolution") if isinstance(body, dict) else None
    status = body.get("Status") if isinstance(body, dict) else None
    if not isinstance(resolution, dict) or not isinstance(status, int) or isinstance(status, bool):
        raise ODataError(400, "0x80048d19", "CloseIncident needs an IncidentResolution object and an integer Status.")
    if str(resolution.get("@odata.type", "")).lstrip("#") != "Microsoft.Dynamics.CRM.incidentresolution":
        raise ODataError(
            400, "0x80048d19", "IncidentResolution must have @odata.type Microsoft.Dynamics.CRM.incidentresolution."
        )
    if "incidentid@odata.bind" not in resolution:
        raise ODataError(400, "0x80040203", "IncidentResolution must reference the case with incidentid@odata.bind.")
    incident = ctx.catalog.entities["incident"]
    check_privilege(ctx, incident, "update")
    allowed = [o["Value"] for o in incident.attributes["statuscode"].options or [] if o["State"] == RESOLVED]
    if status not in allowed:
        raise ODataError(
            400, "0x80040203", f"{status} is not a valid status code for state code IncidentState.Resolved on incident."
        )
    payload = {k: v for k, v in resolution.items() if k != "@odata.type"}
    resolution_id = store.new_record_id()
    saved = save(ctx, ctx.catalog.entities["incidentresolution"], resolution_id, payload, None)
    case_id = saved[0]["incidentid"]["id"] if saved else None
    existing = store.get_record(ctx.conn, "incident", case_id) if case_id else None
    if existing is None:
        raise ODataError(404, "0x80040217", f"incident With Id = {case_id} Does Not Exist")
    if existing[0].get("statecode") != 0:
        raise ODataError(400, "0x80040203", "The case is not active and cannot be closed.")
    save(ctx, incident, case_id, {"statecode": RESOLVED, "statuscode": status}, existing[0])
    return Result(204)
