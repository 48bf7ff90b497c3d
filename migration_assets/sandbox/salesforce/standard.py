"""The standard objects of a fresh org, as this emulator describes them.

Field lists follow the object reference (reference §10) trimmed to what a migration touches;
picklist values are the documented defaults of a fresh org. Real: names, types, read-only and
create-only flags, Case.CaseNumber auto-number, IsClosed derived from the closed statuses.
Invented: which standard picklists are restricted besides Case.Status and Task.Status (Case.Priority,
Task.Priority, ContentDocumentLink.ShareType/Visibility are restricted here), and the lengths of a
few fields.
"""

from __future__ import annotations

from migration_assets.sandbox.salesforce.ids import KEY_PREFIXES
from migration_assets.sandbox.salesforce.schema import (
    F,
    ObjectDef,
    create_only,
    make_object,
    picklist,
    read_only,
    ref,
)

# Polymorphic lookups whose targets also include every custom object (added at schema load).
ACTIVITY_PARENTS = ("Account", "Case")

CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
ACR_ROLES = [
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
]

# Standard value sets editable through the Tooling API: name -> (object, field).
STANDARD_VALUE_SETS: dict[str, tuple[str, str]] = {
    "CaseStatus": ("Case", "Status"),
    "CasePriority": ("Case", "Priority"),
    "CaseOrigin": ("Case", "Origin"),
    "CaseType": ("Case", "Type"),
    "CaseReason": ("Case", "Reason"),
    "TaskStatus": ("Task", "Status"),
    "TaskPriority": ("Task", "Priority"),
    "TaskType": ("Task", "Type"),
    "AccountType": ("Account", "Type"),
    "Industry": ("Account", "Industry"),
    "AccountContactMultiRoles": ("AccountContactRelation", "Roles"),
}


def _address(prefix: str) -> list:
    return [
        F(f"{prefix}Street", "textarea", length=255),
        F(f"{prefix}City", "string", length=40),
        F(f"{prefix}State", "string", length=80),
        F(f"{prefix}PostalCode", "string", length=20),
        F(f"{prefix}Country", "string", length=80),
    ]


def _account() -> ObjectDef:
    return make_object(
        "Account",
        "Account",
        "Accounts",
        KEY_PREFIXES["Account"],
        [
            F("Name", "string", "Account Name", nillable=False, id_lookup=True),
            F("AccountNumber", "string", length=40),
            picklist(
                "Type",
                [
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Channel Partner / Reseller",
                    "Installation Partner",
                    "Technology Partner",
                    "Other",
                ],
                label="Account Type",
            ),
            picklist(
                "Industry",
                [
                    "Agriculture",
                    "Banking",
                    "Consulting",
                    "Education",
                    "Finance",
                    "Government",
                    "Healthcare",
                    "Insurance",
                    "Legal",
                    "Manufacturing",
                    "Technology",
                    "Other",
                ],
            ),
            F("Phone", "phone", length=40),
            F("Fax", "phone", length=40),
            F("Website", "url"),
            F("Description", "textarea", length=32000),
            *_address("Billing"),
            *_address("Shipping"),
            F("NumberOfEmployees", "int", "Employees", precision=8),
            F("AnnualRevenue", "currency", precision=18, scale=0),
            ref("ParentId", ("Account",), "Parent", "Parent Account ID"),
        ],
    )


def _contact() -> ObjectDef:
    return make_object(
        "Contact",
        "Contact",
        "Contacts",
        KEY_PREFIXES["Contact"],
        [
            picklist("Salutation", ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]),
            F("FirstName", "string", length=40),
            F("LastName", "string", nillable=False, length=80),
            read_only(F("Name", "string", "Full Name", length=121, calculated=True, id_lookup=True)),
            ref("AccountId", ("Account",), "Account", "Account ID"),
            ref("ReportsToId", ("Contact",), "ReportsTo", "Reports To ID"),
            F("Email", "email", length=80, id_lookup=True),
            F("Phone", "phone", length=40),
            F("MobilePhone", "phone", length=40),
            F("Title", "string", length=128),
            F("Department", "string", length=80),
            F("Birthdate", "date"),
            F("Description", "textarea", length=32000),
            *_address("Mailing"),
        ],
    )


def _account_contact_relation() -> ObjectDef:
    return make_object(
        "AccountContactRelation",
        "Account Contact Relationship",
        "Account Contact Relationships",
        KEY_PREFIXES["AccountContactRelation"],
        [
            create_only(ref("AccountId", ("Account",), "Account", "Account ID", nillable=False)),
            create_only(ref("ContactId", ("Contact",), "Contact", "Contact ID", nillable=False)),
            picklist("Roles", ACR_ROLES, multi=True),
            F("IsActive", "boolean", "Active", nillable=False, defaulted=True, default=True),
            read_only(F("IsDirect", "boolean", "Direct", nillable=False, defaulted=True)),
            F("StartDate", "date"),
            F("EndDate", "date"),
        ],
        owner=False,
    )


