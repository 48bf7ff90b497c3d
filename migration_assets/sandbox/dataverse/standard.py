"""The standard Dynamics 365 Sales tables a fresh environment starts with.

Real (reference sections 9-10, microsoft/CDM): logical names, entity sets, primary id/name,
column types and MaxLength, state/status values, lookup targets and navigation property names.
Only the columns a migration touches are present; any other column is "unknown" here.
Party-list columns (appointment.requiredattendees, email.to...) are listed in metadata with
AttributeType PartyList but are no record properties: parties are written and read through
`<activity>_activity_parties` (see parties.py), as in the real Web API.
Business process flows (simplified, see `workflow`/`processstage`): real environments create
the stages from the flow's definition when it is saved; here both are plain rows written through
the Web API, and `processid`/`stageid` of a record must point at an active-or-draft flow of
category 4 for that table and at a stage of that flow (processes.py).
"""

from __future__ import annotations

from migration_assets.sandbox.dataverse.model import Attribute, Entity
from migration_assets.sandbox.dataverse.tables import (
    ACTIVE_INACTIVE,
    add_activity_columns,
    add_lookup,
    add_state,
    add_system_columns,
    date,
    memo,
    new_entity,
    picklist,
    read_only,
    string,
)

REGARDING_TARGETS = ["account", "contact", "lead", "opportunity", "incident"]
ACTIVITY_TABLES = ("task", "appointment", "phonecall", "email")
FORECAST_CATEGORIES = {
    100000001: "Pipeline",
    100000002: "Best case",
    100000003: "Committed",
    100000004: "Omitted",
    100000005: "Won",
    100000006: "Lost",
}
STAGE_CATEGORIES = {
    0: "Qualify",
    1: "Develop",
    2: "Propose",
    3: "Close",
    4: "Identify",
    5: "Research",
    6: "Resolve",
    7: "Approval",
}


def _process(entity: Entity) -> None:
    """The business process flow columns of a table (real: Uniqueidentifier, not lookups)."""
    entity.add(Attribute("processid", "Uniqueidentifier"))
    entity.add(Attribute("stageid", "Uniqueidentifier"))
    entity.add(string("traversedpath", 1250))


def _parties(entity: Entity, *names: str) -> None:
    for name in names:
        entity.add(Attribute(name, "PartyList", targets=["systemuser", "contact", "account", "lead"]))


def _address(entity: Entity) -> None:
    for name, length in (
        ("line1", 250),
        ("line2", 250),
        ("city", 80),
        ("stateorprovince", 50),
        ("postalcode", 20),
        ("country", 80),
    ):
        entity.add(string(f"address1_{name}", length))


def _contact_info(entity: Entity) -> None:
    entity.add(string("emailaddress1", 100))
    entity.add(string("emailaddress2", 100))
    entity.add(string("telephone1", 50))
    entity.add(string("mobilephone", 50))
    entity.add(string("jobtitle", 100))
    entity.add(memo("description"))


def account() -> Entity:
    e = new_entity("account", "accounts", "accountid", "name", object_type_code=1)
    add_system_columns(e)
    e.add(string("name", 160, required_level="ApplicationRequired"))
    e.add(string("accountnumber", 20))
    e.add(string("emailaddress1", 100))
    e.add(string("telephone1", 50))
    e.add(string("websiteurl", 200))
    e.add(memo("description"))
    e.add(Attribute("revenue", "Money", min_value=-922337203685477, max_value=922337203685477))
    e.add(Attribute("numberofemployees", "Integer", min_value=0, max_value=1000000000))
    e.add(picklist("accountcategorycode", {1: "Preferred Customer", 2: "Standard"}))
    e.add(
        picklist(
            "customertypecode",
            {1: "Competitor", 2: "Consultant", 3: "Customer", 4: "Investor", 5: "Partner", 12: "Other"},
        )
    )
    _address(e)
    add_lookup(e, "parentaccountid", ["account"])
    add_lookup(e, "primarycontactid", ["contact"])
    add_state(e, ACTIVE_INACTIVE)
    return e


def contact() -> Entity:
    e = new_entity("contact", "contacts", "contactid", "fullname", object_type_code=2)
    add_system_columns(e)
    e.add(string("firstname", 50))
    e.add(string("middlename", 50))
    e.add(string("lastname", 50, required_level="ApplicationRequired"))
    e.add(string("suffix", 10))
    e.add(read_only(string("fullname", 160)))
    _contact_info(e)
    e.add(date("birthdate", only=True))
    e.add(picklist("preferredcontactmethodcode", {1: "Any", 2: "Email", 3: "Phone", 4: "Fax", 5: "Mail"}))
    _address(e)
    add_lookup(e, "parentcustomerid", ["account", "contact"], kind="Customer")
    add_state(e, ACTIVE_INACTIVE)
    return e


