"""Case Status endpoints, limits and the catalog of source objects.

Object names are snake_case (they become Dagster asset keys); `PATHS` maps each to its URL under
`/v1/api/`. The field lists follow the real messages/files/reporting fields of the public Airbyte
connector plus our emulator's invented resources (shared/reference/source-systems.md section 1).
`CATALOG` also holds the views the connector derives from those resources (`derived.py`: inline
images of notes, NPS answers per client), which no endpoint serves.
"""

from __future__ import annotations

from migration_assets.connectors.base import SourceField, SourceObject
from migration_assets.connectors.case_status.derived import DERIVED
from migration_assets.connectors.http import SessionSettings

API_PREFIX = "/v1/api"
PAGE_SIZE = 100  # the largest page the API serves
RATE_PER_SECOND = 5.0  # the documented sustained rate, for estimates (the client learns the real one)
BURST = 10
CONCURRENCY = 2
# HttpSession settings (Connection.options may override them by name); no fixed client-side rate
HTTP = SessionSettings(
    concurrency=CONCURRENCY, max_concurrency=16, connect_timeout=10.0, read_timeout=60.0, retry_budget_seconds=300.0
)
DOWNLOAD_CHUNK = 64 * 1024

CASE_STATUSES = ("Intake", "Active", "Pending", "On Hold", "Closed", "Closed Won", "Closed Lost")
PRIORITIES = ("Low", "Normal", "High", "Urgent")

# catalog name -> URL segment under /v1/api
PATHS: dict[str, str] = {
    "users": "users",
    "practice_areas": "practice-areas",
    "clients": "clients",
    "cases": "cases",
    "matters": "matters",
    "case_events": "case-events",
    "messages": "messages",
    "files": "files",
    "calendar_events": "calendar-events",
    "tasks": "tasks",
    "notes": "notes",
    "time_entries": "time-entries",
    "nps_responses": "nps-responses",
    "automations": "automations",
    "portal_config": "portal-config",
}
SINGLETONS = frozenset({"portal_config"})  # one JSON object, not a paged list
OBJECT_OF_PATH = {path: name for name, path in PATHS.items()}


def _f(name: str, type_: str = "str", values: tuple[str, ...] = (), description: str = "") -> SourceField:
    return SourceField(name, type_, values, description)  # type: ignore[arg-type]


STAMPS = (
    _f("created_at", "datetime", description="may lack an offset (then UTC)"),
    _f("updated_at", "datetime"),
)


def _obj(name: str, *fields: SourceField, parents: dict[str, str] | None = None) -> SourceObject:
    return SourceObject(name=name, fields=(_f("id", "int"), *fields, *STAMPS), parents=parents or {})


