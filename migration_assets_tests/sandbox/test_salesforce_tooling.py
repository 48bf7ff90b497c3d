"""Salesforce emulator: Tooling-shaped custom objects, custom fields, picklist values, StandardValueSet."""

from __future__ import annotations

from urllib.parse import quote

from migration_assets.sandbox.salesforce.testing import data_url
from migration_assets_tests.sandbox.salesforce_calls import run_ingest_job

TIME_ENTRY = {
    "FullName": "Time_Entry__c",
    "Metadata": {
        "label": "Time Entry",
        "pluralLabel": "Time Entries",
        "nameField": {"type": "Text", "label": "Name"},
        "deploymentStatus": "Deployed",
        "sharingModel": "ReadWrite",
    },
}
CASE_EXT = {
    "FullName": "Case.Case_External_ID__c",
    "Metadata": {"label": "Case External ID", "type": "Text", "length": 64, "externalId": True, "unique": True},
}
CASE_LOOKUP = {
    "FullName": "Time_Entry__c.Case__c",
    "Metadata": {"label": "Case", "type": "Lookup", "referenceTo": "Case", "relationshipName": "Case__r"},
}
HOURS = {
    "FullName": "Time_Entry__c.Hours__c",
    "Metadata": {"label": "Hours", "type": "Number", "precision": 6, "scale": 2},
}


def practice_area(*values: str) -> dict:
    return {
        "FullName": "Case.Practice_Area__c",
        "Metadata": {
            "label": "Practice Area",
            "type": "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"value": [{"fullName": v, "label": v, "default": False} for v in values]},
            },
        },
    }


async def tooling(sf, kind: str, body: dict) -> dict:
    response = await sf.post(data_url(f"tooling/sobjects/{kind}"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_custom_object_is_describable_and_writable_at_once(sf):
    created = await tooling(sf, "CustomObject", TIME_ENTRY)
    describe = (await sf.get(data_url("sobjects/Time_Entry__c/describe"))).json()
    record = await sf.post(data_url("sobjects/Time_Entry__c"), json={"Name": "TE-1"})
    assert created["id"].startswith("01I") and created["success"] is True
    assert {"Id", "Name", "OwnerId", "CreatedDate"} <= {f["name"] for f in describe["fields"]}
    assert describe["custom"] is True
    assert record.status_code == 201 and record.json()["id"].startswith("a0")


async def test_custom_lookup_is_usable_in_soql_and_bulk_relationship_headers(sf):
    await tooling(sf, "CustomObject", TIME_ENTRY)
    await tooling(sf, "CustomField", CASE_EXT)
    await tooling(sf, "CustomField", CASE_LOOKUP)
    await tooling(sf, "CustomField", HOURS)
    await sf.post(data_url("sobjects/Case"), json={"Subject": "Smith v. Jones", "Case_External_ID__c": "C-1"})
    job = {"object": "Time_Entry__c", "operation": "insert"}
    csv = b"Name,Hours__c,Case__r.Case_External_ID__c\nTE-1,1.5,C-1\n"
    info = (await run_ingest_job(sf, job, csv)).json()
    rows = await sf.get(data_url("query?q=" + quote("SELECT Name, Hours__c, Case__r.Subject FROM Time_Entry__c")))
    [row] = rows.json()["records"]
    assert info["numberRecordsFailed"] == 0
    assert (row["Hours__c"], row["Case__r"]["Subject"]) == (1.5, "Smith v. Jones")


async def test_duplicate_field_is_duplicate_developer_name(sf):
    await tooling(sf, "CustomField", CASE_EXT)
    response = await sf.post(data_url("tooling/sobjects/CustomField"), json=CASE_EXT)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


async def test_field_on_unknown_object_is_refused(sf):
    response = await sf.post(data_url("tooling/sobjects/CustomField"), json=HOURS)
    assert response.status_code == 400


async def test_text_field_without_length_is_refused(sf):
    body = {"FullName": "Case.Paralegal__c", "Metadata": {"label": "Paralegal", "type": "Text"}}
    response = await sf.post(data_url("tooling/sobjects/CustomField"), json=body)
    assert response.status_code == 400


async def test_field_name_without_custom_suffix_is_refused(sf):
    body = {"FullName": "Case.Paralegal", "Metadata": {"label": "Paralegal", "type": "Text", "length": 80}}
    response = await sf.post(data_url("tooling/sobjects/CustomField"), json=body)
    assert response.status_code == 400


async def test_picklist_values_added_by_patch_become_writable(sf):
    created = await tooling(sf, "CustomField", practice_area("Family"))
    refused = await sf.post(data_url("sobjects/Case"), json={"Practice_Area__c": "Criminal"})
    patched = await sf.patch(
        data_url(f"tooling/sobjects/CustomField/{created['id']}"), json=practice_area("Family", "Criminal")
    )
    accepted = await sf.post(data_url("sobjects/Case"), json={"Practice_Area__c": "Criminal"})
    assert refused.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert patched.status_code == 204
    assert accepted.status_code == 201


async def test_standard_value_set_replaces_case_statuses_with_closed_flags(sf):
    values = [
        {"fullName": v, "label": v, "default": v == "Active", "closed": v.startswith("Closed")}
        for v in ["Active", "Pending", "On Hold", "Closed Won", "Closed Lost"]
    ]
    response = await sf.patch(
        data_url("tooling/sobjects/StandardValueSet/CaseStatus"), json={"Metadata": {"standardValue": values}}
    )
    new = await sf.post(data_url("sobjects/Case"), json={"Subject": "x"})
    won = await sf.post(data_url("sobjects/Case"), json={"Status": "Closed Won"})
    old = await sf.post(data_url("sobjects/Case"), json={"Status": "Working"})
    closed = (await sf.get(data_url(f"sobjects/Case/{won.json()['id']}?fields=IsClosed,Status"))).json()
    default = (await sf.get(data_url(f"sobjects/Case/{new.json()['id']}?fields=Status"))).json()
    assert response.status_code == 204
    assert closed["IsClosed"] is True
    assert default["Status"] == "Active"
    assert old.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


async def test_unknown_standard_value_set_is_404(sf):
    response = await sf.patch(
        data_url("tooling/sobjects/StandardValueSet/Nope"), json={"Metadata": {"standardValue": [{"fullName": "x"}]}}
    )
    assert response.status_code == 404