def lead() -> Entity:
    e = new_entity("lead", "leads", "leadid", "fullname", object_type_code=4)
    add_system_columns(e)
    e.add(string("subject", 300))
    e.add(string("firstname", 50))
    e.add(string("lastname", 50))
    e.add(read_only(string("fullname", 160)))
    e.add(string("companyname", 100))
    _contact_info(e)
    e.add(Attribute("estimatedamount", "Money"))
    e.add(
        picklist(
            "leadsourcecode",
            {
                1: "Advertisement",
                2: "Employee Referral",
                3: "External Referral",
                4: "Partner",
                5: "Public Relations",
                6: "Seminar",
                7: "Trade Show",
                8: "Web",
                9: "Word of Mouth",
                10: "Other",
            },
        )
    )
    _address(e)
    _process(e)
    add_lookup(e, "parentaccountid", ["account"])
    add_lookup(e, "parentcontactid", ["contact"])
    add_state(
        e,
        {
            0: ("Open", {1: "New", 2: "Contacted"}, 1),
            1: ("Qualified", {3: "Qualified"}, 3),
            2: ("Disqualified", {4: "Lost", 5: "Cannot Contact", 6: "No Longer Interested", 7: "Canceled"}, 4),
        },
    )
    return e


def opportunity() -> Entity:
    e = new_entity("opportunity", "opportunities", "opportunityid", "name", object_type_code=3)
    add_system_columns(e)
    e.add(string("name", 300, required_level="ApplicationRequired"))
    e.add(Attribute("estimatedvalue", "Money"))
    e.add(Attribute("actualvalue", "Money"))
    e.add(date("estimatedclosedate", only=True))
    e.add(date("actualclosedate", only=True))
    e.add(string("stepname", 200))
    e.add(picklist("salesstage", {0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}))
    e.add(Attribute("closeprobability", "Integer", min_value=0, max_value=100))
    e.add(picklist("msdyn_forecastcategory", FORECAST_CATEGORIES))
    e.add(memo("description"))
    _process(e)
    add_lookup(e, "customerid", ["account", "contact"], kind="Customer")
    add_lookup(e, "parentaccountid", ["account"])
    add_lookup(e, "parentcontactid", ["contact"])
    add_state(
        e,
        {
            0: ("Open", {1: "In Progress", 2: "On Hold"}, 1),
            1: ("Won", {3: "Won"}, 3),
            2: ("Lost", {4: "Canceled", 5: "Out-Sold"}, 4),
        },
    )
    return e


def incident() -> Entity:
    e = new_entity("incident", "incidents", "incidentid", "title", object_type_code=112)
    add_system_columns(e)
    e.add(string("title", 200, required_level="ApplicationRequired"))
    e.add(string("ticketnumber", 100))
    e.add(memo("description", 2000))
    e.add(picklist("caseorigincode", {1: "Phone", 2: "Email", 3: "Web", 2483: "Facebook", 3986: "Twitter"}))
    e.add(picklist("prioritycode", {1: "High", 2: "Normal", 3: "Low"}))
    e.add(picklist("casetypecode", {1: "Question", 2: "Problem", 3: "Request"}))
    e.add(date("followupby"))
    _process(e)
    add_lookup(e, "customerid", ["account", "contact"], kind="Customer", required_level="SystemRequired")
    add_lookup(e, "primarycontactid", ["contact"])
    add_state(
        e,
        {
            0: ("Active", {1: "In Progress", 2: "On Hold", 3: "Waiting for Details", 4: "Researching"}, 1),
            1: ("Resolved", {5: "Problem Solved", 1000: "Information Provided"}, 5),
            2: ("Canceled", {6: "Canceled", 2000: "Merged"}, 6),
        },
    )
    return e


def task() -> Entity:
    e = new_entity("task", "tasks", "activityid", "subject", is_activity=True, object_type_code=4212)
    add_system_columns(e)
    add_activity_columns(e, REGARDING_TARGETS)
    e.add(Attribute("percentcomplete", "Integer", min_value=0, max_value=100))
    e.add(string("category", 250))
    add_state(
        e,
        {
            0: ("Open", {2: "Not Started", 3: "In Progress", 4: "Waiting on someone else", 7: "Deferred"}, 2),
            1: ("Completed", {5: "Completed"}, 5),
            2: ("Canceled", {6: "Canceled"}, 6),
        },
    )
    return e