API_CATALOG: dict[str, SourceObject] = {
    "users": _obj(
        "users",
        _f("email"),
        _f("first_name"),
        _f("last_name"),
        _f("role", values=("attorney", "case_manager", "paralegal", "admin")),
        _f("active", "bool"),
    ),
    "practice_areas": _obj(
        "practice_areas",
        _f("display_name"),
        _f("integration_mappings", "json"),
        _f("stages", "json", description="[{id, display_name, order}]; the case statuses of the area"),
    ),
    "clients": _obj(
        "clients",
        _f("first_name"),
        _f("last_name"),
        _f("email"),
        _f("cell_phone"),
        _f("birth_date", description="date in one of several formats"),
        _f("company", description="firm name; the only source of accounts"),
        _f("portal_status", values=("invited", "active", "never")),
        _f("owner_user_id", "int"),
        _f("custom_properties", "json", description="object, or a JSON string (sometimes invalid)"),
        parents={"owner_user_id": "users"},
    ),
    "cases": _obj(
        "cases",
        _f("readable_id"),
        _f("integration_id"),
        _f("name"),
        _f("practice_area_id", "int"),
        _f("status", values=CASE_STATUSES, description="stage name; practice areas add custom stages"),
        _f("stage_id", "int"),
        _f("priority", values=PRIORITIES),
        _f("on_hold", "bool"),
        _f("case_date", "date"),
        _f("closed_at", "datetime"),
        _f("case_value", description="decimal string, sometimes '$1,200'"),
        _f("expected_close_date", "date"),
        _f("primary_attorney_id", "int"),
        _f("attorney_ids", "json"),
        _f("case_manager_ids", "json"),
        _f("paralegal_id", "int"),
        _f("client_ids", "json", description="primary client first"),
        _f("portal_access", "bool"),
        _f("most_recent_nps", "int"),
        _f("custom_properties", "json"),
        parents={
            "client_ids": "clients",
            "practice_area_id": "practice_areas",
            "primary_attorney_id": "users",
            "paralegal_id": "users",
        },
    ),
    "matters": _obj(
        "matters",
        _f("case_id", "int"),
        _f("name"),
        _f("billing_code"),
        _f("status"),
        _f("opened_on", "date"),
        _f("closed_on", "date"),
        _f("custom_properties", "json"),
        parents={"case_id": "cases"},
    ),
    "case_events": _obj(
        "case_events",
        _f("case_id", "int"),
        _f(
            "event_type",
            values=("stage_changed", "placed_on_hold", "removed_from_hold", "closed", "reopened"),
        ),
        _f("from_stage"),
        _f("to_stage"),
        _f("actor_user_id", "int"),
        _f("occurred_at", "datetime"),
        parents={"case_id": "cases", "actor_user_id": "users"},
    ),
    "messages": _obj(
        "messages",
        _f("type", values=("client_message", "call_log", "meeting_note", "case_update")),
        _f("content", description="may contain HTML"),
        _f("sent_at", "datetime"),
        _f("readable_id"),
        _f("integration_id"),
        _f("sender_name"),
        _f("case_id", "int"),
        _f("direction", values=("inbound", "outbound")),
        _f("channel", values=("app", "sms", "email")),
        _f("sender_user_id", "int"),
        _f("sender_client_id", "int"),
        parents={"case_id": "cases", "sender_user_id": "users", "sender_client_id": "clients"},
    ),
    "files": _obj(
        "files",
        _f("url"),
        _f("size", "int"),
        _f("case_id", description="a string in the real API (e.g. '5012')"),
        _f("extension"),
        _f("file_name", description="may contain '/' or '..'"),
        _f("content_type"),
        _f("case_readable_id"),
        _f("case_integration_id"),
        _f("case_practice_area"),
        _f("folder_path"),
        parents={"case_id": "cases"},
    ),
    "calendar_events": _obj(
        "calendar_events",
        _f("case_id", "int"),
        _f("subject"),
        _f("start", "datetime"),
        _f("end", "datetime"),
        _f("location"),
        _f("attendees", "json"),
        _f("description"),
        parents={"case_id": "cases"},
    ),
    "tasks": _obj(
        "tasks",
        _f("case_id", "int"),
        _f("subject"),
        _f("type", values=("Call", "Email", "To-do", "Follow-up")),
        _f("status", values=("Not Started", "In Progress", "Completed")),
        _f("priority", values=("Low", "Normal", "High")),
        _f("due", "date"),
        _f("owner_user_id", "int"),
        parents={"case_id": "cases", "owner_user_id": "users"},
    ),
    "notes": _obj(
        "notes",
        _f("case_id", "int"),
        _f("body_html", description="rich text; sanitise before loading"),
        _f("author_user_id", "int"),
        parents={"case_id": "cases", "author_user_id": "users"},
    ),
    "time_entries": _obj(
        "time_entries",
        _f("case_id", "int"),
        _f("user_id", "int"),
        _f("entry_date", "date"),
        _f("hours", "float"),
        _f("rate", "float"),
        _f("amount", "float"),
        _f("description"),
        parents={"case_id": "cases", "user_id": "users"},
    ),
    "nps_responses": _obj(
        "nps_responses",
        _f("client_id", "int"),
        _f("case_id", "int"),
        _f("stage_name"),
        _f("score", "int", description="0-10 documented; larger values occur"),
        _f("comment"),
        _f("responded_at", "datetime"),
        parents={"client_id": "clients", "case_id": "cases"},
    ),
    "automations": _obj(
        "automations",
        _f("name"),
        _f("practice_area_id", "int"),
        _f("trigger", "json"),
        _f("actions", "json"),
        _f("active", "bool"),
        parents={"practice_area_id": "practice_areas"},
    ),
    "portal_config": _obj(
        "portal_config", _f("branding", "json"), _f("features", "json"), _f("access_rules", "json")
    ),
}
# Every object a spec may read: the API's resources and the connector's derived views.
CATALOG: dict[str, SourceObject] = {**API_CATALOG, **DERIVED}
