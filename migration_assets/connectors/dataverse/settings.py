"""Endpoints, defaults, limits and the type vocabulary of the Dataverse destination.

Everything here follows the real Dataverse Web API v9.2 (shared/reference/dataverse-web-api.md)
except the names marked *invented*, which exist only for the sandbox emulator or our own
conventions (default publisher/solution names, alternate key of document locations).

No publisher is built in: the publisher (customization prefix, unique name, friendly name, option
value prefix) and the solution that own every schema change come from the spec's
`destination_options` (see `Publisher.from_options`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migration_assets.connectors.dataverse.system import SYSTEM as DECLARATION
from migration_assets.connectors.http import RateHeaders, SessionSettings
from migration_assets.errors import MigrationError

SYSTEM = DECLARATION.name

ENV = DECLARATION.env

API_PREFIX = DECLARATION.sandbox.api_prefix  # the same path on real orgs

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
# Records per change set inside a `$batch`: a change set is atomic, so a failing record rolls its
# whole set back; the connector then re-sends that set's records one per change set.
DEFAULT_RECORDS_PER_CHANGESET = 10
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

# Tables addressed by primary key (no custom alternate key): the connector upserts them with
# `PATCH /<set>(<guid>)` and a deterministic GUID, uuid5(ID_NAMESPACE, "<table>:<external id>")
# (*our* namespace; a different `id_namespace` option keeps two migrations apart).
ID_NAMESPACE = "3b0f4f8e-6f0a-4d8e-9d57-0c1f8a4e2b61"

# Uniqueidentifier columns that hold a reference Dataverse models without a lookup: the business
# process flow and stage of a record (`processid`, `stageid` on opportunity, lead, incident...).
GUID_REFERENCES = {"processid": "workflow", "stageid": "processstage"}

# Party-list columns of activities and their participationtypemask (reference section 4).
PARTY_MASKS = {
    "from": 1,
    "to": 2,
    "cc": 3,
    "bcc": 4,
    "requiredattendees": 5,
    "optionalattendees": 6,
    "organizer": 7,
    "resources": 10,
    "customers": 11,
}
# Tables an attendee's e-mail is resolved against, in order, and the column holding the e-mail.
PARTY_EMAIL_COLUMNS = {"systemuser": "internalemailaddress", "contact": "emailaddress1"}

# Key values containing these characters break key URLs (reference section 3).
KEY_FORBIDDEN_CHARS = frozenset("/<>*%&:\\?+")

LANGUAGE_CODE = 1033
# Real rule: a publisher's option value prefix is 10000-99999; custom option values start at
# prefix x 10,000 (10000 -> 100000000, 100000001, ...).
DEFAULT_OPTION_VALUE_PREFIX = 10000
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")  # real: 2-8 alphanumerics, starting with a letter

# Document store (Microsoft Graph shapes; the sandbox drive path is *invented*).
DRIVE_PATH = "/graph/v1.0/sites/sandbox/drive"
SIMPLE_UPLOAD_MAX = 4 * 1024 * 1024  # Graph: single PUT up to 4 MiB
UPLOAD_CHUNK = 10 * 320 * 1024  # chunks must be multiples of 320 KiB
# Alternate key of sharepointdocumentlocation rows we create, under the publisher's prefix
# (*invented* convention, documented in documents.py): `<prefix>_externalid`, key `<prefix>_externalid_key`.
LOCATION_KEY_SUFFIX = "externalid"

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
    "PartyList": "partylist",
    "Uniqueidentifier": "uniqueidentifier",
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
COMPATIBLE_TYPES = {("date", "datetime"), ("decimal", "money"), ("integer", "decimal"), ("string", "uniqueidentifier")}

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


@dataclass(frozen=True)
class Publisher:
    """The publisher and solution that own every table, column, key and option we create.

    Attributes:
        prefix: customization prefix (`bd` -> tables and columns `bd_...`).
        unique_name: publisher unique name.
        friendly_name: publisher display name.
        option_value_prefix: customizationoptionvalueprefix (10000-99999).
        solution: solution unique name (sent as `MSCRM.SolutionUniqueName`).
        solution_friendly_name: solution display name.
    """

    prefix: str
    unique_name: str
    friendly_name: str
    option_value_prefix: int
    solution: str
    solution_friendly_name: str

    @property
    def first_option_value(self) -> int:
        """The first custom option value: option value prefix x 10,000."""
        return self.option_value_prefix * 10_000

    def owns(self, name: str) -> bool:
        """Whether `name` is a logical name under this publisher's prefix (`<prefix>_<lowercase>`)."""
        return bool(re.match(rf"^{re.escape(self.prefix)}_[a-z0-9_]+$", name))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Publisher | None:
        """The publisher named by connector options, or None when `publisher_prefix` is not set.

        Options (a spec's `destination_options`):
            publisher_prefix: the customization prefix, e.g. `bd` (required for any schema change).
            publisher: unique name, or {unique_name, friendly_name, option_value_prefix}; defaults:
                `<prefix>publisher`, the unique name, 10000.
            solution: unique name, or {unique_name, friendly_name}; default `<prefix>_migration`.

        Raises:
            MigrationError: a prefix or option value prefix Dataverse would refuse.
        """
        prefix = options.get("publisher_prefix")
        if prefix is None:
            return None
        prefix = str(prefix)
        if not _PREFIX_RE.match(prefix) or prefix.startswith("mscrm"):
            raise MigrationError(
                f"dynamics365: publisher_prefix {prefix!r} must be 2-8 lower-case letters or digits, starting with "
                "a letter and not with 'mscrm'"
            )
        publisher = _named(options.get("publisher"), f"{prefix}publisher")
        solution = _named(options.get("solution"), f"{prefix}_migration")
        option_prefix = int(publisher.get("option_value_prefix", DEFAULT_OPTION_VALUE_PREFIX))
        if not 10000 <= option_prefix <= 99999:
            raise MigrationError(f"dynamics365: publisher option_value_prefix {option_prefix} is not in 10000-99999")
        return cls(
            prefix=prefix,
            unique_name=str(publisher["unique_name"]),
            friendly_name=str(publisher.get("friendly_name") or publisher["unique_name"]),
            option_value_prefix=option_prefix,
            solution=str(solution["unique_name"]),
            solution_friendly_name=str(solution.get("friendly_name") or solution["unique_name"]),
        )


def _named(value: Any, default: str) -> dict[str, Any]:
    """An option given as a bare unique name or a mapping, as a mapping with `unique_name`."""
    if value is None:
        return {"unique_name": default}
    if isinstance(value, str):
        return {"unique_name": value}
    if isinstance(value, Mapping) and value.get("unique_name"):
        return dict(value)
    raise MigrationError(f"dynamics365: expected a unique name or a mapping with unique_name, got {value!r}")
