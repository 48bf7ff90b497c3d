"""Generator of the Case Status records hanging off cases: matters, case events, messages, files,
calendar events, tasks, notes, time entries, NPS responses, automations and the portal config.

Dirty kinds planted here (1-in-n by position, so each is present at scale >= 200):
- matters: orphan (case_id of no case, 1/20);
- messages: HTML with script (1/20), emoji/RTL text (1/20), no case (1/25);
- files: declared size over 25 MB (1/25), 0 bytes (1/25), missing blob (1/25), name with "/"
  (1/25), name with ".." (1/25); other sizes 1-200 KB;
- notes: script or javascript: link in body_html (1/10); an inline image pasted into the text as a
  data: URI (1/8, a second one in 1/24), extracted and re-hosted as files by migrations;
- time entries: hours < 0 (1/25), hours > 24 (1/25), amount != hours * rate (1/20);
- NPS responses: score above 10 (1/25).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from migration_assets.sandbox.case_status.gen_common import (
    BASE,
    HTML_MESSAGES,
    UNICODE_MESSAGES,
    Context,
    every,
    iso,
)

MESSAGE_TYPES = ("client_message", "call_log", "meeting_note", "case_update")
EVENT_TYPES = ("stage_changed", "placed_on_hold", "removed_from_hold", "closed", "reopened")
FILE_KINDS = (
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("txt", "text/plain"),
)
FOLDERS = ("Medical Records", "Correspondence", "Court Filings", "Intake", "Billing/Invoices")
BIG = 25 * 1024 * 1024
# Inline images pasted into notes (data: URIs): a 1x1 PNG and a 1x1 GIF. No randomness is drawn for
# them, so adding them left every other generated value as it was.
INLINE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
INLINE_GIF = "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


def _case(ctx: Context) -> dict[str, Any]:
    return ctx.rng.choice(ctx.live("cases"))


def _user(ctx: Context, *roles: str) -> int:
    return ctx.rng.choice(ctx.user_ids(roles))


def matters(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Billing subdivisions of cases; 1 in 20 points at a case that does not exist."""
    top = len(ctx.data["cases"])
    out = []
    for i in range(n):
        case_id = top + 1000 + i if every(i, 20, 7) else _case(ctx)["id"]
        opened = ctx.day()
        status = ctx.rng.choice(("Open", "Open", "Pending", "Closed"))
        out.append(
            {
                "id": i + 1,
                "case_id": case_id,
                "name": f"{ctx.fake.bs().title()} ({ctx.fake.last_name()})",
                "billing_code": f"BC-{ctx.rng.randint(1000, 9999)}",
                "status": status,
                "opened_on": opened.isoformat(),
                "closed_on": (opened + timedelta(days=ctx.rng.randint(10, 400))).isoformat()
                if status == "Closed"
                else None,
                "custom_properties": {
                    "case_type": ctx.rng.choice(("Litigation", "Settlement", "Advisory")),
                    "court_name": f"{ctx.fake.city()} Superior Court",
                    "case_number": f"M-{ctx.rng.randint(10000, 99999)}",
                },
                **ctx.stamps(),
            }
        )
    return out


