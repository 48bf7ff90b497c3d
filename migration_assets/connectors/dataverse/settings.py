"""Endpoints, defaults, limits and the type vocabulary of the Dataverse destination.

Everything here follows the real Dataverse Web API v9.2 (shared/reference/dataverse-web-api.md)
except the names marked *invented*, which exist only for the sandbox emulator or our own
conventions (solution name, alternate key of document locations).
"""

from __future__ import annotations

from typing import Any

from migration_assets.connectors.http import RateHeaders, SessionSettings
from migration_assets.systems import EnvNames

SYSTEM = "dynamics365"

ENV = EnvNames(
    base_url="DATAVERSE_URL",
    token_url="DATAVERSE_TOKEN_URL",
    client_id="DATAVERSE_CLIENT_ID",
    client_secret="DATAVERSE_CLIENT_SECRET",
)

API_PREFIX = "/api/data/v9.2"

# Headers the reference (section 1) asks for on every call; If-None-Match: null only on GETs.
BASE_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
GET_HEADERS = {"If-None-Match": "null"}

# Client-side defaults, overridable through Connection.options.
DEFAULT_RATE_PER_SECOND = 20.0  # 6,000 per 300 s: for estimates; the client learns the real rate
DEFAULT_CONCURRENCY = 4
# HttpSession settings (options concurrency, max_concurrency, connect_timeout, read_timeout,
# retry_budget_seconds, rate_per_second as a hard ceiling); 52 concurrent requests per user at most
HTTP = SessionSettings(
    concurrency=DEFAULT_CONCURRENCY,
    max_concurrency=52,
    connect_timeout=10.0,
    read_timeout=120.0,  # a $batch of 1,000 changes can take long; the server's own timeout is 2 min
    retry_budget_seconds=300.0,
)
# Service protection headers (reference section 6): the requests left in the 300 s window (the
# window length is not in the answer) and the parallelism the server suggests.
RATE_HEADERS = RateHeaders(remaining="x-ms-ratelimit-burst-remaining-xrm-requests", concurrency="x-ms-dop-hint")
DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 1000  # $batch accepts at most 1,000 operations
MAX_PAGE_SIZE = 5000  # odata.maxpagesize ceiling (and default)
IN_FILTER_CHUNK = 100  # ids per Microsoft.Dynamics.CRM.In filter

# Service protection limits per user and web server (reference section 6).
REQUEST_LIMITS = {
    "requests_per_window": 6000,
    "window_seconds": 300,
    "execution_ms_per_window": 1_200_000,
    "max_concurrency": 52,
}

# Key values containing these characters break key URLs (reference section 3).
KEY_FORBIDDEN_CHARS = frozenset("/<>*%&:\\?+")

# Solution and publisher used for every schema change (*invented* name, real mechanism).
SOLUTION = "cs_migration"
SOLUTION_FRIENDLY_NAME = "Case Status migration"
PUBLISHER_PREFIX = "cs"
LANGUAGE_CODE = 1033

# Document store (Microsoft Graph shapes; the sandbox drive path is *invented*).
DRIVE_PATH = "/graph/v1.0/sites/sandbox/drive"
SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024  # Graph: single PUT up to 4 MiB
UPLOAD_CHUNK = 10 * 320 * 1024  # chunks must be multiples of 320 KiB
# Alternate key of sharepointdocumentlocation rows we create (*invented*, documented in documents.py).
LOCATION_KEY_COLUMN = "cs_externalid"
LOCATION_KEY_NAME = "cs_externalid_key"

# Metadata AttributeType -> our ColumnType vocabulary.
ATTRIBUTE_TYPES: dict[str, str] = {
    "String": "string",
    "Memo": "memo",
    "Integer": "integer",
    "BigInt": "integer",
    "Decimal": "decimal",
    "Double": "decimal",
    "Money": "money",
    "Boolean": "boolean",
    "DateTime": "datetime",
    "Picklist": "picklist",
    "State": "picklist",
    "Status": "picklist",
    "MultiSelectPicklist": "multipicklist",
    "Lookup": "lookup",
    "Customer": "lookup",
    "Owner": "lookup",
}

# AttributeTypes whose options are read through a typed metadata cast.
OPTION_CASTS = {
    "Picklist": "PicklistAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
    "MultiSelectPicklist": "MultiSelectPicklistAttributeMetadata",
}

# Types a requirement may use against an existing column of another, compatible type.
COMPATIBLE_TYPES = {("date", "datetime"), ("decimal", "money"), ("integer", "decimal")}

CASCADE = {
    "Assign": "NoCascade",
    "Delete": "RemoveLink",
    "Merge": "NoCascade",
    "Reparent": "NoCascade",
    "Share": "NoCascade",
    "Unshare": "NoCascade",
}


def label(text: str) -> dict[str, Any]:
    """A metadata Label in the user's language.

    Args:
        text: the label text.

    Returns:
        `{"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}`.
    """
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": LANGUAGE_CODE}]}
