"""Endpoints, defaults, limits and the type vocabulary of the Salesforce destination.

Everything here follows the real Salesforce REST API and Bulk API 2.0 at v62.0
(shared/reference/salesforce-api.md) except the names marked *invented*: the Tooling-shaped
`CustomObject`/`CustomField`/`StandardValueSet` bodies are shared with the sandbox emulator, and the
`X-Sandbox-Usage-Resets-At` header only exists there.
"""

from __future__ import annotations

from migration_assets.connectors import base
from migration_assets.connectors.http import SessionSettings

SYSTEM = "salesforce"


API_VERSION = "v62.0"
DATA_PATH = f"/services/data/{API_VERSION}"
TOKEN_PATH = "/services/oauth2/token"

# Headers: the daily-usage header on every REST answer, and the sandbox's reset hint (*invented*).
LIMIT_INFO_HEADER = "Sforce-Limit-Info"
RESETS_AT_HEADER = "X-Sandbox-Usage-Resets-At"

# Client-side defaults, overridable through Connection.options.
DEFAULT_BULK_THRESHOLD = 2000  # Salesforce suggests Bulk 2.0 above ~2,000 records
DEFAULT_COLLECTION_SIZE = 200
DEFAULT_CONCURRENCY = 4
DEFAULT_BUDGET_RESERVE = 0
DEFAULT_POLL_INTERVAL = 0.5  # seconds before the first Bulk job poll; doubles up to the max
DEFAULT_POLL_MAX_INTERVAL = 10.0
DEFAULT_BULK_TIMEOUT = 3600.0  # give up waiting on one job after an hour
DEFAULT_POLL_ESTIMATE = 3  # polls per Bulk job assumed when estimating the API budget
DEFAULT_MAX_FILE_BYTES = 25 * 1024 * 1024  # the seed's 25 MB per file
# HttpSession settings (options concurrency, max_concurrency, connect_timeout, read_timeout,
# retry_budget_seconds, rate_per_second as a hard ceiling). Salesforce allows 25 long-running
# (20 s+) requests per org at once; a 200-record Collections call or a 100 MB upload can take long.
HTTP = SessionSettings(
    concurrency=DEFAULT_CONCURRENCY,
    max_concurrency=25,
    connect_timeout=10.0,
    read_timeout=120.0,
    retry_budget_seconds=300.0,
)
DAILY_WINDOW_SECONDS = 24 * 3600.0  # Sforce-Limit-Info counts a rolling 24 h

# Hard limits of the platform (reference sections 6 and 9).
MAX_COLLECTION_SIZE = 200
BULK_MAX_ROWS = 10_000  # one job per internal batch keeps results mapping simple
BULK_MAX_BYTES = 100 * 1024 * 1024  # raw CSV per upload (150 MB after base64 on the server)
BULK_CALLS_PER_JOB = 5  # create, upload, close, successfulResults, failedResults
SOQL_IN_CHARS = 3500  # keep one IN (...) list well under the 4,000-char WHERE limit
SOQL_IN_VALUES = 200

BULK_NULL = "#N/A"  # Bulk CSV cell that sets a field to null (an empty cell is ignored)

# describe `type` -> our ColumnType vocabulary (types we never write keep their own name).
FIELD_TYPES: dict[str, str] = {
    "string": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "encryptedstring": "string",
    "textarea": "memo",
    "picklist": "picklist",
    "combobox": "string",  # free text with suggested values
    "multipicklist": "multipicklist",
    "reference": "lookup",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "double": "decimal",
    "percent": "decimal",
    "currency": "money",
    "int": "integer",
    "long": "integer",
    "id": "id",
}

# Requirement type -> existing column types that satisfy it: a currency field takes decimals too.
COMPATIBLE_TYPES = {**base.COMPATIBLE_TYPES, "decimal": frozenset({"decimal", "money"})}

# Standard picklists edited through StandardValueSet instead of CustomField (Metadata API names).
STANDARD_VALUE_SETS: dict[tuple[str, str], str] = {
    ("Case", "Status"): "CaseStatus",
    ("Case", "Priority"): "CasePriority",
    ("Case", "Origin"): "CaseOrigin",
    ("Case", "Type"): "CaseType",
    ("Case", "Reason"): "CaseReason",
    ("Task", "Status"): "TaskStatus",
    ("Task", "Priority"): "TaskPriority",
    ("Task", "Type"): "TaskType",
    ("AccountContactRelation", "Roles"): "AccountContactMultiRoles",
    ("Account", "Industry"): "Industry",
    ("Account", "Type"): "AccountType",
}

# Objects described when `describe()` gets no table list (a real org has hundreds of objects).
DEFAULT_TABLES = (
    "Account",
    "Contact",
    "AccountContactRelation",
    "Case",
    "Event",
    "Task",
    "Note",
    "ContentVersion",
    "ContentDocumentLink",
    "User",
)
ACTIVITY_TABLES = frozenset({"Task", "Event"})

# Fields that can be set on create but never on update (object reference: createable, not updateable),
# used when the object has not been described by this connector instance.
CREATE_ONLY_FIELDS: dict[str, frozenset[str]] = {
    "AccountContactRelation": frozenset({"AccountId", "ContactId"}),
    "Note": frozenset({"ParentId"}),
    "Task": frozenset({"TaskSubtype"}),
    "ContentVersion": frozenset({"PathOnClient", "VersionData", "FirstPublishLocationId", "ContentLocation"}),
    "ContentDocumentLink": frozenset({"ContentDocumentId", "LinkedEntityId"}),
}

TEXT_MAX = 255
LONG_TEXT_LENGTH = 131_072
