"""The entities the emulator serves, their standard fields, and the fixed selector data.

Field names follow the reference (section 5): what several integrations send is stated there; the
required flags of contact, sales activity and appointment fields, the field `type` names (`text`,
`textarea`, `number`, `dropdown`, `multi_select_dropdown`, `checkbox`, `date`, `datetime`, `lookup`,
`email`) and the fixed selector ids are our choice. Task types come from the sales activity types
selector (our choice: `task_type_id` takes a sales activity type id such as Call); a task's `status`
is 0 (open) or 1 (completed) (our choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity.

    Attributes:
        name: API name (`cf_` prefix for custom fields).
        label: label shown in the field settings.
        type: one of the type names in the module docstring, or `association` (a list of links).
        required: must be set on create and never blanked.
        choices_from: selector whose ids a standard dropdown takes.
        target: entity (or "users") a lookup points at.
        choices: option values of a custom dropdown.
        unique: a custom field marked unique (usable as an upsert identifier).
        field_id: id shown in the field settings.
    """

    name: str
    label: str
    type: str = "text"
    required: bool = False
    choices_from: str | None = None
    target: str | None = None
    choices: tuple[str, ...] = ()
    unique: bool = False
    field_id: int = 0

    @property
    def custom(self) -> bool:
        return self.name.startswith("cf_")


@dataclass(frozen=True)
class EntityDef:
    """One resource of the API.

    Attributes:
        name: plural path segment ("contacts").
        singular: body and response key ("contact").
        model: targetable type / model class name ("Contact").
        fields: standard writable fields.
        custom_fields: whether admins can add `cf_` fields (entities with a field settings endpoint).
        bulk: whether `upsert`, `bulk_upsert` and `bulk_destroy` exist.
        search: the `filtered_search/<search>` name, or None.
        identifiers: upsert identifiers besides a unique custom field.
        one_of: on create, at least one of these must be set (empty: no such rule).
        views: saved views served by `/filters` (id, name, only the API user's records).
        indexed: standard fields kept in the key index.
    """

    name: str
    singular: str
    model: str
    fields: tuple[FieldDef, ...]
    custom_fields: bool = False
    bulk: bool = False
    search: str | None = None
    identifiers: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    views: tuple[tuple[int, str, bool], ...] = ()
    indexed: tuple[str, ...] = ("owner_id",)
    fields_by_name: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields_by_name", {f.name: f for f in self.fields})


def _f(name: str, label: str, type_: str = "text", **kw) -> FieldDef:
    return FieldDef(name, label, type_, **kw)


OWNER = _f("owner_id", "Owner", "lookup", target="users")
TARGETABLE = (
    _f("targetable_type", "Related to type", "text", required=True),
    _f("targetable_id", "Related to", "lookup", required=True, target="targetable"),
)
ADDRESS = (
    _f("address", "Address", "textarea"),
    _f("city", "City"),
    _f("state", "State"),
    _f("zipcode", "Zipcode"),
    _f("country", "Country"),
)

CONTACTS = EntityDef(
    "contacts",
    "contact",
    "Contact",
    (
        _f("first_name", "First name"),
        _f("last_name", "Last name"),
        _f("emails", "Emails", "email"),
        _f("mobile_number", "Mobile"),
        _f("work_number", "Work"),
        _f("job_title", "Job title"),
        *ADDRESS,
        _f("linkedin", "LinkedIn"),
        _f("time_zone", "Time zone"),
        _f("external_id", "External ID"),
        _f("do_not_disturb", "Do not disturb", "checkbox"),
        _f("sales_accounts", "Accounts", "association", target="sales_accounts"),
        OWNER,
    ),
    custom_fields=True,
    bulk=True,
    search="contact",
    identifiers=("emails", "mobile_number"),
    one_of=("last_name", "emails", "mobile_number"),
    views=((70_000_000_201, "All Contacts", False), (70_000_000_202, "My Contacts", True)),
    indexed=("owner_id", "emails", "mobile_number", "external_id"),
)

SALES_ACCOUNTS = EntityDef(
    "sales_accounts",
    "sales_account",
    "SalesAccount",
    (
        _f("name", "Name", required=True),
        *ADDRESS,
        _f("phone", "Phone"),
        _f("website", "Website"),
        _f("number_of_employees", "Number of employees", "number"),
        _f("annual_revenue", "Annual revenue", "number"),
        _f("industry_type_id", "Industry type", "dropdown", choices_from="industry_types"),
        _f("business_type_id", "Business type", "dropdown", choices_from="business_types"),
        _f("parent_sales_account_id", "Parent account", "lookup", target="sales_accounts"),
        OWNER,
    ),
    custom_fields=True,
    bulk=True,
    search="sales_account",
    identifiers=("name",),
    views=((70_000_000_203, "All Accounts", False), (70_000_000_204, "My Accounts", True)),
    indexed=("owner_id", "name"),
)

