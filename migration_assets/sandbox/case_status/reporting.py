"""The two reporting endpoints of the Case Status emulator, with every field the public connector reads.

Real (the public Airbyte connector, shared/reference/source-systems.md S3): `GET /reporting/cases`
and `GET /reporting/firm`, both `{"results": [...]}` paged by `page[number]` (from 1) and `size`
(the connector sends `size=100` for cases and no size for the firm report, which it pages by 10);
spaced keys. Cases rows carry every property of the connector's schema: the case (Internal ID,
Integration ID, Case Name, Practice Area, Status, Incident Date, Case Created/Closed/Deleted At, Last
Updated, Case Activated Date), the primary attorney (Attorney Id/Email/First/Last Name) and up to
four in `Attorneys`, the primary client (Client First/Last Name) and every client in `Clients`
(ID, Email, First/Last Name, Cell Phone, Device Type, Last Opened, Last Used Web/iOS/Android App,
Mobile OS Version, Mobile App Version), Case Manager 1..2, Most Recent NPS, Review Sent At, Target
Language, Last Login, Last Message Sent/Received, Most Recent Message Sent At, and the totals
(Documents, Documents Sent/Received, Activities, Activities Message/Login/Engagement, Checklist
Items, Checklist Items Completed). The firm report carries `Average Response Time` and `Cases Per
Active User` (strings in the connector's schema).

Our choices (nothing public says how these are computed or formatted): one firm row (the firm name
from the portal branding, live cases, active users and clients beside the two real keys); Average
Response Time is the mean hours from a client's inbound message to the firm's next outbound message
on the same case, as "<hours> hours"; Cases Per Active User is live cases over active users with
one decimal; documents in the "Intake" folder count as received from the client, the others as
sent; a message is one message activity, a client who is not "never" on the portal opened the app
(login activity) on each of its cases once; engagement = messages + logins; the app details of a
client (device, versions, last used) follow from its id and portal status; a case's checklist has
3-7 items, all completed once the case is closed; Review Sent At is the closing time of a closed
case with an NPS answer; Target Language is Spanish for one case in 7, else English; a case's
portal was activated at its creation when it has portal access.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from migration_assets.sandbox import _documents as documents
from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox.case_status import store
from migration_assets.sandbox.case_status.params import parse
from migration_assets.sandbox.case_status.resources import reporting_row

Handler = Callable[[Request], Awaitable[Response]]
DEVICES = ("iOS", "Android", "Web")
RECEIVED_FOLDER = "Intake"


def routes(state: SqliteState, guarded: Callable[[Handler], Handler]) -> list[Route]:
    """`/reporting/cases` and `/reporting/firm`, each behind the app's guard (auth, rate limit, 400)."""
    reports = Reports(state)
    return [
        Route("/reporting/cases", guarded(reports.cases), methods=["GET"]),
        Route("/reporting/firm", guarded(reports.firm), methods=["GET"]),
    ]


