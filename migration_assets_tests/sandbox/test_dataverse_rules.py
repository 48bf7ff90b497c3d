"""Dataverse emulator: table-specific rules (licensing, owners, notes, document locations)."""

from __future__ import annotations

import base64

from migration_assets.sandbox.dataverse.testing import record_id, sandbox_client


async def disabled_user(dv) -> str:
    users = (await dv.get("systemusers", params={"$filter": "isdisabled eq true"})).json()["value"]
    return users[0]["systemuserid"]


async def test_incident_writes_need_customer_service(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", customer_service=False) as dv:
        account = record_id(await dv.post("accounts", json={"name": "A"}))
        response = await dv.post(
            "incidents", json={"title": "x", "customerid_account@odata.bind": f"/accounts({account})"}
        )
        reads = await dv.get("incidents")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert "prvCreateIncident" in response.json()["error"]["message"]
    assert reads.status_code == 200


async def test_professional_tier_refuses_incidents_by_default(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", tier="professional") as dv:
        account = record_id(await dv.post("accounts", json={"name": "A"}))
        response = await dv.post(
            "incidents", json={"title": "x", "customerid_account@odata.bind": f"/accounts({account})"}
        )
    assert response.status_code == 403


async def test_incident_with_customer_is_created_on_enterprise(dv):
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    response = await dv.post("incidents", json={"title": "x", "customerid_account@odata.bind": f"/accounts({account})"})
    assert response.status_code == 204


async def test_activity_owned_by_disabled_user_is_silently_dropped(dv):
    owner = await disabled_user(dv)
    response = await dv.post("tasks", json={"subject": "lost", "ownerid@odata.bind": f"/systemusers({owner})"})
    assert response.status_code == 204 and response.headers["OData-EntityId"]
    assert (await dv.get(f"tasks({record_id(response)})")).status_code == 404
    failures = (await dv.get("sandbox/silentfailures")).json()["value"]
    assert failures[0]["entity"] == "task" and failures[0]["recordid"] == record_id(response)


async def test_non_activity_owned_by_disabled_user_is_stored(dv):
    owner = await disabled_user(dv)
    response = await dv.post("accounts", json={"name": "kept", "ownerid@odata.bind": f"/systemusers({owner})"})
    assert (await dv.get(f"accounts({record_id(response)})")).json()["_ownerid_value"] == owner


async def test_owner_can_be_a_team_but_not_an_account(dv):
    team = record_id(await dv.post("teams", json={"name": "Litigation"}))
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    ok = await dv.post("tasks", json={"subject": "t", "ownerid@odata.bind": f"/teams({team})"})
    bad = await dv.post("tasks", json={"subject": "t", "ownerid@odata.bind": f"/accounts({account})"})
    assert ok.status_code == 204 and bad.status_code == 400


async def test_note_body_over_upload_limit_is_0x80044a02(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", max_upload_bytes=100) as dv:
        small = base64.b64encode(b"x" * 60).decode()
        large = base64.b64encode(b"x" * 90).decode()  # 120 base64 characters: counted on the base64 text
        ok = await dv.post("annotations", json={"subject": "s", "documentbody": small, "filename": "a.txt"})
        too_big = await dv.post("annotations", json={"subject": "s", "documentbody": large, "filename": "b.txt"})
    assert ok.status_code == 204
    assert too_big.status_code == 400
    assert too_big.json()["error"] == {"code": "0x80044a02", "message": "Attachment file size is too big."}


async def test_note_regarding_record_uses_objectid_navigation(dv):
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    body = {"subject": "n", "notetext": "hello", "objectid_account@odata.bind": f"/accounts({account})"}
    note = await dv.post("annotations", json=body, headers={"Prefer": "return=representation"})
    assert note.json()["_objectid_value"] == account and note.json()["objecttypecode"] == "account"


async def test_document_location_needs_relative_xor_absolute_url(dv):
    sites = (await dv.get("sharepointsites")).json()["value"]
    parent = f"/sharepointsites({sites[0]['sharepointsiteid']})"
    both = await dv.post(
        "sharepointdocumentlocations",
        json={
            "name": "x",
            "relativeurl": "a",
            "absoluteurl": "https://x",
            "parentsiteorlocation_sharepointsite@odata.bind": parent,
        },
    )
    assert both.status_code == 400 and both.json()["error"]["code"] == "0x80040203"
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    ok = await dv.post(
        "sharepointdocumentlocations",
        json={
            "name": "A docs",
            "relativeurl": "account/A",
            "parentsiteorlocation_sharepointsite@odata.bind": parent,
            "regardingobjectid_account@odata.bind": f"/accounts({account})",
        },
    )
    assert ok.status_code == 204


async def test_sandbox_starts_with_default_site_and_users(dv):
    sites = (await dv.get("sharepointsites")).json()["value"]
    users = (await dv.get("systemusers", params={"$select": "internalemailaddress,isdisabled"})).json()["value"]
    assert len(sites) == 1 and sites[0]["isdefault"] is True
    assert len(users) >= 3


async def test_appointment_attendees_are_activity_parties(dv):
    contact = record_id(await dv.post("contacts", json={"lastname": "Ng"}))
    body = {
        "subject": "Meeting",
        "appointment_activity_parties": [
            {"partyid_contact@odata.bind": f"/contacts({contact})", "participationtypemask": 5},
            {"addressused": "guest@example.com", "participationtypemask": 6},
        ],
    }
    appointment = record_id(await dv.post("appointments", json=body))
    read = await dv.get(f"appointments({appointment})", params={"$expand": "appointment_activity_parties"})
    parties = read.json()["appointment_activity_parties"]
    assert [(p["_partyid_value"], p["participationtypemask"]) for p in parties] == [(contact, 5), (None, 6)]


async def test_participation_type_mask_outside_1_to_11_is_rejected(dv):
    body = {
        "subject": "Meeting",
        "appointment_activity_parties": [{"addressused": "a@b.c", "participationtypemask": 12}],
    }
    response = await dv.post("appointments", json=body)
    assert response.status_code == 400
    assert (await dv.get("appointments/$count")).text == "0"


async def new_case(dv) -> str:
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    return record_id(
        await dv.post("incidents", json={"title": "x", "customerid_account@odata.bind": f"/accounts({account})"})
    )


def close_incident(case: str, subject: str, status: int) -> dict:
    """The CloseIncident action's body: a resolution for `case` and the status to close it with."""
    resolution = {
        "@odata.type": "Microsoft.Dynamics.CRM.incidentresolution",
        "subject": subject,
        "incidentid@odata.bind": f"/incidents({case})",
    }
    return {"IncidentResolution": resolution, "Status": status}


async def test_close_incident_resolves_case_and_records_resolution(dv):
    case = await new_case(dv)
    body = close_incident(case, "Closed", 5)
    assert (await dv.post("CloseIncident", json=body)).status_code == 204
    read = (await dv.get(f"incidents({case})", params={"$select": "statecode,statuscode"})).json()
    assert (read["statecode"], read["statuscode"]) == (1, 5)
    assert (await dv.get("incidentresolutions/$count")).text == "1"
    again = await dv.post("CloseIncident", json=body)
    assert again.status_code == 400


async def test_close_incident_status_must_be_a_resolved_reason(dv):
    body = close_incident(await new_case(dv), "c", 6)
    assert (await dv.post("CloseIncident", json=body)).status_code == 400
    assert (await dv.get("incidentresolutions/$count")).text == "0"
