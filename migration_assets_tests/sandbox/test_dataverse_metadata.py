"""Dataverse emulator: metadata reads of standard tables and metadata writes (checklist 11)."""

from __future__ import annotations

from migration_assets.sandbox.dataverse.testing import record_id, sandbox_client


def label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def table_body(schema: str, primary: str = "cs_Name", **extra) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema,
        "DisplayName": label(schema),
        "DisplayCollectionName": label(schema + "s"),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": primary,
                "IsPrimaryName": True,
                "MaxLength": 100,
                "RequiredLevel": {"Value": "None"},
                "DisplayName": label("Name"),
            }
        ],
        **extra,
    }


def column_body(kind: str, schema: str, **extra) -> dict:
    return {
        "@odata.type": f"Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
        "SchemaName": schema,
        "DisplayName": label(schema),
        **extra,
    }


async def make_case_table(dv) -> None:
    assert (await dv.post("EntityDefinitions", json=table_body("cs_Case"))).status_code == 204


async def test_entity_definitions_list_with_select_and_filter(dv):
    response = await dv.get(
        "EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity,IsActivity",
            "$filter": "LogicalName eq 'task'",
        },
    )
    [task] = response.json()["value"]
    assert task["EntitySetName"] == "tasks" and task["PrimaryIdAttribute"] == "activityid"
    assert task["IsActivity"] is True and task["IsCustomEntity"] is False


async def test_standard_table_definition_expands_attributes_keys_and_relationships(dv):
    response = await dv.get(
        "EntityDefinitions(LogicalName='contact')",
        params={
            "$select": "LogicalName,EntitySetName",
            "$expand": "Attributes($select=LogicalName,AttributeType,RequiredLevel,IsCustomAttribute,MaxLength,"
            "Targets,IsValidForCreate,IsValidForUpdate),Keys($select=SchemaName,LogicalName,KeyAttributes,"
            "EntityKeyIndexStatus),ManyToOneRelationships($select=SchemaName,ReferencedEntity,ReferencingAttribute,"
            "ReferencingEntityNavigationPropertyName)",
        },
    )
    body = response.json()
    attributes = {a["LogicalName"]: a for a in body["Attributes"]}
    assert attributes["lastname"]["MaxLength"] == 50 and attributes["lastname"]["AttributeType"] == "String"
    assert attributes["parentcustomerid"]["AttributeType"] == "Customer"
    assert attributes["parentcustomerid"]["Targets"] == ["account", "contact"]
    assert attributes["createdon"]["IsValidForCreate"] is False
    navs = {r["ReferencingEntityNavigationPropertyName"] for r in body["ManyToOneRelationships"]}
    assert {"parentcustomerid_account", "parentcustomerid_contact", "ownerid"} <= navs
    assert body["Keys"] == []


async def test_incident_customerid_is_system_required(dv):
    response = await dv.get("EntityDefinitions(LogicalName='incident')/Attributes(LogicalName='customerid')")
    assert response.json()["RequiredLevel"]["Value"] == "SystemRequired"


async def options_of(dv, table: str, column: str, metadata: str) -> dict[int, dict]:
    """The options of `table`.`column` read through its `metadata` cast, by value (in their order)."""
    response = await dv.get(
        f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName='{column}')/Microsoft.Dynamics.CRM.{metadata}",
        params={"$expand": "OptionSet"},
    )
    return {o["Value"]: o for o in response.json()["OptionSet"]["Options"]}


async def test_status_option_set_carries_state(dv):
    options = await options_of(dv, "incident", "statuscode", "StatusAttributeMetadata")
    assert options[5]["State"] == 1 and options[5]["Label"]["UserLocalizedLabel"]["Label"] == "Problem Solved"


async def test_picklist_option_set_read(dv):
    options = await options_of(dv, "incident", "caseorigincode", "PicklistAttributeMetadata")
    assert list(options) == [1, 2, 3, 2483, 3986]


async def test_state_option_set_has_default_status(dv):
    options = await options_of(dv, "task", "statecode", "StateAttributeMetadata")
    assert options[1]["DefaultStatus"] == 5


