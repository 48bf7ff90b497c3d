"""Generator of the core Case Status records: users, practice areas, clients and cases.

Dirty kinds planted here (1-in-n by position, so each is present at scale >= 200):
- users: one attorney in 8 inactive, plus one user in 16 inactive;
- clients: no company (1/10), empty company (1/20), Acme variants (1/16), duplicate email as a
  case/space variant of an earlier client (1/20), duplicate phone in another format (1/25),
  unicode/RTL/emoji names (1/20), empty last_name (1/40), created_at without 'Z' (1/10), deleted
  (1/40), non-E.164 phones (3/4), birth dates in 3 formats, custom_properties keys in 3 spellings,
  custom_properties double-encoded (1/50) or invalid JSON (1/50);
- cases: no client (1/25), a deleted client (1/25), status "On-Hold" / "on hold" (1/25 each),
  status outside every stage list (1/50), the practice area's custom stage (1/7), empty name
  (1/50), inactive primary attorney (1/20), no primary attorney (1/50), closed and on hold together
  (1/50), case_value "$1,200" string (1/40), "$" amounts in custom properties (1/10), filing dates
  in 3 formats, nested objects, double-encoded (1/50) or invalid (1/50) custom_properties,
  created_at without 'Z' (1/10), deleted (1/50).
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.case_status.gen_common import (
    ACME_VARIANTS,
    ON_HOLD_VARIANTS,
    PRIORITIES,
    STANDARD_STATUSES,
    UNICODE_NAMES,
    UNKNOWN_STATUS,
    Context,
    ascii_slug,
    date_in_format,
    encode_badly,
    every,
    money,
    phone,
    spell,
)

ROLES: tuple[str, ...] = (
    "admin",
    "attorney",
    "attorney",
    "paralegal",
    "attorney",
    "case_manager",
    "paralegal",
    "case_manager",
)
# display name, integration code, custom stage
PRACTICE_AREAS: tuple[tuple[str, str, str], ...] = (
    ("Personal Injury", "PI", "Negotiation"),
    ("Family Law", "FAM", "Mediation"),
    ("Criminal Defense", "CRIM", "Discovery"),
    ("Estate Planning", "EST", "Drafting"),
    ("Employment", "EMP", "Arbitration"),
)
STATUS_WEIGHTS = (10, 30, 15, 8, 12, 8, 5)


def users(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` users cycling through admin, attorney, paralegal and case manager roles; emails unique."""
    out = []
    for i, first, last, email in ctx.people(n, "harborlaw.example"):
        role = ROLES[i % len(ROLES)]
        active = not (every(i, 8, 4) or every(i, 16, 7))
        out.append(
            {
                "id": i + 1,
                "email": email,
                "first_name": first,
                "last_name": last,
                "role": role,
                "active": active,
                **ctx.stamps(),
            }
        )
    return out


def practice_areas(ctx: Context) -> list[dict[str, Any]]:
    """The fixed practice areas, each with the standard stages plus one custom stage."""
    out, stage_id = [], 0
    for i, (name, code, custom) in enumerate(PRACTICE_AREAS):
        labels = [*STANDARD_STATUSES[:2], custom, *STANDARD_STATUSES[2:]]
        stages = []
        for order, label in enumerate(labels, start=1):
            stage_id += 1
            stages.append({"id": stage_id, "display_name": label, "order": order})
        out.append(
            {
                "id": i + 1,
                "display_name": name,
                "integration_mappings": [{"system": "clio", "value": code}],
                "stages": stages,
                **ctx.stamps(),
            }
        )
    return out