def appointment() -> Entity:
    e = new_entity("appointment", "appointments", "activityid", "subject", is_activity=True, object_type_code=4201)
    add_system_columns(e)
    add_activity_columns(e, REGARDING_TARGETS)
    e.add(string("location", 200))
    e.add(Attribute("isalldayevent", "Boolean"))
    _parties(e, "requiredattendees", "optionalattendees", "organizer")
    add_state(
        e,
        {
            0: ("Open", {1: "Free", 2: "Tentative"}, 1),
            1: ("Completed", {3: "Completed"}, 3),
            2: ("Canceled", {4: "Canceled"}, 4),
            3: ("Scheduled", {5: "Busy", 6: "Out of Office"}, 5),
        },
    )
    return e


def phonecall() -> Entity:
    e = new_entity("phonecall", "phonecalls", "activityid", "subject", is_activity=True, object_type_code=4210)
    add_system_columns(e)
    add_activity_columns(e, REGARDING_TARGETS)
    e.add(string("phonenumber", 200))
    e.add(Attribute("directioncode", "Boolean"))
    _parties(e, "from", "to")
    add_state(
        e,
        {
            0: ("Open", {1: "Open"}, 1),
            1: ("Completed", {2: "Made", 4: "Received"}, 2),
            2: ("Canceled", {3: "Canceled"}, 3),
        },
    )
    return e


def email() -> Entity:
    e = new_entity("email", "emails", "activityid", "subject", is_activity=True, object_type_code=4202)
    add_system_columns(e)
    add_activity_columns(e, REGARDING_TARGETS)
    e.add(Attribute("directioncode", "Boolean"))
    e.add(string("sender", 250))
    e.add(memo("torecipients", 500))
    _parties(e, "from", "to", "cc", "bcc")
    add_state(
        e,
        {
            0: ("Open", {1: "Draft", 8: "Failed"}, 1),
            1: ("Completed", {2: "Completed", 3: "Sent", 4: "Received", 6: "Pending Send", 7: "Sending"}, 2),
            2: ("Canceled", {5: "Canceled"}, 5),
        },
    )
    return e


def workflow() -> Entity:
    """Processes; category 4 = business process flow (one per sales process / source pipeline)."""
    e = new_entity("workflow", "workflows", "workflowid", "name", object_type_code=4703)
    add_system_columns(e)
    e.add(string("name", 100, required_level="SystemRequired"))
    e.add(string("uniquename", 256))
    e.add(string("primaryentity", 100, required_level="SystemRequired"))
    e.add(memo("description"))
    e.add(memo("clientdata", 1073741823))
    e.add(
        picklist(
            "category",
            {0: "Workflow", 1: "Dialog", 2: "Business Rule", 3: "Action", 4: "Business Process Flow", 5: "Modern Flow"},
            required_level="SystemRequired",
        )
    )
    e.add(picklist("type", {1: "Definition", 2: "Activation", 3: "Template"}))
    e.add(picklist("businessprocesstype", {0: "Business Flow", 1: "Task Flow"}))
    add_state(e, {0: ("Draft", {1: "Draft"}, 1), 1: ("Activated", {2: "Activated"}, 2)})
    return e


def processstage() -> Entity:
    """Stages of a business process flow (real: derived from the flow's definition)."""
    e = new_entity(
        "processstage", "processstages", "processstageid", "stagename", ownership="None", object_type_code=4724
    )
    add_system_columns(e)
    e.add(string("stagename", 100, required_level="SystemRequired"))
    e.add(picklist("stagecategory", STAGE_CATEGORIES))
    e.add(string("primaryentitytypecode", 100))
    e.add(memo("clientdata", 1073741823))
    add_lookup(e, "processid", ["workflow"], required_level="SystemRequired")
    return e


def incidentresolution() -> Entity:
    """Case resolution activity, created by the CloseIncident action."""
    e = new_entity(
        "incidentresolution", "incidentresolutions", "activityid", "subject", is_activity=True, object_type_code=4206
    )
    add_system_columns(e)
    add_activity_columns(e, [])
    e.add(Attribute("timespent", "Integer", min_value=0, max_value=2147483647))
    add_lookup(e, "incidentid", ["incident"])
    add_state(e, {0: ("Open", {1: "Open"}, 1), 1: ("Completed", {2: "Closed"}, 2), 2: ("Canceled", {3: "Canceled"}, 3)})
    return e