async def test_unknown_table_definition_is_404(dv):
    assert (await dv.get("EntityDefinitions(LogicalName='cs_nothing')")).status_code == 404


async def test_create_custom_table_then_write_records(dv):
    response = await dv.post("EntityDefinitions", json=table_body("cs_Matter"))
    assert response.status_code == 204 and "EntityDefinitions(" in response.headers["OData-EntityId"]
    definition = (await dv.get("EntityDefinitions(LogicalName='cs_matter')")).json()
    assert definition["EntitySetName"] == "cs_matters" and definition["PrimaryIdAttribute"] == "cs_matterid"
    assert definition["PrimaryNameAttribute"] == "cs_name" and definition["IsCustomEntity"] is True
    assert (await dv.post("cs_matters", json={"cs_name": "M-1"})).status_code == 204


async def test_custom_table_needs_publisher_prefix(dv):
    response = await dv.post("EntityDefinitions", json=table_body("new_Matter"))
    assert response.status_code == 400 and "cs_" in response.json()["error"]["message"]


async def test_duplicate_table_is_rejected(dv):
    await make_case_table(dv)
    assert (await dv.post("EntityDefinitions", json=table_body("cs_Case"))).status_code == 400


async def test_custom_activity_table_is_listed_as_activity(dv):
    body = table_body("cs_ClientMessage", primary="Subject", IsActivity=True)
    assert (await dv.post("EntityDefinitions", json=body)).status_code == 204
    definition = (await dv.get("EntityDefinitions(LogicalName='cs_clientmessage')")).json()
    assert definition["IsActivity"] is True and definition["PrimaryIdAttribute"] == "activityid"
    contact = record_id(await dv.post("contacts", json={"lastname": "Ng"}))
    bind = {"subject": "Hi", "regardingobjectid_contact_cs_clientmessage@odata.bind": f"/contacts({contact})"}
    assert (await dv.post("cs_clientmessages", json=bind)).status_code == 204
    assert int((await dv.get("activitypointers/$count")).text) == 1


async def test_create_string_column_enforces_maxlength(dv):
    await make_case_table(dv)
    column = column_body("String", "cs_ExternalId", MaxLength=10)
    assert (await dv.post("EntityDefinitions(LogicalName='cs_case')/Attributes", json=column)).status_code == 204
    assert (await dv.post("cs_cases", json={"cs_externalid": "x" * 11})).status_code == 400
    assert (await dv.post("cs_cases", json={"cs_externalid": "x" * 10})).status_code == 204


async def test_duplicate_column_is_rejected(dv):
    column = column_body("String", "cs_Tier", MaxLength=10)
    assert (await dv.post("EntityDefinitions(LogicalName='account')/Attributes", json=column)).status_code == 204
    assert (await dv.post("EntityDefinitions(LogicalName='account')/Attributes", json=column)).status_code == 400


async def test_picklist_column_values_follow_publisher_prefix(dv):
    option_set = {
        "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
        "IsGlobal": False,
        "OptionSetType": "Picklist",
        "Options": [{"Label": label("Family")}, {"Label": label("Criminal")}],
    }
    column = column_body("Picklist", "cs_PracticeArea", OptionSet=option_set)
    assert (await dv.post("EntityDefinitions(LogicalName='contact')/Attributes", json=column)).status_code == 204
    options = await options_of(dv, "contact", "cs_practicearea", "PicklistAttributeMetadata")
    assert list(options) == [100000000, 100000001]
    assert (await dv.post("contacts", json={"lastname": "x", "cs_practicearea": 100000001})).status_code == 204
    assert (await dv.post("contacts", json={"lastname": "x", "cs_practicearea": 3})).status_code == 400


async def test_insert_option_value_returns_next_value(dv):
    option_set = {"Options": [{"Value": 100000000, "Label": label("A")}]}
    column = column_body("Picklist", "cs_Source", OptionSet=option_set)
    await dv.post("EntityDefinitions(LogicalName='lead')/Attributes", json=column)
    body = {"EntityLogicalName": "lead", "AttributeLogicalName": "cs_source", "Label": label("Referral")}
    response = await dv.post("InsertOptionValue", json=body)
    assert response.json()["NewOptionValue"] == 100000001


