"""The object model of the Interactive emulator: object types, their properties, association types.

Real (HubSpot CRM v3 public docs): the object type ids (0-1 contacts, 0-2 companies, 0-3 deals,
0-27 tasks, 0-46 notes, 0-47 meetings, 0-48 calls, 0-49 emails, "2-<n>" custom objects), the
standard property names and types (`lifecyclestage` and `hs_lead_status` options, `hs_task_status`,
`hs_meeting_outcome`, `hs_call_status`, `hs_email_direction`...), the last-modified property of each
type (`lastmodifieddate` on contacts, `hs_lastmodifieddate` elsewhere), the properties returned when
none are requested, and the HUBSPOT_DEFINED association type ids (279/1 contact->company, 280/2
back, 13/14 parent/child company, 3/4 deal<->contact, 341/5 and 342/6 deal<->company, 181-216 for
engagements).

Ours: the custom object (the seed's spouse-per-matter link between two contacts: "2-4815162",
`p48151623_spouse_link`), its USER_DEFINED association type ids (101-106, with the labels "Client"
and "Spouse"), the custom properties (`estate_plan_type`, `practice_areas`, `matter_open_date`,
`matter_type`, `matter_reference`, ...), the labels of the parent/child company types ("Parent
Company", "Child Company"; unconfirmed) and the v3 inline association type names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PORTAL_ID = 48151623
CUSTOM_TYPE_ID = "2-4815162"
CUSTOM_NAME = "spouse_link"
CUSTOM_FQN = f"p{PORTAL_ID}_{CUSTOM_NAME}"

Options = tuple[tuple[str, str], ...]  # (value, label)

LIFECYCLE_STAGES: Options = (
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)
LEAD_STATUSES: Options = (
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)
TASK_STATUSES: Options = (
    ("NOT_STARTED", "Not Started"),
    ("IN_PROGRESS", "In Progress"),
    ("WAITING", "Waiting"),
    ("COMPLETED", "Completed"),
    ("DEFERRED", "Deferred"),
)


def _labelled(*values: str) -> Options:
    return tuple((v, v.replace("_", " ").title()) for v in values)


@dataclass(frozen=True)
class Prop:
    """One property as `GET /crm/v3/properties/{type}` describes it."""

    name: str
    label: str
    type: str = "string"  # string, number, date, datetime, enumeration, bool
    field_type: str = "text"
    options: Options = ()
    hubspot_defined: bool = True
    referenced: str | None = None  # referencedObjectType ("OWNER")

    def describe(self, order: int, options: Options | None = None) -> dict[str, Any]:
        listed = self.options if options is None else options
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": "",
            "groupName": "information" if self.hubspot_defined else "custom_properties",
            "options": [
                {"label": label, "value": value, "displayOrder": n, "hidden": False}
                for n, (value, label) in enumerate(listed)
            ],
            "displayOrder": order,
            "calculated": False,
            "externalOptions": self.referenced is not None,
            "hasUniqueValue": self.name == "hs_object_id",
            "hidden": False,
            "hubspotDefined": self.hubspot_defined,
            "formField": self.type != "datetime",
            "archived": False,
        }
        if self.referenced:
            out["referencedObjectType"] = self.referenced
        return out


def _p(name: str, label: str, type_: str = "string", field_type: str | None = None, **kw: Any) -> Prop:
    default_field = {
        "string": "text",
        "number": "number",
        "date": "date",
        "datetime": "date",
        "enumeration": "select",
        "bool": "booleancheckbox",
    }[type_]
    return Prop(name, label, type_, field_type or default_field, **kw)


def _custom(name: str, label: str, type_: str = "string", field_type: str | None = None, **kw: Any) -> Prop:
    return _p(name, label, type_, field_type, hubspot_defined=False, **kw)


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type of `/crm/v3/objects/{name}`."""

    name: str
    type_id: str
    singular: str
    created: str
    modified: str
    props: tuple[Prop, ...]
    defaults: tuple[str, ...]

    @property
    def by_name(self) -> Mapping[str, Prop]:
        return {p.name: p for p in self.props}

    def always(self) -> tuple[str, ...]:
        """Properties every response carries, whatever was requested (real)."""
        return (self.created, self.modified, "hs_object_id")