def _case() -> ObjectDef:
    return make_object(
        "Case",
        "Case",
        "Cases",
        KEY_PREFIXES["Case"],
        [
            read_only(
                F(
                    "CaseNumber",
                    "string",
                    "Case Number",
                    length=30,
                    nillable=False,
                    defaulted=True,
                    auto_number=True,
                    id_lookup=True,
                )
            ),
            ref("AccountId", ("Account",), "Account", "Account ID"),
            ref("ContactId", ("Contact",), "Contact", "Contact ID"),
            ref("ParentId", ("Case",), "Parent", "Parent Case ID"),
            picklist("Status", CASE_STATUSES, default="New", closed={"Closed"}, restricted=True, nillable=False),
            picklist("Priority", ["High", "Medium", "Low"], default="Medium", restricted=True),
            picklist("Origin", ["Phone", "Email", "Web"], label="Case Origin"),
            picklist("Type", ["Mechanical", "Electrical", "Electronic", "Structural", "Other"], label="Case Type"),
            picklist(
                "Reason",
                [
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Equipment Design",
                    "Feedback",
                    "Other",
                ],
                label="Case Reason",
            ),
            F("Subject", "string"),
            F("Description", "textarea", length=32000),
            F("SuppliedName", "string", "Web Name", length=80),
            F("SuppliedEmail", "email", "Web Email", length=80),
            read_only(F("IsClosed", "boolean", "Closed", nillable=False, defaulted=True)),
            read_only(F("ClosedDate", "datetime", "Closed Date")),
            F("IsEscalated", "boolean", "Escalated", nillable=False, defaulted=True),
        ],
    )


def _activity_common() -> list:
    return [
        F("Subject", "combobox"),
        ref("WhatId", ACTIVITY_PARENTS, "What", "Related To ID", polymorphic=True),
        ref("WhoId", ("Contact",), "Who", "Name ID", polymorphic=True),
        F("Description", "textarea", "Comments", length=32000),
    ]


def _event() -> ObjectDef:
    return make_object(
        "Event",
        "Event",
        "Events",
        KEY_PREFIXES["Event"],
        [
            *_activity_common(),
            F("StartDateTime", "datetime", "Start Date Time"),
            F("EndDateTime", "datetime", "End Date Time"),
            F("ActivityDateTime", "datetime", "Due Date Time"),
            F("ActivityDate", "date", "Due Date Only"),
            F("DurationInMinutes", "int", "Duration", precision=8),
            F("IsAllDayEvent", "boolean", "All-Day Event", nillable=False, defaulted=True),
            F("Location", "string"),
            picklist("ShowAs", ["Busy", "OutOfOffice", "Free"], default="Busy", label="Show Time As"),
            picklist("Type", ["Call", "Email", "Meeting", "Other"]),
        ],
    )


def _task() -> ObjectDef:
    return make_object(
        "Task",
        "Task",
        "Tasks",
        KEY_PREFIXES["Task"],
        [
            *_activity_common(),
            picklist(
                "Status",
                TASK_STATUSES,
                default="Not Started",
                closed={"Completed"},
                restricted=True,
                nillable=False,
            ),
            picklist("Priority", ["High", "Normal", "Low"], default="Normal", restricted=True, nillable=False),
            F("ActivityDate", "date", "Due Date Only"),
            picklist("Type", ["Call", "Email", "Meeting", "Other"]),
            create_only(
                picklist(
                    "TaskSubtype",
                    ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"],
                    restricted=True,
                )
            ),
            read_only(F("IsClosed", "boolean", "Closed", nillable=False, defaulted=True)),
            F("CallDurationInSeconds", "int", "Call Duration", precision=8),
        ],
    )


def _note() -> ObjectDef:
    return make_object(
        "Note",
        "Note",
        "Notes",
        KEY_PREFIXES["Note"],
        [
            create_only(
                ref(
                    "ParentId",
                    ("Account", "Contact", "Case"),
                    "Parent",
                    "Parent ID",
                    nillable=False,
                    polymorphic=True,
                )
            ),
            F("Title", "string", nillable=False, length=80),
            F("Body", "textarea", length=32000),
            F("IsPrivate", "boolean", "Private", nillable=False, defaulted=True),
        ],
    )