def _company(ctx: Context, i: int, firms: list[str]) -> str | None:
    if every(i, 10, 0):
        return None
    if every(i, 20, 9):
        return ""
    if every(i, 16, 5):
        return ACME_VARIANTS[(i // 16) % len(ACME_VARIANTS)]
    return ctx.rng.choice(firms)


def _email_variant(email: str, i: int) -> str:
    return (email.upper(), f" {email} ", email.capitalize())[(i // 20) % 3]


def clients(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` clients with the dirty kinds listed in the module docstring."""
    firms = [ctx.fake.company() for _ in range(max(5, n // 4))]
    owners = [u["id"] for u in ctx.data["users"] if u["role"] in ("attorney", "case_manager")]
    out: list[dict[str, Any]] = []
    for i in range(n):
        first, last = (
            UNICODE_NAMES[(i // 20) % len(UNICODE_NAMES)]
            if every(i, 20, 13)
            else (ctx.fake.first_name(), ctx.fake.last_name())
        )
        last = "" if every(i, 40, 17) else last
        email = f"{ascii_slug(first) or 'client'}.{ascii_slug(last) or i}@{ctx.fake.free_email_domain()}"
        if every(i, 20, 7) and i >= 20:
            email = _email_variant(out[i - 7]["email"], i)
        cell = phone(ctx.rng, i)
        if every(i, 25, 11) and i >= 25:
            cell = out[i - 11]["cell_phone"].replace("-", " ")  # the same number, written differently
        keys = spell(("referral_source", "client_type", "client_tier", "intake_date"), i)
        props = dict(
            zip(
                keys,
                (
                    ctx.rng.choice(("Google", "Referral", "Billboard", "TV", "Past Client")),
                    ctx.rng.choice(("Individual", "Business")),
                    ctx.rng.choice(("Gold", "Silver", "Bronze")),
                    date_in_format(ctx.day(), i),
                ),
                strict=True,
            )
        )
        doc = {
            "id": i + 1,
            "first_name": first,
            "last_name": last,
            "email": email,
            "cell_phone": cell,
            "birth_date": date_in_format(ctx.day(back=30000, ahead=-6600), i // 3),
            "company": _company(ctx, i, firms),
            "portal_status": ctx.rng.choice(("invited", "active", "active", "never")),
            "owner_user_id": ctx.rng.choice(owners),
            "custom_properties": encode_badly(props, i, double_at=21, invalid_at=33),
            **ctx.stamps(naive=every(i, 10, 4)),
        }
        if every(i, 40, 25):
            doc["deleted_at"] = doc["updated_at"]
        out.append(doc)
    return out


def _status(ctx: Context, i: int, area: dict[str, Any]) -> str:
    if every(i, 25, 12) or every(i, 25, 13):
        return ON_HOLD_VARIANTS[i % 25 - 12]
    if every(i, 50, 19):
        return UNKNOWN_STATUS
    if every(i, 7, 2):
        return area["stages"][2]["display_name"]  # the practice area's custom stage
    return ctx.rng.choices(STANDARD_STATUSES, weights=STATUS_WEIGHTS)[0]


def _client_ids(ctx: Context, i: int, live: list[int], deleted: list[int]) -> list[int]:
    if every(i, 25, 3):
        return []
    if every(i, 25, 8) and deleted:
        return [ctx.rng.choice(deleted)]
    return ctx.rng.sample(live, k=min(len(live), ctx.rng.choice((1, 1, 1, 2))))


def _case_properties(ctx: Context, i: int, client_last: str) -> Any:
    keys = spell(
        ("court_name", "case_number", "opposing_counsel", "judge_name", "filing_date", "settlement_demand"), i
    )
    props: dict[str, Any] = dict(
        zip(
            keys,
            (
                f"{ctx.fake.city()} County Court",
                f"{ctx.rng.randint(2019, 2026)}-CV-{ctx.rng.randint(100, 99999):05d}",
                ctx.fake.name(),
                f"Hon. {ctx.fake.last_name()}",
                date_in_format(ctx.day(), i // 2),
                money(ctx.rng.randint(1, 900) * 100, every(i, 10, 1)),
            ),
            strict=True,
        )
    )
    if every(i, 9, 0):
        props["opposing_party"] = {"name": f"{client_last or 'Doe'} Holdings", "counsel": ctx.fake.name()}
    return encode_badly(props, i, double_at=22, invalid_at=34)


def _attorney_ids(ctx: Context, primary: int | None, attorneys: list[int]) -> list[int]:
    """The primary attorney first, sometimes with a second one."""
    out = [primary] if primary is not None else []
    second = ctx.rng.choice(attorneys)
    if ctx.rng.random() < 0.4 and second not in out:
        out.append(second)
    return out


def cases(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` cases with the dirty kinds listed in the module docstring."""
    people = ctx.data["users"]
    attorneys = [u["id"] for u in people if u["role"] == "attorney" and u["active"]]
    inactive = [u["id"] for u in people if u["role"] == "attorney" and not u["active"]]
    managers = [u["id"] for u in people if u["role"] == "case_manager"]
    paralegals = [u["id"] for u in people if u["role"] == "paralegal"]
    live = [c["id"] for c in ctx.live("clients")]
    deleted = [c["id"] for c in ctx.data["clients"] if c.get("deleted_at")]
    names = {c["id"]: c["last_name"] for c in ctx.data["clients"]}
    out = []
    for i in range(n):
        area = ctx.rng.choice(ctx.data["practice-areas"])
        status = _status(ctx, i, area)
        stage = next((s for s in area["stages"] if s["display_name"] == status), None)
        client_ids = _client_ids(ctx, i, live, deleted)
        primary = ctx.rng.choice(inactive or attorneys) if every(i, 20, 6) else ctx.rng.choice(attorneys)
        primary = None if every(i, 50, 41) else primary
        stamps = ctx.stamps(naive=every(i, 10, 4))
        closed = status.startswith("Closed") or every(i, 50, 45)
        opposing = ctx.fake.company()
        plaintiff = (names.get(client_ids[0]) if client_ids else None) or "Doe"
        code = area["integration_mappings"][0]["value"]
        doc = {
            "id": i + 1,
            "readable_id": f"{code}-{stamps['created_at'][:4]}-{i + 1:04d}",
            "integration_id": None if every(i, 5, 0) else f"clio-{ctx.rng.randint(10000, 99999)}",
            "name": "" if every(i, 50, 27) else f"{plaintiff} v. {opposing}",
            "practice_area_id": area["id"],
            "status": "Closed" if every(i, 50, 45) else status,
            "stage_id": stage["id"] if stage else None,
            "priority": ctx.rng.choice(PRIORITIES),
            "on_hold": status in ("On Hold", *ON_HOLD_VARIANTS) or every(i, 50, 45),
            "case_date": ctx.day().isoformat(),
            "closed_at": stamps["updated_at"] if closed else None,
            "case_value": "$1,200" if every(i, 40, 14) else f"{ctx.rng.randint(5, 900) * 1000}.00",
            "expected_close_date": ctx.day(back=30, ahead=400).isoformat(),
            "primary_attorney_id": primary,
            "attorney_ids": _attorney_ids(ctx, primary, attorneys),
            "case_manager_ids": ctx.rng.sample(managers, k=min(len(managers), ctx.rng.randint(0, 2))),
            "paralegal_id": ctx.rng.choice(paralegals) if ctx.rng.random() < 0.8 else None,
            "client_ids": client_ids,
            "portal_access": ctx.rng.random() < 0.7,
            "most_recent_nps": ctx.rng.randint(0, 10) if ctx.rng.random() < 0.5 else None,
            "custom_properties": _case_properties(ctx, i, names.get(client_ids[0], "") if client_ids else ""),
            **stamps,
        }
        if every(i, 50, 47):
            doc["deleted_at"] = doc["updated_at"]
        out.append(doc)
    return out
