"""A deterministic burst of BackDocket activity within the last hours, as during a cutover window.

Given the seeded state and a clock `now`, `simulate_delta` makes (each change stamped between 3 hours
and a few minutes before `now`): a new client contact in "Last, First" form, a new matter for it, a
new plaintiff claim with an estimated value on that matter, converted from a new intake submission
(the intake is created, then converted: converted_claim_id set), a new task and a court date on the
matter; updates of three matters (closed), two claims (a status change appended to status_history),
two contacts (new email), one task (completed); deletions of one task, one note, one document and
one contact. The records picked are the first live ones in id order that fit, so the same seeded
state and `now` give the same changes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migration_assets.sandbox import _documents as documents
from migration_assets.sandbox.backdocket import mutate, store
from migration_assets.sandbox.backdocket.gen_common import iso


def _first(state_path: Path, resource: str, n: int, where: str = "1 = 1") -> list[dict[str, Any]]:
    with store.open_state(state_path).connect() as conn:
        rows = conn.execute(
            f"select doc from records where resource = ? and deleted_at is null and {where} order by id limit ?",
            (resource, n),
        ).fetchall()
    return [json.loads(r["doc"]) for r in rows]


class _Clock:
    """Stamps that walk from 3 hours ago towards `now`, one step per change."""

    def __init__(self, now: datetime) -> None:
        self.at, self.step = now - timedelta(hours=3), timedelta(minutes=5)

    def __call__(self) -> str:
        """The next stamp."""
        self.at += self.step
        return iso(self.at)

    def now(self) -> str:
        """The current stamp, without stepping (a second field of the same change)."""
        return iso(self.at)


def _new_client(state_path: Path, clock: _Clock, user: dict[str, Any]) -> tuple[dict, dict]:
    """A prospect calls in: an intake submission and the client contact made from it."""
    intake = mutate.create(
        state_path,
        "intake-submissions",
        {
            "prospect_name": "Ana Rivera",
            "email": "ana.rivera@example.com",
            "phone": "(312) 555-0142",
            "referral_source": "Past Client",
            "case_type_interest": "Auto",
            "initial_contact_date": clock.now()[:10],
            "assigned_user_id": user["id"],
            "converted_claim_id": None,
            "answers": {"injured": True, "description": "Rear-ended at a red light"},
        },
        now=clock(),
    )
    contact = mutate.create(
        state_path,
        "contacts",
        {
            "full_name": "Rivera, Ana",
            "email": "ana.rivera@example.com",
            "phones": [{"label": "mobile", "number": "(312) 555-0142"}],
            "organization_id": None,
            "organization_name": None,
            "contact_type": "Client",
            "is_organization": False,
            "custom_fields": {"cf_1": "Spanish"},
        },
        now=clock(),
    )
    return intake, contact


def _new_case(state_path: Path, clock: _Clock, user: dict[str, Any], contact: dict) -> tuple[dict, dict]:
    """The client signs: a matter and a revenue claim on it."""
    matter = mutate.create(
        state_path,
        "matters",
        {
            "matter_number": "MAT-CUTOVER-1",
            "name": "Rivera v. Lakeshore Trucking",
            "matter_type": "Auto Accident",
            "status": "Open",
            "responsible_user_id": user["id"],
            "court_jurisdiction": None,
            "opening_date": clock.now()[:10],
            "closing_date": None,
            "client_contact_id": contact["id"],
            "custom_fields": {"cf_8": ["Pre-Litigation"]},
        },
        now=clock(),
    )
    stamp = clock()
    claim = mutate.create(
        state_path,
        "claims",
        {
            "matter_id": matter["id"],
            "claim_number": "CL-CUTOVER-1",
            "claim_type": "Auto",
            "status": "Active w/Contract",
            "side": "plaintiff",
            "claimant_contact_id": contact["id"],
            "estimated_value": "85000.00",
            "settlement_amount": None,
            "close_date": None,
            "active": True,
            "status_history": [{"status": "Active w/Contract", "changed_at": stamp, "changed_by": user["id"]}],
            "custom_fields": {"cf_12": ["Neck"], "cf_20": {"formula": "settlement_amount*0.33", "value": None}},
        },
        now=stamp,
    )
    return matter, claim


def _new_activity(state_path: Path, clock: _Clock, user: dict[str, Any], matter: dict, claim: dict) -> list[dict]:
    """Work starts on the new matter: a task and a court date with an external attendee."""
    task = mutate.create(
        state_path,
        "tasks",
        {
            "subject": "Send retainer agreement",
            "description": None,
            "due": clock.now(),
            "priority": "High",
            "status": "Open",
            "assignee_email": user["email"],
            "parent_type": "matter",
            "parent_id": matter["id"],
        },
        now=clock(),
    )
    start = clock()
    event = mutate.create(
        state_path,
        "calendar-events",
        {
            "title": "Court Date: Rivera",
            "event_type": "Court Date",
            "start": start,
            "end": clock.now(),
            "all_day": False,
            "time_zone": "America/Chicago",
            "location": "Cook County Courthouse",
            "attendees": [
                {"email": user["email"], "name": user["display_name"], "internal": True},
                {"email": "clerk@court.example", "name": "Court Clerk", "internal": False},
            ],
            "matter_id": matter["id"],
            "claim_id": claim["id"],
        },
        now=start,
    )
    return [task, event]


def _create(state_path: Path, clock: _Clock, user: dict[str, Any]) -> dict[str, list[str]]:
    intake, contact = _new_client(state_path, clock, user)
    matter, claim = _new_case(state_path, clock, user, contact)
    mutate.update(state_path, "intake-submissions", intake["id"], {"converted_claim_id": claim["id"]}, now=clock())
    task, event = _new_activity(state_path, clock, user, matter, claim)
    return {
        "created": [
            f"intake-submissions/{intake['id']}",
            f"contacts/{contact['id']}",
            f"matters/{matter['id']}",
            f"claims/{claim['id']}",
            f"tasks/{task['id']}",
            f"calendar-events/{event['id']}",
        ],
        "converted": [f"intake-submissions/{intake['id']}->claims/{claim['id']}"],
    }


def _update(state_path: Path, clock: _Clock, user: dict[str, Any]) -> list[str]:
    done = []
    for matter in _first(state_path, "matters", 3, "json_extract(doc, '$.status') = 'Open'"):
        stamp = clock()
        mutate.update(state_path, "matters", matter["id"], {"status": "Closed", "closing_date": stamp[:10]}, now=stamp)
        done.append(f"matters/{matter['id']}")
    for claim in _first(state_path, "claims", 2, "json_extract(doc, '$.status') = 'Chase Call'"):
        stamp = clock()
        change = {"status": "Active w/Contract", "changed_at": stamp, "changed_by": user["id"]}
        history = [*claim["status_history"], change]
        mutate.update(
            state_path, "claims", claim["id"], {"status": "Active w/Contract", "status_history": history}, now=stamp
        )
        done.append(f"claims/{claim['id']}")
    for contact in _first(state_path, "contacts", 2, "json_extract(doc, '$.is_organization') = 0"):
        mutate.update(state_path, "contacts", contact["id"], {"email": f"new.{contact['id']}@example.com"}, now=clock())
        done.append(f"contacts/{contact['id']}")
    for task in _first(state_path, "tasks", 1, "json_extract(doc, '$.status') = 'Open'"):
        mutate.update(state_path, "tasks", task["id"], {"status": "Completed"}, now=clock())
        done.append(f"tasks/{task['id']}")
    return done


def _delete(state_path: Path, clock: _Clock, touched: set[str]) -> list[str]:
    """Delete one record of each kind among those this burst has not created or updated."""
    done = []
    for resource in ("tasks", "notes", "documents", "contacts"):
        where = "1 = 1" if resource != "contacts" else "json_extract(doc, '$.contact_type') = 'Witness'"
        candidates = _first(state_path, resource, len(touched) + 1, where)
        doc = next(d for d in candidates if f"{resource}/{d['id']}" not in touched)
        mutate.delete(state_path, resource, doc["id"], now=clock())
        done.append(f"{resource}/{doc['id']}")
    return done


def simulate_delta(state_path: Path, *, now: str | None = None) -> dict[str, Any]:
    """Make the changes of the module docstring, stamped within the 3 hours before `now`.

    Args:
        state_path: a seeded BackDocket sandbox SQLite file.
        now: the clock (ISO 8601); the wall clock when omitted.

    Returns:
        {"created", "updated", "deleted", "converted": ["<resource>/<id>", ...]} and "window":
        [first stamp, now].
    """
    state_path = Path(state_path)
    moment = documents.parse_timestamp(now) if now else datetime.now(UTC).replace(microsecond=0)
    clock = _Clock(moment)
    user = _first(
        state_path, "users", 1, "json_extract(doc, '$.role') = 'attorney' and json_extract(doc, '$.active') = 1"
    )[0]
    first = iso(clock.at + clock.step)
    made = _create(state_path, clock, user)
    updated = _update(state_path, clock, user)
    deleted = _delete(state_path, clock, {*made["created"], *updated})
    return {**made, "updated": updated, "deleted": deleted, "window": [first, iso(moment)]}