def case_events(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Stage history of cases."""
    out = []
    for i in range(n):
        case = _case(ctx)
        area = next(a for a in ctx.data["practice-areas"] if a["id"] == case["practice_area_id"])
        before, after = ctx.rng.sample([s["display_name"] for s in area["stages"]], k=2)
        stamps = ctx.stamps()
        out.append(
            {
                "id": i + 1,
                "case_id": case["id"],
                "event_type": ctx.rng.choice(EVENT_TYPES),
                "from_stage": before,
                "to_stage": after,
                "actor_user_id": _user(ctx),
                "occurred_at": stamps["created_at"],
                **stamps,
            }
        )
    return out


def messages(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Portal messages, call logs, meeting notes and case updates (real fields plus ours)."""
    out = []
    for i in range(n):
        case = None if every(i, 25, 9) else _case(ctx)
        inbound = ctx.rng.random() < 0.5
        text = ctx.fake.paragraph(nb_sentences=2)
        if every(i, 20, 3):
            text = HTML_MESSAGES[(i // 20) % len(HTML_MESSAGES)]
        elif every(i, 20, 15):
            text = UNICODE_MESSAGES[(i // 20) % len(UNICODE_MESSAGES)]
        client_id = (case or {}).get("client_ids", [None])[0] if case and case["client_ids"] else None
        sender = None if inbound else _user(ctx, "attorney", "case_manager", "paralegal")
        stamps = ctx.stamps()
        out.append(
            {
                "id": i + 1,
                "type": ctx.rng.choice(MESSAGE_TYPES),
                "content": text,
                "sent_at": stamps["created_at"],
                "readable_id": case["readable_id"] if case else None,
                "integration_id": case["integration_id"] if case else None,
                "sender_name": ctx.fake.name(),
                "case_id": case["id"] if case else None,
                "direction": "inbound" if inbound else "outbound",
                "channel": ctx.rng.choice(("app", "app", "sms", "email")),
                "sender_user_id": sender,
                "sender_client_id": client_id if inbound else None,
                **stamps,
            }
        )
    return out


def _file_name(ctx: Context, i: int, extension: str) -> str:
    if every(i, 25, 20):
        return f"Scan {ctx.rng.randint(1, 12):02d}/2024.{extension}"
    if every(i, 25, 22):
        return f"../../{ctx.fake.word()}..final.{extension}"
    return f"{ctx.fake.word().title()} {ctx.fake.word()}.{extension}"


def _file_size(ctx: Context, i: int) -> int:
    if every(i, 25, 4):
        return BIG + ctx.rng.randint(1, 8 * 1024 * 1024)
    if every(i, 25, 10):
        return 0
    return ctx.rng.randint(1024, 200 * 1024)


def files(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Documents (metadata only: bytes are generated on download from id and size)."""
    out = []
    for i in range(n):
        case = _case(ctx)
        extension, content_type = ctx.rng.choice(FILE_KINDS)
        area = next(a for a in ctx.data["practice-areas"] if a["id"] == case["practice_area_id"])
        doc = {
            "id": i + 1,
            "url": f"/v1/api/files/{i + 1}/content",
            "size": _file_size(ctx, i),
            "case_id": str(case["id"]),
            "extension": extension,
            "file_name": _file_name(ctx, i, extension),
            "content_type": content_type,
            "case_readable_id": case["readable_id"],
            "case_integration_id": case["integration_id"],
            "case_practice_area": area["display_name"],
            "folder_path": ctx.rng.choice(FOLDERS),
            **ctx.stamps(),
        }
        if every(i, 25, 16):
            doc["_blob"] = "missing"
        out.append(doc)
    return out


def calendar_events(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Depositions, hearings and client meetings."""
    emails = [u["email"] for u in ctx.data["users"]]
    out = []
    for i in range(n):
        start = BASE - timedelta(hours=ctx.rng.randint(-2000, 30000))
        out.append(
            {
                "id": i + 1,
                "case_id": _case(ctx)["id"],
                "subject": ctx.rng.choice(("Deposition", "Court hearing", "Client meeting", "Mediation")),
                "start": iso(start),
                "end": iso(start + timedelta(minutes=ctx.rng.choice((30, 60, 120)))),
                "location": ctx.fake.address().replace("\n", ", "),
                "attendees": ctx.rng.sample(emails, k=2),
                "description": ctx.fake.sentence(),
                **ctx.stamps(),
            }
        )
    return out


def tasks(ctx: Context, n: int) -> list[dict[str, Any]]:
    """To-dos with type, status, priority, due date and owner."""
    return [
        {
            "id": i + 1,
            "case_id": _case(ctx)["id"],
            "subject": ctx.fake.sentence(nb_words=5),
            "type": ctx.rng.choice(("Call", "Email", "To-do", "Follow-up")),
            "status": ctx.rng.choice(("Not Started", "In Progress", "Completed")),
            "priority": ctx.rng.choice(("Low", "Normal", "High")),
            "due": ctx.day(back=200, ahead=100).isoformat(),
            "owner_user_id": _user(ctx),
            **ctx.stamps(),
        }
        for i in range(n)
    ]


def notes(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Rich-text notes; 1 in 10 carries a script or javascript: link to sanitise, 1 in 8 an inline
    image (1 in 24 a second one) as a data: URI."""
    out = []
    for i in range(n):
        body = (
            f"<p>{ctx.fake.sentence()}</p><ul><li>{ctx.fake.word()}</li><li>{ctx.fake.word()}</li></ul>"
            f'<p><a href="https://example.com/{ctx.fake.word()}">link</a></p>'
        )
        if every(i, 10, 3):
            body += '<script>fetch("https://evil.example")</script><a href="javascript:void(0)">x</a>'
        if every(i, 8, 5):
            body += f'<p><img src="data:image/png;base64,{INLINE_PNG}" alt="signature"></p>'
        if every(i, 24, 13):
            body += f'<p>Photo: <img alt="scan" src="data:image/gif;base64,{INLINE_GIF}"></p>'
        out.append(
            {
                "id": i + 1,
                "case_id": _case(ctx)["id"],
                "body_html": body,
                "author_user_id": _user(ctx),
                **ctx.stamps(),
            }
        )
    return out


def time_entries(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Billable time; some hours out of range and some amounts that disagree with hours * rate."""
    out = []
    for i in range(n):
        hours = round(ctx.rng.uniform(0.1, 8), 1)
        hours = -1.5 if every(i, 25, 2) else 26.0 if every(i, 25, 5) else hours
        rate = ctx.rng.choice((150, 200, 250, 300, 450))
        amount = round(hours * rate, 2) + (ctx.rng.randint(5, 500) if every(i, 20, 8) else 0)
        out.append(
            {
                "id": i + 1,
                "case_id": _case(ctx)["id"],
                "user_id": _user(ctx, "attorney", "paralegal"),
                "entry_date": ctx.day(back=700).isoformat(),
                "hours": hours,
                "rate": rate,
                "amount": amount,
                "description": ctx.fake.sentence(nb_words=6),
                **ctx.stamps(),
            }
        )
    return out


def nps_responses(ctx: Context, n: int) -> list[dict[str, Any]]:
    """Survey answers at stage changes; 1 in 25 scores above 10."""
    out = []
    for i in range(n):
        case = _case(ctx)
        stamps = ctx.stamps()
        out.append(
            {
                "id": i + 1,
                "client_id": case["client_ids"][0] if case["client_ids"] else None,
                "case_id": case["id"],
                "stage_name": case["status"],
                "score": ctx.rng.randint(11, 15) if every(i, 25, 6) else ctx.rng.randint(0, 10),
                "comment": ctx.fake.sentence() if ctx.rng.random() < 0.6 else "",
                "responded_at": stamps["created_at"],
                **stamps,
            }
        )
    return out


def automations(ctx: Context) -> list[dict[str, Any]]:
    """Two automations per practice area (exported as JSON, never migrated)."""
    out = []
    for area in ctx.data["practice-areas"]:
        stage = ctx.rng.choice(area["stages"])
        for kind in ("No Matter Changes", "Single Message"):
            out.append(
                {
                    "id": len(out) + 1,
                    "name": f"{area['display_name']}: {kind}",
                    "practice_area_id": area["id"],
                    "trigger": {
                        "type": kind,
                        "stage_id": stage["id"],
                        "delay": ctx.rng.choice((0, 1, 7, 30)),
                    },
                    "actions": [{"type": "send_message", "template": ctx.fake.sentence()}],
                    "active": ctx.rng.random() < 0.8,
                    **ctx.stamps(),
                }
            )
    return out


def portal_config(ctx: Context) -> list[dict[str, Any]]:
    """The single portal configuration document (branding, features, access rules)."""
    return [
        {
            "id": 1,
            "branding": {
                "firm_name": "Harbor Law Group",
                "primary_color": "#1F4E79",
                "logo_url": "https://cdn.example/harbor/logo.png",
            },
            "features": {"messaging": True, "documents": True, "nps_surveys": True, "ai_triage": False},
            "access_rules": [{"role": "client", "can_upload": True}, {"role": "guest", "can_view": False}],
            **ctx.stamps(),
        }
    ]