class Reports:
    """The reporting handlers over one state file."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state

    async def cases(self, request: Request) -> Response:
        query = parse(request)
        return JSONResponse({"results": await run_in_threadpool(self._cases, query.number, query.size)})

    async def firm(self, request: Request) -> Response:
        query = parse(request)
        return JSONResponse({"results": await run_in_threadpool(self._firm, query.number, query.size)})

    def _cases(self, number: int, size: int) -> list[dict[str, Any]]:
        with self.state.connect() as conn:
            cases = [json.loads(d) for d in store.page_text(conn, "cases", number=number, size=size)]
            ids = [c["id"] for c in cases]
            users = _by_id(conn, "users", {u for c in cases for u in _people(c)})
            clients = _by_id(conn, "clients", {i for c in cases for i in c.get("client_ids") or []})
            areas = _by_id(conn, "practice-areas", {c.get("practice_area_id") for c in cases} - {None})
            messages = _message_stats(conn, ids)
            documents = _document_stats(conn, ids)
            answered = _nps_cases(conn, ids)
        return [
            case_row(
                case,
                users=users,
                clients=clients,
                practice_areas=areas,
                messages=messages.get(case["id"], {}),
                documents=documents.get(case["id"], (0, 0)),
                nps_answered=case["id"] in answered,
            )
            for case in cases
        ]

    def _firm(self, number: int, size: int) -> list[dict[str, Any]]:
        if number > 1:
            return []
        with self.state.connect() as conn:
            return [firm_row(conn)][:size]


def case_row(
    case: Mapping[str, Any],
    *,
    users: Mapping[int, Mapping[str, Any]],
    clients: Mapping[int, Mapping[str, Any]],
    practice_areas: Mapping[int, Mapping[str, Any]],
    messages: Mapping[str, Any],
    documents: tuple[int, int],
    nps_answered: bool,
) -> dict[str, Any]:
    """One `/reporting/cases` row with every key of the connector's schema (see module docstring).

    Args:
        case: the case document.
        users, clients, practice_areas: documents by id (missing ids give None values).
        messages: {"count", "inbound", "outbound"} with the latest inbound/outbound sent_at.
        documents: (sent, received) live files of the case.
        nps_answered: whether a client answered an NPS survey on this case.
    """
    row = reporting_row(
        case,
        users=users,
        clients=clients,
        practice_areas=practice_areas,
        documents=sum(documents),
        messages=int(messages.get("count", 0)),
    )
    people = [clients.get(cid, {}) for cid in case.get("client_ids") or []]
    for n, (cid, client) in enumerate(zip(case.get("client_ids") or [], people, strict=True), start=1):
        row["Clients"] |= _app_fields(n, cid, client)
    primary = people[0] if people else {}
    opened = [c.get("updated_at") for c in people if c and c.get("portal_status") != "never"]
    logins = len(opened)
    closed = bool(case.get("closed_at"))
    items = 3 + int(case["id"]) % 5
    latest = [m for m in (messages.get("inbound"), messages.get("outbound")) if m]
    row |= {
        "Client First Name": primary.get("first_name"),
        "Client Last Name": primary.get("last_name"),
        "Case Activated Date": case.get("created_at") if case.get("portal_access") else None,
        "Last Login": max(opened) if opened else None,
        "Review Sent At": case.get("closed_at") if closed and nps_answered else None,
        "Target Language": "Spanish" if int(case["id"]) % 7 == 0 else "English",
        "Last Message Sent": messages.get("outbound"),
        "Last Message Received": messages.get("inbound"),
        "Most Recent Message Sent At": max(latest) if latest else None,
        "Total Documents Sent": documents[0],
        "Total Documents Received": documents[1],
        "Total Activities Login": logins,
        "Total Activities Engagement": int(messages.get("count", 0)) + logins,
        "Total Activities": int(messages.get("count", 0)) + logins,
        "Total Checklist Items": items,
        "Total Checklist Items Completed": items if closed else int(case["id"]) % items,
    }
    attorneys = row["Attorneys"]
    row["Attorneys"] = {k: v for k, v in attorneys.items() if int(k.split()[1]) <= 4}
    return row


def _app_fields(n: int, client_id: int, client: Mapping[str, Any]) -> dict[str, Any]:
    """How client `n` uses the portal app (our deterministic choice; empty when never on the portal)."""
    uses = bool(client) and client.get("portal_status") not in (None, "never")
    device = DEVICES[int(client_id) % len(DEVICES)] if uses else None
    seen = client.get("updated_at") if uses else None
    return {
        f"Client {n} Device Type": device,
        f"Client {n} Last Opened": seen,
        f"Client {n} Last Used Web App": seen if device == "Web" else None,
        f"Client {n} Last Used iOS App": seen if device == "iOS" else None,
        f"Client {n} Last Used Android App": seen if device == "Android" else None,
        f"Client {n} Mobile OS Version": None if device in (None, "Web") else f"{14 + int(client_id) % 4}.0",
        f"Client {n} Mobile App Version": None if device in (None, "Web") else f"3.{int(client_id) % 9}.0",
    }


def firm_row(conn: sqlite3.Connection) -> dict[str, Any]:
    """The firm report's one row (see module docstring)."""
    cases = _count(conn, "select count(*) from records where resource = 'cases' and deleted_at is null")
    active = _count(
        conn,
        "select count(*) from records where resource = 'users' and deleted_at is null "
        "and json_extract(doc, '$.active') = 1",
    )
    clients = _count(conn, "select count(*) from records where resource = 'clients' and deleted_at is null")
    portal = documents.get(conn, "portal-config", 1) or {}
    hours = _average_response_hours(conn)
    return {
        "Firm Name": (portal.get("branding") or {}).get("firm_name"),
        "Average Response Time": None if hours is None else f"{hours:.1f} hours",
        "Cases Per Active User": f"{cases / active:.1f}" if active else None,
        "Active Cases": cases,
        "Active Users": active,
        "Total Clients": clients,
    }


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0])


