"""Which resources the BackDocket emulator serves, and how their ids are spelled.

The names are the URL segments of `/api/v1/<resource>` (hyphenated where a name has several words).
Ids are strings with a per-resource prefix ("m-00017" for a matter); custom field definitions keep
the reference's "cf_<n>" form. Every resource is read-only: BackDocket's API (like its MCP server)
is only read here, and workflows and merge templates exist only to be exported as JSON.
"""

from __future__ import annotations

# Paged list resources, in dependency order (a record refers only to resources listed before it,
# except intake submissions, which may point at the claim they were converted to).
RESOURCES: tuple[str, ...] = (
    "users",
    "custom-fields",
    "organizations",
    "contacts",
    "matters",
    "claims",
    "intake-submissions",
    "tasks",
    "calendar-events",
    "documents",
    "notes",
    "workflows",
    "merge-templates",
)

ID_PREFIX: dict[str, str] = {
    "users": "u-",
    "custom-fields": "cf_",
    "organizations": "o-",
    "contacts": "c-",
    "matters": "m-",
    "claims": "cl-",
    "intake-submissions": "i-",
    "tasks": "t-",
    "calendar-events": "e-",
    "documents": "d-",
    "notes": "n-",
    "workflows": "w-",
    "merge-templates": "mt-",
}

# parent_type values of tasks, documents and notes -> the resource they name
PARENT_TYPES: dict[str, str] = {"contact": "contacts", "matter": "matters", "claim": "claims"}

# Resources whose records carry a `custom_fields` object keyed by definition id.
WITH_CUSTOM_FIELDS: frozenset[str] = frozenset({"organizations", "contacts", "matters", "claims"})


def make_id(resource: str, number: int) -> str:
    """The id of the `number`-th record of `resource` ("m-00017", "cf_12")."""
    prefix = ID_PREFIX[resource]
    return f"{prefix}{number}" if prefix == "cf_" else f"{prefix}{number:05d}"


def id_number(resource: str, record_id: str) -> int | None:
    """The number inside an id of `resource`, or None when the id is not of that resource."""
    prefix = ID_PREFIX[resource]
    digits = record_id[len(prefix) :]
    return int(digits) if record_id.startswith(prefix) and digits.isdigit() else None