def activitypointer() -> Entity:
    """Read-only view over every activity table (records are listed from them)."""
    e = new_entity(
        "activitypointer", "activitypointers", "activityid", "subject", is_activity=True, object_type_code=4200
    )
    add_system_columns(e)
    add_activity_columns(e, REGARDING_TARGETS)
    add_state(
        e,
        {
            0: ("Open", {1: "Open"}, 1),
            1: ("Completed", {2: "Completed"}, 2),
            2: ("Canceled", {3: "Canceled"}, 3),
            3: ("Scheduled", {4: "Scheduled"}, 4),
        },
    )
    for attribute in e.attributes.values():
        attribute.valid_create = attribute.valid_update = False
    return e


def annotation() -> Entity:
    e = new_entity("annotation", "annotations", "annotationid", "subject", object_type_code=5)
    add_system_columns(e)
    e.add(string("subject", 500))
    e.add(memo("notetext", 100000))
    e.add(string("filename", 255))
    e.add(string("mimetype", 256))
    e.add(memo("documentbody", 1073741823))
    e.add(Attribute("isdocument", "Boolean"))
    e.add(read_only(Attribute("filesize", "Integer")))
    e.add(read_only(Attribute("objecttypecode", "EntityName")))
    add_lookup(e, "objectid", ["account", "contact", "lead", "opportunity", "incident"])
    return e


def systemuser() -> Entity:
    e = new_entity(
        "systemuser", "systemusers", "systemuserid", "fullname", ownership="BusinessOwned", object_type_code=8
    )
    add_system_columns(e)
    e.add(string("firstname", 64))
    e.add(string("lastname", 64))
    e.add(read_only(string("fullname", 200)))
    e.add(string("internalemailaddress", 100))
    e.add(string("domainname", 1024))
    e.add(Attribute("isdisabled", "Boolean"))
    e.add(read_only(Attribute("applicationid", "Uniqueidentifier")))
    return e


def team() -> Entity:
    e = new_entity("team", "teams", "teamid", "name", ownership="BusinessOwned", object_type_code=9)
    add_system_columns(e)
    e.add(string("name", 160))
    e.add(picklist("teamtype", {0: "Owner", 1: "Access"}))
    return e


def sharepointsite() -> Entity:
    e = new_entity("sharepointsite", "sharepointsites", "sharepointsiteid", "name", object_type_code=9502)
    add_system_columns(e)
    e.add(string("name", 100))
    e.add(string("absoluteurl", 2000))
    e.add(string("relativeurl", 255))
    e.add(Attribute("isdefault", "Boolean"))
    e.add(memo("description"))
    add_lookup(e, "parentsite", ["sharepointsite"])
    add_state(e, ACTIVE_INACTIVE)
    return e


def sharepointdocumentlocation() -> Entity:
    e = new_entity(
        "sharepointdocumentlocation",
        "sharepointdocumentlocations",
        "sharepointdocumentlocationid",
        "name",
        object_type_code=9508,
    )
    add_system_columns(e)
    e.add(string("name", 100))
    e.add(string("relativeurl", 255))
    e.add(string("absoluteurl", 2000))
    e.add(memo("description"))
    add_lookup(e, "parentsiteorlocation", ["sharepointsite", "sharepointdocumentlocation"])
    add_lookup(e, "regardingobjectid", ["account", "contact", "lead", "opportunity", "incident"])
    add_state(e, ACTIVE_INACTIVE)
    return e


def publisher() -> Entity:
    e = new_entity(
        "publisher", "publishers", "publisherid", "friendlyname", ownership="OrganizationOwned", object_type_code=7101
    )
    add_system_columns(e)
    e.add(string("uniquename", 256))
    e.add(string("friendlyname", 256))
    e.add(string("customizationprefix", 8))
    e.add(Attribute("customizationoptionvalueprefix", "Integer", min_value=10000, max_value=99999))
    return e


def solution() -> Entity:
    e = new_entity(
        "solution", "solutions", "solutionid", "friendlyname", ownership="OrganizationOwned", object_type_code=7100
    )
    add_system_columns(e)
    e.add(string("uniquename", 65))
    e.add(string("friendlyname", 256))
    e.add(string("version", 256))
    e.add(memo("description"))
    e.add(read_only(Attribute("ismanaged", "Boolean")))
    add_lookup(e, "publisherid", ["publisher"])
    return e


def standard_entities() -> list[Entity]:
    """Fresh definitions of every standard table."""
    return [
        account(),
        contact(),
        lead(),
        opportunity(),
        incident(),
        task(),
        appointment(),
        phonecall(),
        email(),
        workflow(),
        processstage(),
        incidentresolution(),
        activitypointer(),
        annotation(),
        systemuser(),
        team(),
        sharepointsite(),
        sharepointdocumentlocation(),
        publisher(),
        solution(),
    ]
