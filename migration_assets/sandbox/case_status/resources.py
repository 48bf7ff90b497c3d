"""Which resources the Case Status emulator serves, and the `/reporting/cases` row shape.

The resource names are the URL segments of `/v1/api/<resource>` (the real API uses hyphens where
our invented resources have several words). `/reporting/cases` rows use the real spaced keys seen
in the public Airbyte connector ("Internal ID", "Case Name", nested "Attorneys" and "Clients").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Paged list resources (`GET /v1/api/<name>`), in load order.
LIST_RESOURCES: tuple[str, ...] = (
    "users",
    "practice-areas",
    "clients",
    "cases",
    "matters",
    "case-events",
    "messages",
    "files",
    "calendar-events",
    "tasks",
    "notes",
    "time-entries",
    "nps-responses",
    "automations",
)
# A single JSON object at `GET /v1/api/portal-config`, stored as id 1.
SINGLETON = "portal-config"
RESOURCES: tuple[str, ...] = (*LIST_RESOURCES, SINGLETON)

# Resources whose records carry `case_id`: the only ones accepting the `case_id` filter.
CASE_SCOPED: frozenset[str] = frozenset(LIST_RESOURCES) - {"users", "practice-areas", "clients", "cases", "automations"}


def reporting_row(
    case: Mapping[str, Any],
    *,
    users: Mapping[int, Mapping[str, Any]],
    clients: Mapping[int, Mapping[str, Any]],
    practice_areas: Mapping[int, Mapping[str, Any]],
    documents: int,
    messages: int,
) -> dict[str, Any]:
    """One `/reporting/cases` row with the real spaced keys.

    Args:
        case: the case document.
        users, clients, practice_areas: documents by id, for names and emails (missing ids give None).
        documents, messages: live files and messages of the case.

    Returns:
        The reporting row.
    """
    attorney = users.get(case.get("primary_attorney_id") or -1, {})
    attorneys: dict[str, Any] = {}
    for n, uid in enumerate(case.get("attorney_ids") or [], start=1):
        user = users.get(uid, {})
        attorneys |= {
            f"Attorney {n} Id": uid,
            f"Attorney {n} Email": user.get("email"),
            f"Attorney {n} First Name": user.get("first_name"),
            f"Attorney {n} Last Name": user.get("last_name"),
        }
    people: dict[str, Any] = {}
    for n, cid in enumerate(case.get("client_ids") or [], start=1):
        client = clients.get(cid, {})
        people |= {
            f"Client {n} ID": cid,
            f"Client {n} Email": client.get("email"),
            f"Client {n} First Name": client.get("first_name"),
            f"Client {n} Last Name": client.get("last_name"),
            f"Client {n} Cell Phone": client.get("cell_phone"),
        }
    row: dict[str, Any] = {
        "Internal ID": case["id"],
        "Integration ID": case.get("integration_id"),
        "Case Name": case.get("name"),
        "Practice Area": practice_areas.get(case.get("practice_area_id") or -1, {}).get("display_name"),
        "Status": case.get("status"),
        "Incident Date": case.get("case_date"),
        "Case Created At": case.get("created_at"),
        "Case Closed At": case.get("closed_at"),
        "Case Deleted At": case.get("deleted_at"),
        "Last Updated": case.get("updated_at"),
        "Attorney Id": case.get("primary_attorney_id"),
        "Attorney Email": attorney.get("email"),
        "Attorney First Name": attorney.get("first_name"),
        "Attorney Last Name": attorney.get("last_name"),
        "Attorneys": attorneys,
        "Clients": people,
        "Most Recent NPS": case.get("most_recent_nps"),
        "Total Documents": documents,
        "Total Activities Message": messages,
    }
    for n, uid in enumerate((case.get("case_manager_ids") or [])[:2], start=1):
        user = users.get(uid, {})
        row |= {
            f"Case Manager {n} ID": uid,
            f"Case Manager {n} First Name": user.get("first_name"),
            f"Case Manager {n} Last Name": user.get("last_name"),
        }
    return row
