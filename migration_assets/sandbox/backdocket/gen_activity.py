"""Generator of BackDocket activity: tasks, calendar events, documents and notes.

Dirty classes planted here (1-in-n by position i, so each is present at scale >= 60):
- tasks: assignee_email of nobody 1/20 (i%20==3), of an inactive user 1/20 (i%20==8), of an active
  user in another letter case 1/10 (i%10==5);
- calendar events: zone-less (time_zone null, start/end without offset) 1/15 (i%15==4); end before
  start 1/20 (i%20==7); external attendees (internal false) on every court date, deposition and
  mediation and on 1 in 3 client meetings;
- documents: held in the Onsite Data Warehouse (content answers 409) 1/12 (i%12==5); declared size
  over 25 MiB (26-40 MiB, streamed, never stored) 1/40 (i%40==13); the same file (same bytes,
  sha256, name) as an earlier document on another parent 1/15 (i%15==8, from i>=15); other sizes
  2-512 KiB;
- notes: a <script> or javascript: link in body_html 1/20 (i%20==9); inline previews of documents
  (document_ids) on 1 in 4; an author who is inactive 1/15 (i%15==4).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from migration_assets.sandbox.backdocket import content
from migration_assets.sandbox.backdocket.gen_common import BASE, FIRM_DOMAIN, Context, every, ident, iso

TASK_SUBJECTS: tuple[str, ...] = (
    "Request medical records",
    "Send retainer agreement",
    "Follow up with adjuster",
    "Prepare demand letter",
    "Calendar statute of limitations",
    "Call client with status update",
    "Order police report",
    "Review lien letters",
)
PRIORITIES: tuple[str, ...] = ("Low", "Normal", "High", "Urgent")
EVENT_TYPES: tuple[str, ...] = ("Court Date", "Deposition", "Client Meeting", "Mediation", "Firm Meeting", "Deadline")
EXTERNAL_TYPES = frozenset({"Court Date", "Deposition", "Mediation"})
ZONES: tuple[str, ...] = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
FILE_KINDS: tuple[tuple[str, str], ...] = (
    ("pdf", "application/pdf"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("txt", "text/plain"),
)
FOLDERS: tuple[str, ...] = ("Medical Records", "Correspondence", "Pleadings", "Intake", "Billing")
MIB = 1024 * 1024
UNSAFE_NOTES: tuple[str, ...] = (
    '<p>Client called</p><script>alert("x")</script>',
    '<p>See <a href="javascript:alert(1)">the file</a></p>',
)


def _parent(ctx: Context, weights: tuple[int, int, int] = (50, 30, 20)) -> tuple[str, str]:
    kind = ctx.rng.choices(("matter", "claim", "contact"), weights=weights)[0]
    return kind, ctx.rng.choice(ctx.live(f"{kind}s"))["id"]


def _assignee(ctx: Context, i: int) -> str:
    people = ctx.data["users"]
    active = [u["email"] for u in people if u["active"]]
    inactive = [u["email"] for u in people if not u["active"]]
    if every(i, 20, 3):
        return f"former.paralegal{i}@{FIRM_DOMAIN}"
    if every(i, 20, 8) and inactive:
        return ctx.rng.choice(inactive)
    email = ctx.rng.choice(active)
    return email.upper() if every(i, 10, 5) else email


def tasks(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` tasks on matters, claims and contacts, with the dirty classes above."""
    out = []
    for i in range(n):
        parent_type, parent_id = _parent(ctx)
        due = BASE + timedelta(days=ctx.rng.randint(-400, 60), hours=ctx.rng.randint(8, 17))
        out.append(
            {
                "id": ident("tasks", i),
                "subject": ctx.rng.choice(TASK_SUBJECTS),
                "description": ctx.fake.sentence(nb_words=10) if ctx.rng.random() < 0.7 else None,
                "due": iso(due),
                "priority": ctx.rng.choices(PRIORITIES, weights=(20, 50, 25, 5))[0],
                "status": ctx.rng.choices(("Open", "Completed", "Cancelled"), weights=(45, 45, 10))[0],
                "assignee_email": _assignee(ctx, i),
                "parent_type": parent_type,
                "parent_id": parent_id,
                **ctx.stamps(),
            }
        )
    return out


def _attendees(ctx: Context, event_type: str, i: int) -> list[dict[str, Any]]:
    staff = ctx.rng.sample(ctx.data["users"], k=min(2, len(ctx.data["users"])))
    people = [{"email": u["email"], "name": u["display_name"], "internal": True} for u in staff]
    if event_type in EXTERNAL_TYPES or (event_type == "Client Meeting" and i % 3 == 0):
        name = ctx.fake.name()
        people.append(
            {"email": f"{name.split()[-1].lower()}@{ctx.fake.free_email_domain()}", "name": name, "internal": False}
        )
    return people


