"""Generator of BackDocket people: users, organizations and contacts.

Dirty classes planted here (1-in-n by position i, so each is present at scale >= 60):
- users: inactive 1/6 (i%6==4), without a licensed seat 1/5 (i%5==2), email spelled with capitals
  while the UPN is lower case 1/4 (i%4==1);
- organizations: a duplicate spelled differently ("ACME INSURANCE CO", "Acme Insurance Co.,",
  " Acme Insurance Co ") of an earlier one 1/8 (i%8==6, from i>=8), deleted 1/20 (i%20==9);
- contacts: organization contacts (is_organization true, full_name = the firm) 1/8 (i%8==0); among
  person contacts, by priority: a duplicate of an earlier contact (same name, email in another case,
  same phone in another format) 1/25 (i%25==13, from i>=25), a one-word full_name 1/25 (i%25==3),
  "Last, First" 1/10 (i%10==5), a suffix (Jr., Sr., III, ", Esq.") 1/20 (i%20==7), a firm name in
  the person's full_name 1/30 (i%30==11); organization_id of no organization 1/30 (i%30==17), of a
  deleted one 1/40 (i%40==23); created_at without offset 1/10 (i%10==4); deleted 1/50 (i%50==31).
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.backdocket import gen_config
from migration_assets.sandbox.backdocket.gen_common import (
    FIRM_DOMAIN,
    SUFFIXES,
    Context,
    ascii_slug,
    delete,
    every,
    ident,
    phone,
)

ROLES: tuple[str, ...] = (
    "admin",
    "attorney",
    "attorney",
    "paralegal",
    "case_manager",
    "attorney",
    "intake_specialist",
    "paralegal",
)
ORG_TYPES: tuple[str, ...] = ("Insurance Carrier", "Law Firm", "Medical Provider", "Corporate Client", "Government")
ORG_SUFFIX = {
    "Insurance Carrier": "Insurance Co.",
    "Law Firm": "LLP",
    "Medical Provider": "Medical Group",
    "Corporate Client": "Inc.",
    "Government": "County",
}
CONTACT_TYPES: tuple[str, ...] = (
    "Client",
    "Client",
    "Client",
    "Opposing Party",
    "Witness",
    "Medical Provider",
    "Insurance Adjuster",
    "Opposing Counsel",
    "Referral Source",
)
MISSING_ORG = "o-99999"


def users(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` staff users cycling through the roles; emails unique."""
    out = []
    for i, first, last, email in ctx.people(n, FIRM_DOMAIN):
        shown = f"{first}.{last}@{FIRM_DOMAIN}".replace(" ", "") if every(i, 4, 1) else email
        out.append(
            {
                "id": ident("users", i),
                "email": shown,
                "upn": email,
                "display_name": f"{first} {last}",
                "role": ROLES[i % len(ROLES)],
                "active": not every(i, 6, 4),
                "licensed": not every(i, 5, 2),
                **ctx.stamps(max_days=2500),
            }
        )
    return out


def _org_variant(name: str, i: int) -> str:
    return (name.upper().rstrip("."), f"{name},", f" {name} ")[(i // 8) % 3]


def organizations(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` organizations (insurers, firms, providers, corporate clients) with the dirty classes above."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        org_type = ORG_TYPES[i % len(ORG_TYPES)]
        if every(i, 8, 6) and i >= 8:
            original = out[i - 6]
            org_type, name = original["org_type"], _org_variant(original["name"], i)
        else:
            name = f"{ctx.fake.last_name()} {ORG_SUFFIX[org_type]}"
        doc = {
            "id": ident("organizations", i),
            "name": name,
            "org_type": org_type,
            "address": {
                "line1": ctx.fake.street_address(),
                "city": ctx.fake.city(),
                "state": ctx.fake.state_abbr(),
                "postal_code": ctx.fake.postcode(),
            },
            "custom_fields": gen_config.organization_values(ctx, i),
            **ctx.stamps(),
        }
        out.append(delete(doc) if every(i, 20, 9) else doc)
    return out


def _person_name(ctx: Context, i: int, first: str, last: str) -> str:
    if every(i, 25, 3):
        return first
    if every(i, 10, 5):
        return f"{last}, {first}"
    if every(i, 20, 7):
        suffix = SUFFIXES[(i // 20) % len(SUFFIXES)]
        return f"{first} {last}, {suffix}" if suffix == "Esq." else f"{first} {last} {suffix}"
    if every(i, 30, 11):
        return f"{last} & {ctx.fake.last_name()} LLP"
    return f"{first} {last}"


def _organization(ctx: Context, i: int) -> tuple[str | None, str | None]:
    live, dead = ctx.live("organizations"), ctx.dead("organizations")
    if every(i, 30, 17):
        return MISSING_ORG, f"{ctx.fake.last_name()} Holdings"
    if every(i, 40, 23) and dead:
        org = dead[i % len(dead)]
        return org["id"], org["name"]
    if ctx.rng.random() < 0.45:
        org = ctx.rng.choice(live)
        return org["id"], org["name"]
    return None, None


def _phones(ctx: Context, i: int) -> list[dict[str, str]]:
    phones = [{"label": "mobile", "number": phone(ctx.rng, i)}]
    if ctx.rng.random() < 0.3:
        phones.append({"label": "work", "number": phone(ctx.rng, i + 1)})
    return phones


def _organization_contact(ctx: Context, i: int) -> dict[str, Any]:
    org = ctx.rng.choice(ctx.live("organizations"))
    return {
        "full_name": org["name"],
        "email": f"info@{ascii_slug(org['name'])[:20]}.example",
        "phones": [{"label": "main", "number": phone(ctx.rng, i)}],
        "organization_id": org["id"],
        "organization_name": org["name"],
        "contact_type": "Organization",
        "is_organization": True,
    }


def _person_contact(ctx: Context, i: int, out: list[dict[str, Any]]) -> dict[str, Any]:
    if every(i, 25, 13) and i >= 25 and not out[i - 13]["is_organization"]:
        twin = out[i - 13]
        email = twin["email"].upper() if twin["email"] else None
        phones = [{**p, "number": p["number"].replace("-", " ")} for p in twin["phones"]]
        return {
            **{k: twin[k] for k in ("full_name", "organization_id", "organization_name", "contact_type")},
            "email": email,
            "phones": phones,
            "is_organization": False,
        }
    first, last = ctx.fake.first_name(), ctx.fake.last_name()
    org_id, org_name = _organization(ctx, i)
    return {
        "full_name": _person_name(ctx, i, first, last),
        "email": None
        if ctx.rng.random() < 0.08
        else f"{ascii_slug(first)}.{ascii_slug(last)}@{ctx.fake.free_email_domain()}",
        "phones": _phones(ctx, i),
        "organization_id": org_id,
        "organization_name": org_name,
        "contact_type": ctx.rng.choice(CONTACT_TYPES),
        "is_organization": False,
    }


def contacts(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` contacts (people and organizations) with the dirty classes above."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        fields = _organization_contact(ctx, i) if every(i, 8, 0) else _person_contact(ctx, i, out)
        doc = {
            "id": ident("contacts", i),
            **fields,
            "custom_fields": gen_config.contact_values(ctx, i),
            **ctx.stamps(naive=every(i, 10, 4)),
        }
        out.append(delete(doc) if every(i, 50, 31) else doc)
    return out