OWNER = {"referenced": "OWNER"}


def _record_props(created: str, modified: str) -> tuple[Prop, ...]:
    return (
        _p("hs_object_id", "Record ID", "number"),
        _p(created, "Create Date", "datetime"),
        _p(modified, "Last Modified Date", "datetime"),
        _p("hubspot_owner_id", "Owner", "enumeration", **OWNER),
    )


CONTACT_PROPS = (
    *_record_props("createdate", "lastmodifieddate"),
    _p("firstname", "First Name"),
    _p("lastname", "Last Name"),
    _p("email", "Email"),
    _p("phone", "Phone Number", field_type="phonenumber"),
    _p("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
    _p("jobtitle", "Job Title"),
    _p("company", "Company Name"),
    _p("address", "Street Address"),
    _p("city", "City"),
    _p("state", "State/Region"),
    _p("zip", "Postal Code"),
    _p("country", "Country/Region"),
    _p("date_of_birth", "Date of birth"),
    _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
    _p("hs_lead_status", "Lead Status", "enumeration", "radio", options=LEAD_STATUSES),
    _p("associatedcompanyid", "Primary Associated Company ID", "number"),
    *(
        _p(f"hs_lifecyclestage_{value}_date", f"Became a {label} Date", "datetime")
        for value, label in LIFECYCLE_STAGES[1:6]
    ),
    _custom(
        "estate_plan_type",
        "Estate plan type",
        "enumeration",
        options=_labelled("will", "revocable_trust", "irrevocable_trust", "power_of_attorney", "healthcare_directive"),
    ),
    _custom(
        "practice_areas",
        "Practice areas",
        "enumeration",
        "checkbox",
        options=_labelled("estate_planning", "probate", "elder_law", "guardianship", "tax_planning"),
    ),
    _custom(
        "marital_status",
        "Marital status",
        "enumeration",
        options=_labelled("single", "married", "widowed", "divorced", "domestic_partnership"),
    ),
    _custom("matter_open_date", "Matter open date (legacy import)"),
    _custom("referral_source", "Referral source"),
)

COMPANY_PROPS = (
    *_record_props("createdate", "hs_lastmodifieddate"),
    _p("name", "Company name"),
    _p("domain", "Company Domain Name"),
    _p("phone", "Phone Number", field_type="phonenumber"),
    _p("industry", "Industry"),
    _p("city", "City"),
    _p("state", "State/Region"),
    _p("country", "Country/Region"),
    _p("numberofemployees", "Number of Employees", "number"),
    _p("annualrevenue", "Annual Revenue", "number"),
    _p("description", "Description", field_type="textarea"),
    _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
    _p("type", "Type", "enumeration", options=_labelled("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")),
    _p("hs_parent_company_id", "Parent Company", "number"),
    _custom("firm_tier", "Firm tier", "enumeration", options=_labelled("gold", "silver", "bronze")),
)

DEAL_PROPS = (
    *_record_props("createdate", "hs_lastmodifieddate"),
    _p("dealname", "Deal Name"),
    _p("amount", "Amount", "number"),
    _p("closedate", "Close Date", "datetime"),
    _p("pipeline", "Pipeline", "enumeration"),  # options: the pipelines (filled at request time)
    _p("dealstage", "Deal Stage", "enumeration", "radio"),  # options: every stage
    _p("dealtype", "Deal Type", "enumeration", "radio", options=_labelled("newbusiness", "existingbusiness")),
    _p("description", "Deal Description", field_type="textarea"),
    _p("deal_currency_code", "Currency", "enumeration", options=_labelled("USD", "EUR", "GBP", "CAD")),
    _custom(
        "matter_type",
        "Matter type",
        "enumeration",
        options=_labelled("estate_plan", "trust_administration", "probate", "elder_law"),
    ),
)


def _engagement_props(*own: Prop, attachments: bool = True) -> tuple[Prop, ...]:
    extra = (_p("hs_attachment_ids", "Attachment IDs", "enumeration", "checkbox"),) if attachments else ()
    return (
        *_record_props("hs_createdate", "hs_lastmodifieddate"),
        _p("hs_timestamp", "Activity date", "datetime"),
        *own,
        *extra,
    )


CALL_PROPS = _engagement_props(
    _p("hs_call_title", "Call Title"),
    _p("hs_call_body", "Call notes", field_type="html"),
    _p("hs_call_direction", "Call direction", "enumeration", options=_labelled("INBOUND", "OUTBOUND")),
    _p("hs_call_duration", "Call duration", "number"),
    _p(
        "hs_call_status",
        "Call status",
        "enumeration",
        options=_labelled("BUSY", "CANCELED", "COMPLETED", "FAILED", "IN_PROGRESS", "NO_ANSWER", "QUEUED"),
    ),
    _custom("matter_reference", "Matter reference"),
    attachments=False,
)
EMAIL_PROPS = _engagement_props(
    _p("hs_email_subject", "Subject"),
    _p("hs_email_text", "Email body (text)", field_type="textarea"),
    _p("hs_email_html", "Email body (HTML)", field_type="html"),
    _p(
        "hs_email_direction",
        "Email direction",
        "enumeration",
        options=_labelled("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
    ),
    _p("hs_email_status", "Email send status", "enumeration", options=_labelled("BOUNCED", "FAILED", "SENT")),
    _p("hs_email_sender_email", "From email"),
    _p("hs_email_to_email", "To email"),
)
MEETING_PROPS = _engagement_props(
    _p("hs_meeting_title", "Meeting name"),
    _p("hs_meeting_body", "Meeting description", field_type="html"),
    _p("hs_internal_meeting_notes", "Internal meeting notes", field_type="html"),
    _p("hs_meeting_location", "Location"),
    _p("hs_meeting_start_time", "Start time", "datetime"),
    _p("hs_meeting_end_time", "End time", "datetime"),
    _p(
        "hs_meeting_outcome",
        "Meeting outcome",
        "enumeration",
        options=_labelled("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
    ),
)
TASK_PROPS = _engagement_props(
    _p("hs_task_subject", "Task title"),
    _p("hs_task_body", "Notes", field_type="html"),
    _p("hs_task_status", "Task status", "enumeration", options=TASK_STATUSES),
    _p("hs_task_priority", "Priority", "enumeration", options=_labelled("NONE", "LOW", "MEDIUM", "HIGH")),
    _p("hs_task_type", "Task type", "enumeration", options=_labelled("CALL", "EMAIL", "TODO")),
    attachments=False,
)
NOTE_PROPS = _engagement_props(_p("hs_note_body", "Note body", field_type="html"))
SPOUSE_LINK_PROPS = (
    *_record_props("hs_createdate", "hs_lastmodifieddate"),
    _custom("matter_name", "Matter name"),
    _custom("matter_number", "Matter number"),
    _custom(
        "relationship",
        "Relationship",
        "enumeration",
        options=_labelled("spouse", "domestic_partner", "former_spouse"),
    ),
    _custom("marriage_date", "Marriage date (as entered)"),
    _custom("joint_plan", "Joint plan", "bool"),
)

ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")


def _engagement(name: str, type_id: str, singular: str, props: tuple[Prop, ...]) -> ObjectType:
    return ObjectType(name, type_id, singular, "hs_createdate", "hs_lastmodifieddate", props, ENGAGEMENT_DEFAULTS)


TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "contacts",
            "0-1",
            "contact",
            "createdate",
            "lastmodifieddate",
            CONTACT_PROPS,
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
        ),
        ObjectType(
            "companies",
            "0-2",
            "company",
            "createdate",
            "hs_lastmodifieddate",
            COMPANY_PROPS,
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
        ),
        ObjectType(
            "deals",
            "0-3",
            "deal",
            "createdate",
            "hs_lastmodifieddate",
            DEAL_PROPS,
            (
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ),
        ),
        _engagement("calls", "0-48", "call", CALL_PROPS),
        _engagement("emails", "0-49", "email", EMAIL_PROPS),
        _engagement("meetings", "0-47", "meeting", MEETING_PROPS),
        _engagement("tasks", "0-27", "task", TASK_PROPS),
        _engagement("notes", "0-46", "note", NOTE_PROPS),
        _engagement(CUSTOM_TYPE_ID, CUSTOM_TYPE_ID, CUSTOM_NAME, SPOUSE_LINK_PROPS),
    )
}
ENGAGEMENTS = ("calls", "emails", "meetings", "tasks", "notes")