_MESSAGES = """
with m as (
    select cast(json_extract(doc, '$.case_id') as integer) as cid, json_extract(doc, '$.direction') as dir,
           replace(substr(json_extract(doc, '$.sent_at'), 1, 19), 'T', ' ') as at
    from records where resource = 'messages' and deleted_at is null and json_extract(doc, '$.case_id') is not null
)
"""


def _average_response_hours(conn: sqlite3.Connection) -> float | None:
    """Mean hours from an inbound message to the next outbound message of the same case."""
    row = conn.execute(
        _MESSAGES + "select avg((julianday(reply) - julianday(at)) * 24) from ("
        "  select i.at, (select min(o.at) from m o where o.cid = i.cid and o.dir = 'outbound' and o.at > i.at)"
        "  as reply from m i where i.dir = 'inbound') where reply is not null"
    ).fetchone()
    return None if row[0] is None else round(float(row[0]), 1)


def _per_case(
    conn: sqlite3.Connection, resource: str, case_ids: list[int], columns: str, *, by: str = "", args: tuple = ()
) -> list[sqlite3.Row]:
    """`columns` of `resource`'s live records of `case_ids`, grouped by case (`cid`) and then `by`;
    `args` bind the placeholders in `columns`."""
    if not case_ids:
        return []
    marks = ",".join("?" * len(case_ids))
    return conn.execute(
        f"select cast(json_extract(doc, '$.case_id') as integer) as cid, {columns} from records "
        f"where resource = ? and deleted_at is null and cid in ({marks}) group by cid{by}",
        [*args, resource, *case_ids],
    ).fetchall()


def _message_stats(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per case: messages, and the latest inbound and outbound `sent_at` as the API wrote them."""
    columns = "json_extract(doc, '$.direction') as dir, count(*) as n, max(json_extract(doc, '$.sent_at')) as last"
    out: dict[int, dict[str, Any]] = {}
    for r in _per_case(conn, "messages", case_ids, columns, by=", dir"):
        stats = out.setdefault(r["cid"], {"count": 0})
        stats["count"] += r["n"]
        if r["dir"] in ("inbound", "outbound"):
            stats[r["dir"]] = r["last"]
    return out


def _document_stats(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per case: (sent, received) live files; received = in the intake folder."""
    columns = "sum(json_extract(doc, '$.folder_path') = ?) as received, count(*) as n"
    rows = _per_case(conn, "files", case_ids, columns, args=(RECEIVED_FOLDER,))
    return {r["cid"]: (r["n"] - (r["received"] or 0), r["received"] or 0) for r in rows}


def _nps_cases(conn: sqlite3.Connection, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    marks = ",".join("?" * len(case_ids))
    rows = conn.execute(
        "select distinct cast(json_extract(doc, '$.case_id') as integer) as cid from records "
        f"where resource = 'nps-responses' and deleted_at is null and cid in ({marks})",
        case_ids,
    )
    return {r["cid"] for r in rows}


def _by_id(conn: sqlite3.Connection, resource: str, ids: set) -> dict[int, dict]:
    found = (documents.get(conn, resource, int(i)) for i in ids if isinstance(i, int))
    return {doc["id"]: doc for doc in found if doc}


def _people(case: Mapping[str, Any]) -> list[int]:
    ids = [case.get("primary_attorney_id"), *(case.get("attorney_ids") or []), *(case.get("case_manager_ids") or [])]
    return [i for i in ids if isinstance(i, int)]