def _content_version() -> ObjectDef:
    return make_object(
        "ContentVersion",
        "Content Version",
        "Content Versions",
        KEY_PREFIXES["ContentVersion"],
        [
            F("Title", "string", nillable=False, defaulted=True),
            create_only(F("PathOnClient", "string", "Path On Client", length=500, nillable=False)),
            create_only(F("VersionData", "base64", "Version Data")),
            create_only(
                ref(
                    "FirstPublishLocationId",
                    ("Account", "Contact", "Case", "User"),
                    "FirstPublishLocation",
                    "First Publish Location ID",
                    polymorphic=True,
                )
            ),
            read_only(ref("ContentDocumentId", ("ContentDocument",), "ContentDocument", "ContentDocument ID")),
            create_only(picklist("ContentLocation", ["S", "E", "L"], default="S", restricted=True)),
            F("Description", "textarea", length=1000),
            read_only(F("ContentSize", "int", "Size", precision=18)),
            read_only(F("FileExtension", "string", "File Extension", length=40)),
            read_only(F("FileType", "string", "File Type", length=20)),
            read_only(F("Checksum", "string", length=50)),
            read_only(F("IsLatest", "boolean", "Is Latest", nillable=False, defaulted=True)),
            read_only(F("VersionNumber", "string", "Version Number", length=20)),
        ],
        deletable=False,
    )


def _content_document() -> ObjectDef:
    return make_object(
        "ContentDocument",
        "Content Document",
        "Content Documents",
        KEY_PREFIXES["ContentDocument"],
        [
            F("Title", "string", nillable=False),
            read_only(
                ref(
                    "LatestPublishedVersionId",
                    ("ContentVersion",),
                    "LatestPublishedVersion",
                    "Latest Published Version ID",
                )
            ),
            read_only(F("FileExtension", "string", "File Extension", length=40)),
            read_only(F("FileType", "string", "File Type", length=20)),
            read_only(F("ContentSize", "int", "Size", precision=18)),
            F("Description", "textarea", length=1000),
        ],
        createable=False,
    )


def _content_document_link() -> ObjectDef:
    return make_object(
        "ContentDocumentLink",
        "Content Document Link",
        "Content Document Links",
        KEY_PREFIXES["ContentDocumentLink"],
        [
            create_only(
                ref(
                    "ContentDocumentId",
                    ("ContentDocument",),
                    "ContentDocument",
                    "ContentDocument ID",
                    nillable=False,
                )
            ),
            create_only(
                ref(
                    "LinkedEntityId",
                    ("Account", "Contact", "Case", "User"),
                    "LinkedEntity",
                    "Linked Entity ID",
                    nillable=False,
                    polymorphic=True,
                )
            ),
            picklist("ShareType", ["V", "C", "I"], default="V", restricted=True, nillable=False),
            picklist(
                "Visibility",
                ["AllUsers", "InternalUsers", "SharedUsers"],
                default="AllUsers",
                restricted=True,
                nillable=False,
            ),
        ],
        owner=False,
    )


def _user() -> ObjectDef:
    keys = ["America/Los_Angeles", "America/New_York", "America/Chicago", "Europe/London", "GMT"]
    return make_object(
        "User",
        "User",
        "Users",
        KEY_PREFIXES["User"],
        [
            F("Username", "string", length=80, nillable=False, unique=True, id_lookup=True),
            F("FirstName", "string", length=40),
            F("LastName", "string", length=80, nillable=False),
            read_only(F("Name", "string", "Full Name", length=121, calculated=True, id_lookup=True)),
            F("Email", "email", length=128, nillable=False),
            F("Alias", "string", length=8, nillable=False),
            ref("ProfileId", ("Profile",), "Profile", "Profile ID", nillable=False),
            F("IsActive", "boolean", "Active", nillable=False, defaulted=True, default=True),
            picklist("TimeZoneSidKey", keys, restricted=True, nillable=False, label="Time Zone"),
            picklist("LocaleSidKey", ["en_US", "en_GB"], restricted=True, nillable=False, label="Locale"),
            picklist(
                "EmailEncodingKey",
                ["UTF-8", "ISO-8859-1"],
                restricted=True,
                nillable=False,
                label="Email Encoding",
            ),
            picklist("LanguageLocaleKey", ["en_US"], restricted=True, nillable=False, label="Language"),
        ],
        owner=False,
        deletable=False,
    )


def _profile() -> ObjectDef:
    return make_object(
        "Profile",
        "Profile",
        "Profiles",
        KEY_PREFIXES["Profile"],
        [
            F("Name", "string", nillable=False),
        ],
        owner=False,
        createable=False,
        updateable=False,
        deletable=False,
    )


def standard_objects() -> dict[str, ObjectDef]:
    """Fresh copies of every standard object definition, by API name."""
    objects = [
        _account(),
        _contact(),
        _account_contact_relation(),
        _case(),
        _event(),
        _task(),
        _note(),
        _content_version(),
        _content_document(),
        _content_document_link(),
        _user(),
        _profile(),
    ]
    return {o.name: o for o in objects}