# Every name a type is addressed by in a URL: its plural name, its object type id, the custom
# object's fully qualified name.
ALIASES: dict[str, str] = {
    **{t.name: t.name for t in TYPES.values()},
    **{t.type_id: t.name for t in TYPES.values()},
    CUSTOM_FQN: CUSTOM_TYPE_ID,
    **{t.singular: t.name for t in TYPES.values() if t.name != CUSTOM_TYPE_ID},
}


def resolve(name: str) -> ObjectType | None:
    """The object type a URL segment names, or None."""
    key = ALIASES.get(name) or ALIASES.get(name.lower())
    return TYPES.get(key) if key else None


@dataclass(frozen=True)
class AssociationType:
    """One direction of an association type (each has an inverse)."""

    type_id: int
    from_type: str
    to_type: str
    name: str  # v3 inline `type`
    inverse: int
    label: str | None = None
    category: str = "HUBSPOT_DEFINED"

    def spec(self) -> dict[str, Any]:
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _pair(
    forward: int,
    backward: int,
    x: str,
    y: str,
    suffix: str = "",
    label: str | None = None,
    category: str = "HUBSPOT_DEFINED",
) -> list[AssociationType]:
    sx, sy = TYPES[x].singular, TYPES[y].singular
    return [
        AssociationType(forward, x, y, f"{sx}_to_{sy}{suffix}", backward, label, category),
        AssociationType(backward, y, x, f"{sy}_to_{sx}{suffix}", forward, label, category),
    ]