def _when(ctx: Context, i: int, event_type: str) -> dict[str, Any]:
    start = BASE + timedelta(days=ctx.rng.randint(-500, 90), hours=ctx.rng.randint(13, 22))
    if event_type == "Deadline":
        day = start.replace(hour=0)
        return {
            "start": iso(day),
            "end": iso(day + timedelta(days=1)),
            "all_day": True,
            "time_zone": ctx.rng.choice(ZONES),
        }
    end = start + timedelta(minutes=ctx.rng.choice((30, 60, 90, 120, 240)))
    if every(i, 20, 7):
        end = start - timedelta(hours=1)
    zoneless = every(i, 15, 4)
    return {
        "start": iso(start, naive=zoneless),
        "end": iso(end, naive=zoneless),
        "all_day": False,
        "time_zone": None if zoneless else ctx.rng.choice(ZONES),
    }


def calendar_events(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` court dates, depositions and meetings, with the dirty classes above."""
    out = []
    for i in range(n):
        event_type = EVENT_TYPES[i % len(EVENT_TYPES)]
        claim = ctx.rng.choice(ctx.live("claims")) if ctx.rng.random() < 0.3 else None
        matter_id = claim["matter_id"] if claim else ctx.rng.choice(ctx.live("matters"))["id"]
        if event_type == "Firm Meeting":
            claim, matter_id = None, None
        location = {
            "Court Date": f"{ctx.fake.city()} County Courthouse, Room {ctx.rng.randint(100, 900)}",
            "Deposition": f"{ctx.fake.street_address()}, {ctx.fake.city()}",
            "Mediation": f"{ctx.fake.last_name()} Mediation Center",
        }.get(event_type, ctx.rng.choice(("Conference Room A", "Conference Room B", "Zoom", None)))
        out.append(
            {
                "id": ident("calendar-events", i),
                "title": f"{event_type}: {ctx.fake.last_name()}",
                "event_type": event_type,
                **_when(ctx, i, event_type),
                "location": location,
                "attendees": _attendees(ctx, event_type, i),
                "matter_id": matter_id,
                "claim_id": claim["id"] if claim else None,
                **ctx.stamps(),
            }
        )
    return out


def _file(ctx: Context, i: int, out: list[dict[str, Any]]) -> dict[str, Any]:
    if every(i, 15, 8) and i >= 15:
        twin = out[i - 8]
        fields = ("file_name", "folder", "mime_type", "size_bytes", "sha256", "_content")
        return {k: twin[k] for k in fields} | {"_twin_parent": (twin["parent_type"], twin["parent_id"])}
    ext, mime = ctx.rng.choice(FILE_KINDS)
    size = ctx.rng.randint(26 * MIB, 40 * MIB) if every(i, 40, 13) else ctx.rng.randint(2048, 512 * 1024)
    key = f"{ctx.seed}-{i}"
    name = f"{ctx.fake.word().title()} {ctx.rng.choice(('Records', 'Letter', 'Photo', 'Report'))}.{ext}"
    return {
        "file_name": name,
        "folder": ctx.rng.choice(FOLDERS),
        "mime_type": mime,
        "size_bytes": size,
        "sha256": content.sha256(key, size),
        "_content": key,
    }


def documents(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` documents on contacts, matters and claims, with the dirty classes above."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        fields = _file(ctx, i, out)
        twin_parent = fields.pop("_twin_parent", None)
        parent_type, parent_id = _parent(ctx, (50, 35, 15))
        while (parent_type, parent_id) == twin_parent:
            parent_type, parent_id = _parent(ctx, (50, 35, 15))
        out.append(
            {
                "id": ident("documents", i),
                "parent_type": parent_type,
                "parent_id": parent_id,
                **fields,
                # an oversized file stays in the cloud, so a loader meets its size, not a 409
                "storage": "onsite_warehouse" if every(i, 12, 5) and fields["size_bytes"] <= MIB * 25 else "cloud",
                **ctx.stamps(),
            }
        )
    return out


def notes(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` notes, some with inline previews of documents of the same parent, with the dirty classes above."""
    people = ctx.data["users"]
    authors = [u["id"] for u in people if u["active"]]
    inactive = [u["id"] for u in people if not u["active"]] or authors
    by_parent: dict[tuple[str, str], list[str]] = {}
    for doc in ctx.live("documents"):
        by_parent.setdefault((doc["parent_type"], doc["parent_id"]), []).append(doc["id"])
    with_docs = sorted(by_parent)
    out = []
    for i in range(n):
        previews = i % 4 == 1 and with_docs
        parent_type, parent_id = with_docs[(i * 3) % len(with_docs)] if previews else _parent(ctx)
        body = UNSAFE_NOTES[(i // 20) % 2] if every(i, 20, 9) else f"<p>{ctx.fake.paragraph(nb_sentences=2)}</p>"
        out.append(
            {
                "id": ident("notes", i),
                "parent_type": parent_type,
                "parent_id": parent_id,
                "body_html": body,
                "author_id": ctx.rng.choice(inactive if every(i, 15, 4) else authors),
                "document_ids": by_parent[(parent_type, parent_id)][:2] if previews else [],
                **ctx.stamps(),
            }
        )
    return out