DEALS = EntityDef(
    "deals",
    "deal",
    "Deal",
    (
        _f("name", "Name", required=True),
        _f("amount", "Deal value", "number", required=True),
        _f("expected_close", "Expected close date", "date"),
        _f("closed_date", "Closed date", "date"),
        _f("probability", "Probability (%)", "number"),
        _f("sales_account_id", "Account", "lookup", target="sales_accounts"),
        _f("contact_ids", "Contacts", "association", target="contacts"),
        _f("deal_pipeline_id", "Pipeline", "dropdown", choices_from="deal_pipelines"),
        _f("deal_stage_id", "Deal stage", "dropdown", choices_from="deal_stages"),
        OWNER,
    ),
    custom_fields=True,
    bulk=True,
    search="deal",
    views=((70_000_000_205, "All Deals", False), (70_000_000_206, "My Deals", True)),
    indexed=("owner_id", "name", "sales_account_id", "deal_stage_id", "deal_pipeline_id"),
)

SALES_ACTIVITIES = EntityDef(
    "sales_activities",
    "sales_activity",
    "SalesActivity",
    (
        _f("sales_activity_type_id", "Activity type", "dropdown", required=True, choices_from="sales_activity_types"),
        _f("title", "Title", required=True),
        _f("notes", "Notes", "textarea"),
        _f("start_date", "Start date", "datetime", required=True),
        _f("end_date", "End date", "datetime", required=True),
        *TARGETABLE,
        OWNER,
    ),
    custom_fields=True,
    indexed=("owner_id", "targetable"),
)

TASKS = EntityDef(
    "tasks",
    "task",
    "Task",
    (
        _f("title", "Title", required=True),
        _f("description", "Description", "textarea"),
        _f("due_date", "Due date", "datetime", required=True),
        _f("task_type_id", "Task type", "dropdown", choices_from="sales_activity_types"),
        _f("status", "Status", "dropdown", choices_from="task_statuses"),
        *TARGETABLE,
        _f("owner_id", "Owner", "lookup", required=True, target="users"),
    ),
    indexed=("owner_id", "targetable", "status"),
)

APPOINTMENTS = EntityDef(
    "appointments",
    "appointment",
    "Appointment",
    (
        _f("title", "Title", required=True),
        _f("description", "Description", "textarea"),
        _f("from_date", "From", "datetime", required=True),
        _f("end_date", "To", "datetime", required=True),
        _f("time_zone", "Time zone"),
        _f("is_allday", "All day", "checkbox"),
        _f("location", "Location"),
        _f("targetable_type", "Related to type"),
        _f("targetable_id", "Related to", "lookup", target="targetable"),
        _f("appointment_attendees_attributes", "Attendees", "association", target="attendees"),
        OWNER,
    ),
    indexed=("owner_id", "targetable", "end_date"),
)

NOTES = EntityDef(
    "notes",
    "note",
    "Note",
    (_f("description", "Description", "textarea", required=True), *TARGETABLE),
    indexed=("targetable",),
)

DOCUMENTS = EntityDef(
    "documents",
    "document",
    "Document",
    (_f("file_name", "File name", required=True), _f("is_shared", "Shared", "checkbox"), *TARGETABLE),
    indexed=("targetable",),
)

ENTITIES: dict[str, EntityDef] = {
    e.name: e for e in (CONTACTS, SALES_ACCOUNTS, DEALS, SALES_ACTIVITIES, TASKS, APPOINTMENTS, NOTES, DOCUMENTS)
}
BY_SEARCH_NAME = {e.search: e for e in ENTITIES.values() if e.search}
# Targetable types of tasks, notes, activities and documents (documents also name Product; not served).
TARGETABLE_TYPES = {"Contact": "contacts", "SalesAccount": "sales_accounts", "Deal": "deals"}
USER_ATTENDEE = "FdMultitenant::User"

# -- fixed selector data (ids are our choice, stable across resets) -------------------------------
SALES_ACTIVITY_TYPES = (
    {"id": 70_000_000_101, "name": "Call", "internal_name": "call", "position": 1, "is_default": True},
    {"id": 70_000_000_102, "name": "Email", "internal_name": "email", "position": 2, "is_default": True},
    {"id": 70_000_000_103, "name": "Meeting", "internal_name": "meeting", "position": 3, "is_default": True},
    {"id": 70_000_000_104, "name": "Task", "internal_name": "task", "position": 4, "is_default": True},
    {"id": 70_000_000_105, "name": "Chat", "internal_name": "chat", "position": 5, "is_default": True},
    {"id": 70_000_000_106, "name": "SMS", "internal_name": "sms", "position": 6, "is_default": True},
)
INDUSTRY_TYPES = tuple(
    {"id": 70_000_000_120 + i, "name": n, "position": i}
    for i, n in enumerate(("Legal", "Finance", "Healthcare", "Real Estate", "Technology", "Other"), 1)
)
BUSINESS_TYPES = tuple(
    {"id": 70_000_000_140 + i, "name": n, "position": i}
    for i, n in enumerate(("Analyst", "Competitor", "Customer", "Integrator", "Investor", "Partner", "Prospect"), 1)
)
TASK_STATUSES = ({"id": 0, "name": "Open"}, {"id": 1, "name": "Completed"})
STATIC_SELECTORS = {
    "sales_activity_types": SALES_ACTIVITY_TYPES,
    "industry_types": INDUSTRY_TYPES,
    "business_types": BUSINESS_TYPES,
    "task_statuses": TASK_STATUSES,
}
DEFAULT_PIPELINE = ("Default Pipeline", ("New", "Qualification", "Proposal", "Negotiation", "Won", "Lost"))