async def test_insert_status_value_belongs_to_its_state(dv):
    await make_case_table(dv)
    body = {
        "EntityLogicalName": "cs_case",
        "AttributeLogicalName": "statuscode",
        "Label": label("Intake"),
        "StateCode": 0,
    }
    value = (await dv.post("InsertStatusValue", json=body)).json()["NewOptionValue"]
    assert value == 100000000
    assert (await dv.post("cs_cases", json={"cs_name": "c", "statuscode": value})).status_code == 204
    bad_state = {**body, "StateCode": 7}
    assert (await dv.post("InsertStatusValue", json=bad_state)).status_code == 400


async def test_lookup_relationship_creates_column_and_case_sensitive_navigation(dv):
    await make_case_table(dv)
    assert (await dv.post("EntityDefinitions", json=table_body("cs_Matter"))).status_code == 204
    relationship = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "cs_case_cs_matter",
        "ReferencedEntity": "cs_case",
        "ReferencedAttribute": "cs_caseid",
        "ReferencingEntity": "cs_matter",
        "Lookup": {
            "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
            "SchemaName": "cs_Case",
            "DisplayName": label("Case"),
        },
    }
    assert (await dv.post("RelationshipDefinitions", json=relationship)).status_code == 204
    case = record_id(await dv.post("cs_cases", json={"cs_name": "C"}))
    ok = await dv.post(
        "cs_matters",
        json={"cs_name": "M", "cs_Case@odata.bind": f"/cs_cases({case})"},
        headers={"Prefer": "return=representation"},
    )
    assert ok.status_code == 201 and ok.json()["_cs_case_value"] == case
    wrong_case = await dv.post("cs_matters", json={"cs_name": "M", "cs_case@odata.bind": f"/cs_cases({case})"})
    assert wrong_case.status_code == 400 and wrong_case.json()["error"]["code"] == "0x80048d19"


async def test_lookup_cannot_be_created_as_plain_attribute(dv):
    column = column_body("Lookup", "cs_Thing")
    assert (await dv.post("EntityDefinitions(LogicalName='account')/Attributes", json=column)).status_code == 400


async def test_custom_table_limit_on_professional_tier(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", tier="professional", custom_table_limit=2) as dv:
        for name in ("cs_One", "cs_Two"):
            assert (await dv.post("EntityDefinitions", json=table_body(name))).status_code == 204
        response = await dv.post("EntityDefinitions", json=table_body("cs_Three"))
        environment = (await dv.get("sandbox/environment")).json()
    assert response.status_code == 400 and response.json()["error"]["code"] == "0x80048547"
    assert environment["custom_table_count"] == 2 and environment["tier"] == "professional"


async def test_professional_tier_defaults_to_fifteen_tables_and_no_customer_service(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", tier="professional") as dv:
        environment = (await dv.get("sandbox/environment")).json()
    assert environment["custom_table_limit"] == 15 and environment["customer_service"] is False


async def test_solution_header_records_components(dv):
    publishers = (await dv.get("publishers", params={"$filter": "customizationprefix eq 'cs'"})).json()["value"]
    solution = {
        "uniquename": "migration",
        "friendlyname": "Migration",
        "version": "1.0.0.0",
        "publisherid@odata.bind": f"/publishers({publishers[0]['publisherid']})",
    }
    assert (await dv.post("solutions", json=solution)).status_code == 204
    found = (await dv.get("solutions", params={"$filter": "uniquename eq 'migration'"})).json()["value"]
    assert len(found) == 1
    response = await dv.post(
        "EntityDefinitions", json=table_body("cs_Case"), headers={"MSCRM.SolutionUniqueName": "migration"}
    )
    assert response.status_code == 204
    unknown = await dv.post(
        "EntityDefinitions", json=table_body("cs_Other"), headers={"MSCRM.SolutionUniqueName": "nope"}
    )
    assert unknown.status_code == 404


async def test_publish_xml_is_accepted(dv):
    body = {"ParameterXml": "<importexportxml><entities><entity>account</entity></entities></importexportxml>"}
    assert (await dv.post("PublishXml", json=body)).status_code == 204
