"""Generator of BackDocket legal records: matters, claims and intake submissions.

Dirty classes planted here (1-in-n by position i, so each is present at scale >= 60):
- matters: 18 matter types (more than the 15 custom tables of Dynamics' Professional tier), every
  one present from scale 18; a legacy status ("Archived", "open - legacy", "Reopened") 1/25
  (i%25==8); a responsible user who is inactive or has no licensed seat 1/12 (i%12==10); no court
  jurisdiction (pre-litigation) 1/8; deleted 1/40 (i%40==21);
- claims: no matter 1/25 (i%25==4), a deleted matter 1/25 (i%25==9); a plaintiff claim with a null
  estimated_value 1/20 (i%20==11); a legacy status ("Signed Up", "Dead Lead", "active w/ contract")
  1/20 (i%20==14); deactivated (active false) 1/15 (i%15==7); deleted 1/60 (i%60==41). Revenue
  claims are the plaintiff ones with an estimated_value (about 2 in 3); the others are defense
  claims (no estimated_value) or the dirty plaintiff ones;
- intake submissions: already converted (converted_claim_id set) 1/8 (i%8==2); prospect_name as
  "Last, First" 1/10 (i%10==5) or one word 1/20 (i%20==13); assigned to an inactive user 1/12
  (i%12==7).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from migration_assets.sandbox.backdocket import gen_config
from migration_assets.sandbox.backdocket.gen_common import (
    Context,
    ascii_slug,
    delete,
    every,
    ident,
    money,
    phone,
)

MATTER_TYPES: tuple[str, ...] = (
    "Personal Injury",
    "Auto Accident",
    "Mass Tort",
    "Family Law",
    "Workers' Compensation",
    "Immigration",
    "Medical Malpractice",
    "Premises Liability",
    "Product Liability",
    "Wrongful Death",
    "Employment",
    "Social Security Disability",
    "Criminal Defense",
    "Estate Planning",
    "Bankruptcy",
    "Real Estate",
    "Civil Rights",
    "Insurance Bad Faith",
)
MATTER_STATUSES: tuple[str, ...] = ("Open", "Pending", "Closed")
LEGACY_MATTER_STATUSES: tuple[str, ...] = ("Archived", "open - legacy", "Reopened")
CLAIM_TYPES: tuple[str, ...] = (
    "Auto",
    "Personal Injury",
    "Mass Tort",
    "Family Law",
    "Workers' Comp",
    "Immigration",
    "Medical Malpractice",
    "Slip and Fall",
    "Dog Bite",
    "Product Liability",
    "Wrongful Death",
    "Trucking",
    "Motorcycle",
    "Premises",
    "Nursing Home",
    "SSDI",
    "Employment",
    "Civil Rights",
    "Property Damage",
    "Class Action",
    "Medical Device",
    "Criminal",
)
CLAIM_STATUSES: tuple[str, ...] = (
    "Active w/Contract",
    "Chase Call",
    "No Decision",
    "Referral Pending",
    "Closed",
    "Rejected",
    "Referred",
)
CLAIM_WEIGHTS = (35, 10, 10, 5, 25, 10, 5)
LEGACY_CLAIM_STATUSES: tuple[str, ...] = ("Signed Up", "Dead Lead", "active w/ contract")
REFERRAL_SOURCES: tuple[str, ...] = ("Google Ads", "Past Client", "Attorney Referral", "TV", "Billboard", "Facebook")


def _responsible(ctx: Context, i: int) -> str:
    people = ctx.data["users"]
    good = [u["id"] for u in people if u["role"] == "attorney" and u["active"] and u["licensed"]]
    odd = [u["id"] for u in people if not (u["active"] and u["licensed"])]
    return ctx.rng.choice(odd) if every(i, 12, 10) and odd else ctx.rng.choice(good)


def _client_name(client: dict[str, Any]) -> str:
    name = client["full_name"]
    return name.split(",")[0] if "," in name else name.split()[-1]


def matters(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` matters with the dirty classes above; the client is a live contact of type Client."""
    clients = [c for c in ctx.live("contacts") if c["contact_type"] in ("Client", "Organization")]
    out = []
    for i in range(n):
        client = ctx.rng.choice(clients)
        opened = ctx.day()
        status = ctx.rng.choices(MATTER_STATUSES, weights=(60, 15, 25))[0]
        if every(i, 25, 8):
            status = LEGACY_MATTER_STATUSES[(i // 25) % len(LEGACY_MATTER_STATUSES)]
        name = f"{_client_name(client)} v. {ctx.fake.last_name()} {ctx.rng.choice(('Inc.', 'LLC', 'Trucking'))}"
        court = None if ctx.rng.random() < 0.125 else f"{ctx.fake.city()} County Circuit Court, {ctx.fake.state_abbr()}"
        doc = {
            "id": ident("matters", i),
            "matter_number": f"MAT-{opened.year}-{i + 1:05d}",
            "name": name,
            "matter_type": MATTER_TYPES[(i * 7) % len(MATTER_TYPES)],
            "status": status,
            "responsible_user_id": _responsible(ctx, i),
            "court_jurisdiction": court,
            "opening_date": opened.isoformat(),
            "closing_date": (opened + timedelta(days=ctx.rng.randint(30, 700))).isoformat()
            if status == "Closed"
            else None,
            "client_contact_id": client["id"],
            "custom_fields": gen_config.matter_values(ctx, i, opened.isoformat(), name),
            **ctx.stamps(),
        }
        out.append(delete(doc) if every(i, 40, 21) else doc)
    return out


def _matter(ctx: Context, i: int) -> dict[str, Any] | None:
    dead = ctx.dead("matters")
    if every(i, 25, 4):
        return None
    if every(i, 25, 9) and dead:
        return dead[(i // 25) % len(dead)]
    return ctx.rng.choice(ctx.live("matters"))


def _history(ctx: Context, status: str, created: str, users: list[str]) -> list[dict[str, Any]]:
    path = [s for s in ("Chase Call", "No Decision") if ctx.rng.random() < 0.4] + [status]
    start = date.fromisoformat(created[:10])
    return [
        {"status": s, "changed_at": f"{start + timedelta(days=7 * n)}T15:00:00Z", "changed_by": ctx.rng.choice(users)}
        for n, s in enumerate(dict.fromkeys(path))
    ]


def _claim_money(ctx: Context, i: int, side: str, status: str) -> tuple[str | None, str | None]:
    if side == "defense":
        return None, None
    estimate = None if every(i, 20, 11) else money(ctx.rng, 10000, 500000)
    settled = status == "Closed" and ctx.rng.random() < 0.7
    return estimate, money(ctx.rng, 5000, 400000) if settled else None


def claims(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` claims with the dirty classes above."""
    claimants = [c["id"] for c in ctx.live("contacts") if not c["is_organization"]]
    users = [u["id"] for u in ctx.data["users"]]
    out = []
    for i in range(n):
        matter = _matter(ctx, i)
        status = ctx.rng.choices(CLAIM_STATUSES, weights=CLAIM_WEIGHTS)[0]
        if every(i, 20, 14):
            status = LEGACY_CLAIM_STATUSES[(i // 20) % len(LEGACY_CLAIM_STATUSES)]
        side = "plaintiff" if every(i, 20, 11) or ctx.rng.random() < 0.7 else "defense"
        estimate, settlement = _claim_money(ctx, i, side, status)
        stamps = ctx.stamps()
        closed = status in ("Closed", "Rejected", "Referred")
        close_date = ctx.day(back=400, ahead=0 if closed else 365).isoformat() if closed or estimate else None
        claimant = matter["client_contact_id"] if matter and ctx.rng.random() < 0.7 else ctx.rng.choice(claimants)
        number = f"CL-{i + 1:05d}"
        doc = {
            "id": ident("claims", i),
            "matter_id": matter["id"] if matter else None,
            "claim_number": number,
            "claim_type": CLAIM_TYPES[(i * 5) % len(CLAIM_TYPES)],
            "status": status,
            "side": side,
            "claimant_contact_id": claimant,
            "estimated_value": estimate,
            "settlement_amount": settlement,
            "close_date": close_date,
            "active": not every(i, 15, 7),
            "status_history": _history(ctx, status, stamps["created_at"], users),
            "custom_fields": gen_config.claim_values(ctx, i, settlement, number),
            **stamps,
        }
        out.append(delete(doc) if every(i, 60, 41) else doc)
    return out


def _prospect(ctx: Context, i: int) -> tuple[str, str, str]:
    first, last = ctx.fake.first_name(), ctx.fake.last_name()
    if every(i, 10, 5):
        return f"{last}, {first}", first, last
    if every(i, 20, 13):
        return first, first, ""
    return f"{first} {last}", first, last


def intakes(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` intake submissions with the dirty classes above."""
    people = ctx.data["users"]
    takers = [u["id"] for u in people if u["role"] in ("intake_specialist", "attorney") and u["active"]]
    inactive = [u["id"] for u in people if not u["active"]]
    converted = [c["id"] for c in ctx.live("claims") if c["side"] == "plaintiff"]
    out = []
    for i in range(n):
        name, first, last = _prospect(ctx, i)
        contacted = ctx.day(back=700)
        doc = {
            "id": ident("intake-submissions", i),
            "prospect_name": name,
            "email": f"{ascii_slug(first)}.{ascii_slug(last) or 'x'}@{ctx.fake.free_email_domain()}",
            "phone": phone(ctx.rng, i),
            "referral_source": ctx.rng.choice(REFERRAL_SOURCES),
            "case_type_interest": ctx.rng.choice(CLAIM_TYPES),
            "initial_contact_date": contacted.isoformat(),
            "assigned_user_id": ctx.rng.choice(inactive) if every(i, 12, 7) and inactive else ctx.rng.choice(takers),
            "converted_claim_id": converted[(i * 7) % len(converted)] if every(i, 8, 2) and converted else None,
            "answers": {
                "incident_date": (contacted - timedelta(days=ctx.rng.randint(1, 90))).isoformat(),
                "injured": ctx.rng.random() < 0.8,
                "treated_by_doctor": ctx.rng.choice(("yes", "no", "not yet")),
                "description": ctx.fake.sentence(nb_words=12),
            },
            **ctx.stamps(max_days=700),
        }
        out.append(doc)
    return out