# engagement -> ((to contact, from contact), (to company, from company), (to deal, from deal))
ENGAGEMENT_TYPE_IDS: dict[str, tuple[tuple[int, int], ...]] = {
    "calls": ((194, 193), (182, 181), (206, 205)),
    "emails": ((198, 197), (186, 185), (210, 209)),
    "meetings": ((200, 199), (188, 187), (212, 211)),
    "notes": ((202, 201), (190, 189), (214, 213)),
    "tasks": ((204, 203), (192, 191), (216, 215)),
}


def _association_types() -> list[AssociationType]:
    out = [
        *_pair(279, 280, "contacts", "companies", "_unlabeled"),
        *_pair(1, 2, "contacts", "companies", "", "Primary"),
        *_pair(3, 4, "deals", "contacts"),
        *_pair(341, 342, "deals", "companies", "_unlabeled"),
        *_pair(5, 6, "deals", "companies", "", "Primary"),
        AssociationType(13, "companies", "companies", "parent_to_child_company", 14, "Child Company"),
        AssociationType(14, "companies", "companies", "child_to_parent_company", 13, "Parent Company"),
        *_pair(101, 102, CUSTOM_TYPE_ID, "contacts", "", None, "USER_DEFINED"),
        *_pair(103, 104, CUSTOM_TYPE_ID, "contacts", "_client", "Client", "USER_DEFINED"),
        *_pair(105, 106, CUSTOM_TYPE_ID, "contacts", "_spouse", "Spouse", "USER_DEFINED"),
    ]
    for engagement, pairs in ENGAGEMENT_TYPE_IDS.items():
        for (forward, backward), other in zip(pairs, ("contacts", "companies", "deals"), strict=True):
            out += _pair(forward, backward, engagement, other)
    return out


ASSOCIATION_TYPES: dict[int, AssociationType] = {a.type_id: a for a in _association_types()}
