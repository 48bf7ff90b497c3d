"""Endpoints, limits, defaults and the type vocabulary of the Freshsales destination.

Facts follow shared/reference/freshsales-api.md: the API lives under `/crm/sales/api` of the
bundle URL (`https://<bundle>.myfreshworks.com`), authenticates with `Authorization: Token
token=<key>`, pages by at most 100, bulk-upserts at most 100 records per request, and counts every
call against an hourly limit per account that depends on the plan (plus about 400 per minute on paid
plans). The plan of a real account is not readable through the API, so it is a connection option.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration_assets.connectors.http import RateHeaders
from migration_assets.systems import EnvNames

SYSTEM = "freshsales"
API_PREFIX = "/crm/sales/api"
ENV = EnvNames(base_url="FRESHSALES_BASE_URL", api_key="FRESHSALES_API_KEY")

# Hourly API requests per plan (support article 50000010026) and the per-minute cap of paid plans.
PLAN_HOURLY: dict[str, int] = {"sprout": 0, "blossom": 1000, "garden": 1000, "estate": 2000, "forest": 5000}
MINUTE_CAP = 400
# The tiers an estimate is given for (the Growth / Pro / Enterprise = 1,000 / 2,000 / 5,000).
ESTIMATE_TIERS: dict[str, int] = {"garden": 1000, "estate": 2000, "forest": 5000}

BULK_MAX = 100  # records per bulk_upsert request
PER_PAGE = 100  # records per list / search page
SEARCH_VALUES = 100  # values in one `is_in` filter rule (one search page holds them all)

# Client defaults, overridable through Connection.options.
DEFAULT_PLAN = "garden"
DEFAULT_BULK_THRESHOLD = 4  # rows per upsert at or above which bulk_upsert is used (cheaper from 4 rows)
DEFAULT_POLL_INTERVAL = 1.0  # seconds before the first job poll; doubles up to the max
DEFAULT_POLL_MAX_INTERVAL = 10.0
DEFAULT_BULK_TIMEOUT = 1800.0
DEFAULT_POLL_ESTIMATE = 2  # polls per bulk job assumed by estimates and budget checks
DEFAULT_THROTTLE_WAIT = 90.0  # seconds a 429 is waited out (a minute window) before the run stops
DEFAULT_CONCURRENCY = 4
DEFAULT_RATE = 6.0  # requests per second the estimate assumes: the per-minute cap of 400 is 6.7/s
# the requests left in the hour (no window in the answer: a low allowance stops the limiter's probing)
RATE_HEADERS = RateHeaders(remaining="X-RateLimit-Remaining")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
DEFAULT_WINDOW_SECONDS = 3600.0


@dataclass(frozen=True)
class TableDef:
    """One of our tables (the singular resource name) and how the API serves it.

    Attributes:
        table: our table name ("contact").
        entity: path segment and list key ("contacts").
        model: targetable type of tasks, notes and documents ("Contact").
        settings: has `/settings/<entity>/fields` (and so custom fields).
        bulk: has `upsert`, `bulk_upsert` and `bulk_destroy`.
        search: `filtered_search/<search>` name.
        lists: the `filter` values whose lists together hold every record ("" = unfiltered list);
            empty for notes, which are listed per parent record only.
    """

    table: str
    entity: str
    model: str | None = None
    settings: bool = False
    bulk: bool = False
    search: str | None = None
    lists: tuple[str, ...] = ()

    @property
    def key_in_description(self) -> bool:
        """No custom fields: the external id is kept as a `[key=value]` line of the description."""
        return not self.settings and self.table in ("task", "appointment", "note")

    @property
    def key_not_stored(self) -> bool:
        """Documents carry no field for an external id: an upload is found again by its record, file
        name and size (files.py)."""
        return self.table == "document"


TABLES: dict[str, TableDef] = {
    t.table: t
    for t in (
        TableDef("contact", "contacts", "Contact", settings=True, bulk=True, search="contact"),
        TableDef("sales_account", "sales_accounts", "SalesAccount", settings=True, bulk=True, search="sales_account"),
        TableDef("deal", "deals", "Deal", settings=True, bulk=True, search="deal"),
        TableDef("sales_activity", "sales_activities", settings=True, lists=("",)),
        TableDef("task", "tasks", lists=("open", "completed")),
        TableDef("appointment", "appointments", lists=("past", "upcoming")),
        TableDef("note", "notes"),
        TableDef("document", "documents"),
    )
}
BY_MODEL = {t.model: t for t in TABLES.values() if t.model}
USER_TABLE = "user"

# Field settings `type` -> our ColumnType vocabulary.
FIELD_TYPES: dict[str, str] = {
    "text": "string",
    "textarea": "memo",
    "email": "string",
    "phone_number": "string",
    "url": "string",
    "number": "decimal",
    "dropdown": "picklist",
    "radio": "picklist",
    "multi_select_dropdown": "multipicklist",
    "checkbox": "boolean",
    "date": "date",
    "datetime": "datetime",
    "lookup": "lookup",
}
# Our type -> the custom field type an admin creates for it (lookups cannot be custom fields here).
CREATE_TYPES: dict[str, str] = {
    "string": "text",
    "memo": "textarea",
    "integer": "number",
    "decimal": "number",
    "money": "number",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "datetime",
    "picklist": "dropdown",
    "multipicklist": "multi_select_dropdown",
}
UI_TYPE_NAMES: dict[str, str] = {
    "text": "Text field",
    "textarea": "Text area",
    "number": "Number",
    "dropdown": "Dropdown",
    "multi_select_dropdown": "Multiselect",
    "checkbox": "Checkbox",
    "date": "Date picker",
    "datetime": "Date and time",
}
TEXT_MAX = 255

# Standard dropdowns whose values are selector ids: written and read as the option's name.
ID_DROPDOWNS: dict[str, str] = {
    "deal_pipeline_id": "deal_pipelines",
    "deal_stage_id": "deal_stages",
    "sales_activity_type_id": "sales_activity_types",
    "task_type_id": "sales_activity_types",
    "industry_type_id": "industry_types",
    "business_type_id": "business_types",
    "status": "task_statuses",  # a task's status: 0 open, 1 completed (sandbox choice)
}
STATIC_CHOICES: dict[str, tuple[dict[str, object], ...]] = {
    "task_statuses": ({"id": 0, "name": "Open"}, {"id": 1, "name": "Completed"}),
}
# Lookup columns and the tables they point at (associations and attendees come in numbered columns).
LOOKUP_TARGETS: dict[str, tuple[str, ...]] = {
    "owner_id": (USER_TABLE,),
    "sales_account_id": ("sales_account",),
    "parent_sales_account_id": ("sales_account",),
    "contact_ids": ("contact",),
    "targetable_id": ("contact", "sales_account", "deal"),
    "attendee_contact_id": ("contact",),
    "attendee_user_id": (USER_TABLE,),
}
# (table, base column) -> (API field, what one item of it holds).
ASSOCIATIONS: dict[tuple[str, str], str] = {
    ("contact", "sales_account_id"): "sales_accounts",
    ("deal", "contact_ids"): "contact_ids",
    ("appointment", "attendee_contact_id"): "appointment_attendees_attributes",
    ("appointment", "attendee_user_id"): "appointment_attendees_attributes",
}
ATTENDEE_TYPES = {"attendee_contact_id": "Contact", "attendee_user_id": "FdMultitenant::User"}
# Required fields of the tables without a field settings endpoint (reference section 5).
STATIC_REQUIRED: dict[str, frozenset[str]] = {
    "task": frozenset({"title", "due_date", "owner_id", "targetable_id"}),
    "appointment": frozenset({"title", "from_date", "end_date"}),
    "note": frozenset({"description", "targetable_id"}),
    "document": frozenset({"file_name", "targetable_id"}),
}
