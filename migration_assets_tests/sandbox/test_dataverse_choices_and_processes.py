"""Dataverse emulator: multi-select choices, business process flow references, party-list
columns, and the publisher prefix of the solution."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.dataverse.testing import record_id


def label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def multi_select(schema: str, *values: int) -> dict:
    options = [{"Value": v, "Label": label(f"O{v}")} for v in values]
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata",
        "SchemaName": schema,
        "DisplayName": label(schema),
        "OptionSet": {"@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata", "IsGlobal": False, "Options": options},
    }


async def matter_types(dv) -> None:
    column = multi_select("cs_MatterTypes", 100000000, 100000001, 100000002)
    assert (await dv.post("EntityDefinitions(LogicalName='contact')/Attributes", json=column)).status_code == 204


# -- multi-select choices -----------------------------------------------------------------------
async def test_multi_select_column_is_described_with_its_options(dv):
    await matter_types(dv)
    cast = "Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata"
    read = await dv.get(
        f"EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='cs_mattertypes')/{cast}",
        params={"$expand": "OptionSet"},
    )
    assert read.json()["AttributeType"] == "MultiSelectPicklist"
    assert [o["Value"] for o in read.json()["OptionSet"]["Options"]] == [100000000, 100000001, 100000002]


async def test_multi_select_values_are_a_comma_separated_string(dv):
    await matter_types(dv)
    contact = record_id(await dv.post("contacts", json={"lastname": "Ng", "cs_mattertypes": "100000000,100000002"}))
    read = await dv.get(f"contacts({contact})", params={"$select": "cs_mattertypes"})
    assert read.json()["cs_mattertypes"] == "100000000,100000002"


async def test_multi_select_value_outside_its_options_is_rejected(dv):
    await matter_types(dv)
    response = await dv.post("contacts", json={"lastname": "Ng", "cs_mattertypes": "100000000,7"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x8004431a"


async def test_multi_select_given_as_a_json_array_is_a_conversion_error(dv):
    await matter_types(dv)
    response = await dv.post("contacts", json={"lastname": "Ng", "cs_mattertypes": [100000000]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80048d19"


async def test_insert_option_value_extends_a_multi_select_column(dv):
    await matter_types(dv)
    body = {"EntityLogicalName": "contact", "AttributeLogicalName": "cs_mattertypes", "Label": label("Probate")}
    answer = await dv.post("InsertOptionValue", json=body)
    assert answer.json()["NewOptionValue"] == 100000003


# -- business process flows ---------------------------------------------------------------------
async def flow(dv, table: str = "opportunity") -> tuple[str, str]:
    body = {"name": "Sales", "primaryentity": table, "category": 4, "type": 1, "businessprocesstype": 0}
    process = record_id(await dv.post("workflows", json=body))
    stage = {"stagename": "Qualify", "stagecategory": 0, "processid@odata.bind": f"/workflows({process})"}
    return process, record_id(await dv.post("processstages", json=stage))


async def test_opportunity_on_a_process_and_one_of_its_stages_is_stored(dv):
    process, stage = await flow(dv)
    created = await dv.post("opportunities", json={"name": "Deal", "processid": process, "stageid": stage})
    read = await dv.get(f"opportunities({record_id(created)})", params={"$select": "processid,stageid"})
    assert (read.json()["processid"], read.json()["stageid"]) == (process, stage)


async def test_stage_of_another_process_is_rejected(dv):
    process, _ = await flow(dv)
    _, other_stage = await flow(dv)
    response = await dv.post("opportunities", json={"name": "Deal", "processid": process, "stageid": other_stage})
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80040203"


async def test_process_of_another_table_or_missing_process_is_rejected(dv):
    lead_process, _ = await flow(dv, "lead")
    wrong = await dv.post("opportunities", json={"name": "Deal", "processid": lead_process})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "0x80040203"
    gone = await dv.post("opportunities", json={"name": "Deal", "processid": "00000000-0000-0000-0000-0000000000aa"})
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "0x80040217"


# -- party lists ----------------------------------------------------------------------------------
async def test_party_list_columns_are_metadata_but_not_record_properties(dv):
    attribute = (
        await dv.get("EntityDefinitions(LogicalName='appointment')/Attributes(LogicalName='requiredattendees')")
    ).json()
    assert attribute["AttributeType"] == "PartyList"
    written = await dv.post("appointments", json={"subject": "x", "requiredattendees": ["a@b.c"]})
    assert written.status_code == 400 and "Invalid property 'requiredattendees'" in written.json()["error"]["message"]
    selected = await dv.get("appointments", params={"$select": "requiredattendees"})
    assert selected.status_code == 400


async def test_phonecall_parties_go_through_its_activity_party_collection(dv):
    contact = record_id(await dv.post("contacts", json={"lastname": "Ng"}))
    body = {
        "subject": "Call",
        "phonecall_activity_parties": [
            {"partyid_contact@odata.bind": f"/contacts({contact})", "participationtypemask": 2}
        ],
    }
    call = record_id(await dv.post("phonecalls", json=body))
    read = await dv.get(f"phonecalls({call})", params={"$expand": "phonecall_activity_parties"})
    assert [p["_partyid_value"] for p in read.json()["phonecall_activity_parties"]] == [contact]


# -- publisher prefix ------------------------------------------------------------------------------
async def own_solution(dv, prefix: str, option_prefix: int) -> None:
    publisher = {
        "uniquename": f"{prefix}pub",
        "friendlyname": prefix,
        "customizationprefix": prefix,
        "customizationoptionvalueprefix": option_prefix,
    }
    publisher_id = record_id(await dv.post("publishers", json=publisher))
    solution = {
        "uniquename": f"{prefix}_sol",
        "friendlyname": prefix,
        "publisherid@odata.bind": f"/publishers({publisher_id})",
    }
    assert (await dv.post("solutions", json=solution)).status_code == 204


async def test_schema_name_must_carry_the_prefix_of_the_solution_publisher(dv):
    await own_solution(dv, "bd", 20000)
    headers = {"MSCRM.SolutionUniqueName": "bd_sol"}
    column = {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "cs_Note",
        "DisplayName": label("n"),
    }
    wrong = await dv.post("EntityDefinitions(LogicalName='contact')/Attributes", json=column, headers=headers)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "0x80044355" and "'bd_'" in wrong.text
    right = {**column, "SchemaName": "bd_Note"}
    assert (
        await dv.post("EntityDefinitions(LogicalName='contact')/Attributes", json=right, headers=headers)
    ).status_code == 204


async def test_option_values_follow_the_solution_publishers_option_value_prefix(dv):
    await own_solution(dv, "bd", 20000)
    column = multi_select("bd_Kinds")
    column["OptionSet"]["Options"] = [{"Label": label("A")}, {"Label": label("B")}]
    headers = {"MSCRM.SolutionUniqueName": "bd_sol"}
    assert (
        await dv.post("EntityDefinitions(LogicalName='contact')/Attributes", json=column, headers=headers)
    ).status_code == 204
    cast = "Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata"
    read = await dv.get(
        f"EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='bd_kinds')/{cast}",
        params={"$expand": "OptionSet"},
    )
    assert [o["Value"] for o in read.json()["OptionSet"]["Options"]] == [200000000, 200000001]


@pytest.mark.parametrize(
    ("unique_name", "prefix", "status", "code"),
    [
        pytest.param("x", "1bad", 400, "0x80040203", id="prefix-must-be-two-to-eight-letters-or-digits"),
        pytest.param("Contososandbox", "zz", 412, "0x80040237", id="unique-name-is-unique"),
    ],
)
async def test_publisher_is_refused(dv, unique_name, prefix, status, code):
    body = {
        "uniquename": unique_name,
        "friendlyname": "x",
        "customizationprefix": prefix,
        "customizationoptionvalueprefix": 30000,
    }
    response = await dv.post("publishers", json=body)
    assert response.status_code == status and response.json()["error"]["code"] == code
