"""BackDocket endpoints, limits and the catalog of source objects.

BackDocket publishes no REST API; these paths and fields are the design of
shared/reference/source-systems.md section 2 (OAuth client credentials like its MCP server), shared
by the emulator, this connector and the specs. Object names are snake_case (they become Dagster
asset keys); `PATHS` maps each to its URL segment under `/api/v1/`.

`CATALOG` types every field as the API renders it (int, str, bool, float, json, datetime, date) and
names the parents a sample must bring along. Nested values (phones, addresses, attendees,
custom_fields, status_history, answers, workflow conditions and steps) are `json`: the extract keeps
them as JSON text and staging parses them. Money is decimal text ("75000.00"), typed `float`.
"""

from __future__ import annotations

from datetime import timedelta

from migration_assets.connectors.base import SourceField, SourceObject
from migration_assets.connectors.http import RateHeaders, SessionSettings
from migration_assets.systems import EnvNames

SYSTEM = "backdocket"
ENV = EnvNames.oauth("BACKDOCKET")

API_PREFIX = "/api/v1"
TOKEN_PATH = "/oauth/token"
PAGE_SIZE = 200  # the largest page the API serves (`limit`)
# 120 requests/minute per client: a bucket of 5 refilled at 1.9/s never exceeds 119 in any minute
RATE_PER_SECOND = 1.9
BURST = 5
CONCURRENCY = 2
# HttpSession settings (Connection.options may override them by name); the rate is learnt from the
# API's 429s, RATE_PER_SECOND above only describes the documented limit
HTTP = SessionSettings(
    concurrency=CONCURRENCY, max_concurrency=8, connect_timeout=10.0, read_timeout=60.0, retry_budget_seconds=300.0
)
# a delta re-reads this much before its checkpoint: records stamped just before it but committed
# after it (clock skew, long transactions) are not missed; re-reads are de-duplicated by id
DELTA_OVERLAP = timedelta(minutes=5)
DOWNLOAD_CHUNK = 64 * 1024
ONSITE_REASON = "held in the onsite warehouse"

MATTER_STATUSES = ("Open", "Pending", "Closed")
CLAIM_STATUSES = (
    *("Active w/Contract", "Chase Call", "No Decision", "Referral Pending"),
    *("Closed", "Rejected", "Referred"),  # the closed ones
)
TASK_STATUSES = ("Open", "Completed", "Cancelled")
PRIORITIES = ("Low", "Normal", "High", "Urgent")
PARENT_TYPES = ("contact", "matter", "claim")
CUSTOM_FIELD_TYPES = ("text", "number", "date", "picklist", "multi_select", "formatted_text", "computed")

# catalog name -> URL segment under /api/v1
PATHS: dict[str, str] = {
    "users": "users",
    "custom_fields": "custom-fields",
    "organizations": "organizations",
    "contacts": "contacts",
    "matters": "matters",
    "claims": "claims",
    "intake_submissions": "intake-submissions",
    "tasks": "tasks",
    "calendar_events": "calendar-events",
    "documents": "documents",
    "notes": "notes",
    "workflows": "workflows",
    "merge_templates": "merge-templates",
}
OBJECT_OF_PATH = {path: name for name, path in PATHS.items()}
FILE_OBJECTS = frozenset({"documents"})


def _f(name: str, type_: str = "str", values: tuple[str, ...] = (), description: str = "") -> SourceField:
    return SourceField(name, type_, values, description)  # type: ignore[arg-type]


STAMPS = (
    _f("created_at", "datetime", description="may lack an offset (then UTC)"),
    _f("updated_at", "datetime"),
    _f("deleted_at", "datetime", description="always null in listings; deletions come from /deleted"),
)
CUSTOM = _f(
    "custom_fields",
    "json",
    description='{"cf_<n>": value} by definition id: a list for multi_select, HTML for formatted_text, '
    '{"formula", "value"} for computed',
)


def _obj(name: str, *fields: SourceField, parents: dict[str, str] | None = None) -> SourceObject:
    return SourceObject(
        name=name, fields=(_f("id"), *fields, *STAMPS), id_field="id", updated_field="updated_at", parents=parents or {}
    )


def _polymorphic(what: str) -> tuple[SourceField, SourceField]:
    return (
        _f("parent_type", values=PARENT_TYPES),
        _f("parent_id", description=f"id of the {what}'s contact, matter or claim (by parent_type)"),
    )


