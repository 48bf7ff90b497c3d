"""Dataverse emulator: record create/read/update/delete and body validation (checklist 2-9)."""

from __future__ import annotations

from migration_assets.sandbox.dataverse.testing import record_id

REPRESENT = {"Prefer": "return=representation"}


async def create(dv, entity_set: str, body: dict) -> str:
    response = await dv.post(entity_set, json=body)
    assert response.status_code == 204, response.text
    return record_id(response)


async def count(dv, entity_set: str) -> int:
    return int((await dv.get(f"{entity_set}/$count")).text)


def error(response) -> dict:
    return response.json()["error"]


async def test_create_answers_204_with_odata_entityid(dv):
    response = await dv.post("accounts", json={"name": "Acme"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].startswith("http://dataverse.sandbox/api/data/v9.2/accounts(")


async def test_create_with_representation_answers_201_and_record(dv):
    response = await dv.post("accounts", json={"name": "Acme"}, headers=REPRESENT)
    assert response.status_code == 201
    assert response.json()["name"] == "Acme" and response.json()["@odata.etag"].startswith('W/"')


async def test_entity_set_names_are_case_sensitive(dv):
    response = await dv.get("Accounts")
    assert response.status_code == 404
    assert error(response) == {"code": "0x8006088a", "message": "Resource not found for the segment 'Accounts'."}


async def test_unknown_body_column_is_rejected_with_0x0_error(dv):
    response = await dv.post("accounts", json={"Name": "Acme"})
    assert response.status_code == 400
    assert error(response)["code"] == "0x0"
    assert "Invalid property 'Name' was found in entity 'Microsoft.Dynamics.CRM.account'." in error(response)["message"]


async def test_unknown_select_column_is_rejected(dv):
    response = await dv.get("accounts", params={"$select": "Name"})
    assert response.status_code == 400
    assert error(response) == {
        "code": "0x0",
        "message": "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.",
    }


async def test_lookup_logical_name_is_not_a_body_property(dv):
    account = await create(dv, "accounts", {"name": "Acme"})
    response = await dv.post("contacts", json={"lastname": "Ng", "parentcustomerid": account})
    assert response.status_code == 400


async def test_undeclared_navigation_property_is_0x80048d19(dv):
    account = await create(dv, "accounts", {"name": "Acme"})
    response = await dv.post(
        "contacts", json={"lastname": "Ng", "parentcustomerid@odata.bind": f"/accounts({account})"}
    )
    assert response.status_code == 400
    assert error(response)["code"] == "0x80048d19"
    assert "An undeclared property 'parentcustomerid'" in error(response)["message"]


async def test_miscased_navigation_property_is_rejected(dv):
    account = await create(dv, "accounts", {"name": "Acme"})
    response = await dv.post(
        "contacts", json={"lastname": "Ng", "ParentCustomerId_account@odata.bind": f"/accounts({account})"}
    )
    assert response.status_code == 400 and error(response)["code"] == "0x80048d19"


async def test_bind_to_missing_record_fails_and_writes_nothing(dv):
    missing = "00000000-0000-0000-0000-000000000001"
    response = await dv.post(
        "contacts", json={"lastname": "Ng", "parentcustomerid_account@odata.bind": f"/accounts({missing})"}
    )
    assert response.status_code == 404
    assert error(response) == {"code": "0x80040217", "message": f"account With Id = {missing} Does Not Exist"}
    assert await count(dv, "contacts") == 0


async def test_bind_to_wrong_target_table_is_rejected(dv):
    contact = await create(dv, "contacts", {"lastname": "Ng"})
    response = await dv.post("accounts", json={"name": "A", "parentaccountid@odata.bind": f"/contacts({contact})"})
    assert response.status_code == 400


async def test_string_for_int32_is_a_conversion_error(dv):
    response = await dv.post("accounts", json={"name": "A", "numberofemployees": "12"})
    assert response.status_code == 400
    assert error(response)["code"] == "0x80048d19"
    assert "Cannot convert the literal '12' to the expected type 'Edm.Int32'" in error(response)["message"]


async def test_int32_overflow_is_rejected(dv):
    response = await dv.post("tasks", json={"subject": "t", "actualdurationminutes": 2**31})
    assert response.status_code == 400 and error(response)["code"] == "0x80048d19"


async def test_non_iso_date_is_rejected(dv):
    response = await dv.post("tasks", json={"subject": "t", "scheduledend": "05/01/2024"})
    assert response.status_code == 400 and error(response)["code"] == "0x80048d19"


async def test_date_before_1753_is_rejected(dv):
    response = await dv.post("tasks", json={"subject": "t", "scheduledend": "1700-01-01T00:00:00Z"})
    assert response.status_code == 400


async def test_date_only_column_wants_a_plain_date(dv):
    ok = await dv.post("contacts", json={"lastname": "Ng", "birthdate": "1980-02-03"})
    bad = await dv.post("contacts", json={"lastname": "Ng", "birthdate": "1980-02-03T00:00:00Z"})
    assert ok.status_code == 204 and bad.status_code == 400


async def test_text_longer_than_maxlength_is_0x80044331(dv):
    response = await dv.post("tasks", json={"subject": "x" * 201})
    assert response.status_code == 400
    assert error(response) == {
        "code": "0x80044331",
        "message": "A validation error occurred.  The length of the 'subject' attribute of the 'task' entity "
        "exceeded the maximum allowed length of '200'.",
    }


async def test_choice_value_outside_option_set_is_rejected(dv):
    account = await create(dv, "accounts", {"name": "A"})
    response = await dv.post(
        "incidents", json={"title": "x", "prioritycode": 9, "customerid_account@odata.bind": f"/accounts({account})"}
    )
    assert response.status_code == 400 and "Accepted Values: 1,2,3" in error(response)["message"]


async def test_statuscode_of_another_state_is_rejected_on_create(dv):
    response = await dv.post("tasks", json={"subject": "t", "statuscode": 5})
    assert response.status_code == 400
    assert "5 is not a valid status code" in error(response)["message"]


async def test_statuscode_must_belong_to_statecode_on_update(dv):
    task = await create(dv, "tasks", {"subject": "t"})
    bad = await dv.patch(f"tasks({task})", json={"statecode": 1, "statuscode": 6})
    good = await dv.patch(f"tasks({task})", json={"statecode": 1, "statuscode": 5})
    assert bad.status_code == 400 and good.status_code == 204


async def test_statecode_is_ignored_on_create(dv):
    response = await dv.post("tasks", json={"subject": "t", "statecode": 1}, headers=REPRESENT)
    assert response.status_code == 201
    assert response.json()["statecode"] == 0 and response.json()["statuscode"] == 2


async def test_missing_system_required_column_is_rejected(dv):
    response = await dv.post("incidents", json={"title": "no customer"})
    assert response.status_code == 400 and "customerid" in error(response)["message"]


async def test_application_required_column_is_not_enforced(dv):
    response = await dv.post("contacts", json={"firstname": "No last name"})
    assert response.status_code == 204


async def test_read_only_columns_are_silently_ignored(dv):
    response = await dv.post(
        "accounts", json={"name": "A", "createdon": "2001-01-01T00:00:00Z", "versionnumber": 1}, headers=REPRESENT
    )
    assert response.status_code == 201
    assert not response.json()["createdon"].startswith("2001")


async def test_overriddencreatedon_becomes_createdon_on_create_only(dv):
    response = await dv.post(
        "accounts", json={"name": "A", "overriddencreatedon": "2019-03-04T05:06:07Z"}, headers=REPRESENT
    )
    assert response.json()["createdon"] == "2019-03-04T05:06:07Z"
    account = response.json()["accountid"]
    update = await dv.patch(
        f"accounts({account})", json={"overriddencreatedon": "2020-01-01T00:00:00Z"}, headers=REPRESENT
    )
    assert update.json()["overriddencreatedon"] == "2019-03-04T05:06:07Z"


async def test_fullname_is_computed_from_first_and_last_name(dv):
    response = await dv.post(
        "contacts", json={"firstname": "Ada", "lastname": "Ng", "fullname": "ignored"}, headers=REPRESENT
    )
    assert response.json()["fullname"] == "Ada Ng"


async def test_get_missing_record_is_404(dv):
    response = await dv.get("accounts(00000000-0000-0000-0000-000000000009)")
    assert response.status_code == 404 and error(response)["code"] == "0x80040217"


async def test_lookup_reads_back_as_value_with_logical_name_annotation(dv):
    account = await create(dv, "accounts", {"name": "A"})
    contact = await create(
        dv, "contacts", {"lastname": "Ng", "parentcustomerid_account@odata.bind": f"/accounts({account})"}
    )
    response = await dv.get(
        f"contacts({contact})",
        params={"$select": "_parentcustomerid_value"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    )
    body = response.json()
    assert body["_parentcustomerid_value"] == account
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"


async def test_bind_can_be_cleared_with_null(dv):
    account = await create(dv, "accounts", {"name": "A"})
    other = await create(dv, "accounts", {"name": "B", "parentaccountid@odata.bind": f"/accounts({account})"})
    await dv.patch(f"accounts({other})", json={"parentaccountid@odata.bind": None})
    assert (await dv.get(f"accounts({other})")).json()["_parentaccountid_value"] is None


async def test_version_increments_on_update_and_stale_etag_is_412(dv):
    account = await create(dv, "accounts", {"name": "A"})
    first = (await dv.get(f"accounts({account})")).json()["@odata.etag"]
    await dv.patch(f"accounts({account})", json={"name": "B"})
    second = (await dv.get(f"accounts({account})")).json()["@odata.etag"]
    assert second != first
    stale = await dv.patch(f"accounts({account})", json={"name": "C"}, headers={"If-Match": first})
    assert stale.status_code == 412
    assert "doesn't match the RowVersion" in error(stale)["message"]
    fresh = await dv.patch(f"accounts({account})", json={"name": "C"}, headers={"If-Match": second})
    assert fresh.status_code == 204


async def test_patch_without_if_match_creates_missing_record(dv):
    new_id = "11111111-2222-3333-4444-555555555555"
    response = await dv.patch(f"accounts({new_id})", json={"name": "Upserted"}, headers=REPRESENT)
    assert response.status_code == 201 and response.json()["accountid"] == new_id
    again = await dv.patch(f"accounts({new_id})", json={"name": "Again"}, headers=REPRESENT)
    assert again.status_code == 200 and again.json()["name"] == "Again"


async def test_if_match_star_on_missing_record_is_404(dv):
    response = await dv.patch(
        "accounts(11111111-2222-3333-4444-555555555555)", json={"name": "x"}, headers={"If-Match": "*"}
    )
    assert response.status_code == 404
    assert await count(dv, "accounts") == 0


async def test_if_none_match_star_on_existing_record_is_412(dv):
    account = await create(dv, "accounts", {"name": "A"})
    response = await dv.patch(f"accounts({account})", json={"name": "x"}, headers={"If-None-Match": "*"})
    assert response.status_code == 412


async def test_delete_answers_204_then_404(dv):
    account = await create(dv, "accounts", {"name": "A"})
    assert (await dv.delete(f"accounts({account})")).status_code == 204
    assert (await dv.delete(f"accounts({account})")).status_code == 404


async def test_client_chosen_primary_id_is_kept(dv):
    chosen = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    response = await dv.post("accounts", json={"accountid": chosen, "name": "A"})
    assert record_id(response) == chosen
    duplicate = await dv.post("accounts", json={"accountid": chosen, "name": "A"})
    assert duplicate.status_code == 412