CATALOG: dict[str, SourceObject] = {
    "users": _obj(
        "users",
        _f("email", description="as BackDocket shows it; letter case may differ from upn"),
        _f("upn", description="the Microsoft sign-in name, lower case"),
        _f("display_name"),
        _f("role", values=("admin", "attorney", "paralegal", "case_manager", "intake_specialist")),
        _f("active", "bool"),
        _f("licensed", "bool", description="holds a paid seat; false = an orphaned owner candidate"),
    ),
    "custom_fields": _obj(
        "custom_fields",
        _f("entity", values=("contacts", "organizations", "matters", "claims")),
        _f("label"),
        _f("type", values=CUSTOM_FIELD_TYPES),
        _f("options", "json", description="picklist and multi_select labels"),
        _f("formula", description="computed fields only"),
    ),
    "organizations": _obj(
        "organizations",
        _f("name"),
        _f("org_type", values=("Insurance Carrier", "Law Firm", "Medical Provider", "Corporate Client", "Government")),
        _f("address", "json", description="{line1, city, state, postal_code}"),
        CUSTOM,
    ),
    "contacts": _obj(
        "contacts",
        _f("full_name", description="one word, 'Last, First', suffixes or a firm name occur"),
        _f("email"),
        _f("phones", "json", description="[{label, number}]"),
        _f("organization_id", description="may name a missing or deleted organization"),
        _f("organization_name"),
        _f("contact_type"),
        _f("is_organization", "bool", description="the contact is a firm or company (an account)"),
        CUSTOM,
        parents={"organization_id": "organizations"},
    ),
    "matters": _obj(
        "matters",
        _f("matter_number"),
        _f("name"),
        _f("matter_type", description="more than 15 distinct types"),
        _f("status", values=MATTER_STATUSES, description="legacy values occur"),
        _f("responsible_user_id"),
        _f("court_jurisdiction"),
        _f("opening_date", "date"),
        _f("closing_date", "date"),
        _f("client_contact_id"),
        CUSTOM,
        parents={"responsible_user_id": "users", "client_contact_id": "contacts"},
    ),
    "claims": _obj(
        "claims",
        _f("matter_id", description="null, or a deleted matter, occurs"),
        _f("claim_number"),
        _f("claim_type"),
        _f("status", values=CLAIM_STATUSES, description="legacy values occur"),
        _f("side", values=("plaintiff", "defense")),
        _f("claimant_contact_id"),
        _f("estimated_value", "float", description="decimal text; revenue claims = plaintiff with a value"),
        _f("settlement_amount", "float", description="decimal text"),
        _f("close_date", "date"),
        _f("active", "bool"),
        _f("status_history", "json", description="[{status, changed_at, changed_by}]"),
        CUSTOM,
        parents={"matter_id": "matters", "claimant_contact_id": "contacts"},
    ),
    "intake_submissions": _obj(
        "intake_submissions",
        _f("prospect_name"),
        _f("email"),
        _f("phone"),
        _f("referral_source"),
        _f("case_type_interest"),
        _f("initial_contact_date", "date"),
        _f("assigned_user_id"),
        _f("converted_claim_id", description="set once converted to a claim (then not a new lead)"),
        _f("answers", "json"),
        parents={"assigned_user_id": "users", "converted_claim_id": "claims"},
    ),
    "tasks": _obj(
        "tasks",
        _f("subject"),
        _f("description"),
        _f("due", "datetime"),
        _f("priority", values=PRIORITIES),
        _f("status", values=TASK_STATUSES),
        _f("assignee_email", description="unknown, inactive or differently cased emails occur"),
        *_polymorphic("task"),
    ),
    "calendar_events": _obj(
        "calendar_events",
        _f("title"),
        _f(
            "event_type", values=("Court Date", "Deposition", "Client Meeting", "Mediation", "Firm Meeting", "Deadline")
        ),
        _f("start", "datetime", description="without offset when time_zone is null"),
        _f("end", "datetime", description="may be before start"),
        _f("all_day", "bool"),
        _f("time_zone", description="IANA zone name, or null"),
        _f("location"),
        _f("attendees", "json", description="[{email, name, internal}]; internal false = external invitee"),
        _f("matter_id"),
        _f("claim_id"),
        parents={"matter_id": "matters", "claim_id": "claims"},
    ),
    "documents": _obj(
        "documents",
        *_polymorphic("document"),
        _f("file_name"),
        _f("folder"),
        _f("mime_type"),
        _f("size_bytes", "int"),
        _f("storage", values=("cloud", "onsite_warehouse"), description="onsite content cannot be downloaded"),
        _f("sha256"),
    ),
    "notes": _obj(
        "notes",
        *_polymorphic("note"),
        _f("body_html", description="rich text; sanitise before loading"),
        _f("author_id"),
        _f("document_ids", "json", description="documents previewed inline"),
        parents={"author_id": "users", "document_ids": "documents"},
    ),
    "workflows": _obj(
        "workflows",
        _f("name"),
        _f("claim_type"),
        _f("trigger", "json"),
        _f("conditions", "json"),
        _f("steps", "json"),
        _f("active", "bool"),
    ),
    "merge_templates": _obj(
        "merge_templates",
        _f("name"),
        _f("entity"),
        _f("output_format"),
        _f("merge_fields", "json"),
        _f("body_html"),
    ),
}

# The IETF draft RateLimit header fields the API (the emulator: ours) sends on every answer.
RATE_HEADERS = RateHeaders(remaining="RateLimit-Remaining", limit="RateLimit-Limit", policy="RateLimit-Policy")
