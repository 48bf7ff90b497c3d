"""Generator of the Interactive core records: companies, contacts and deals, with their links.

Dirty kinds planted here, 1-in-n by position (so each is present from the sizes noted):
- companies (0.6 x scale): archived 1/30 (and always the last one); a parent loop A->B->A 1/30
  (pairs); their own parent 1/40; an archived parent 1/30; a normal parent 1/6; unicode/RTL/emoji
  names 1/20; an archived owner 1/25; an owner id that exists nowhere 1/40;
- contacts (1.5 x scale): no email 1/20; the email of an earlier contact (exact or case variant)
  1/25; no company 1/15; two companies and no primary 1/20 (clean: two with a primary 1/10);
  lifecycle 'prospect' 1/30 and 'active' 1/30 (outside HubSpot's options); a customer whose lead
  and opportunity stages were skipped 1/12; unicode/RTL/emoji names 1/20; an archived owner
  1/25, an absent owner 1/40, no owner 1/30; `matter_open_date` as epoch ms, ISO without zone and
  ISO with offset 1/10 each; archived 1/40;
- deals (scale): a stage in no pipeline 1/30; another pipeline's stage 1/25; closed won without
  a close date 1/30; amount "1,200.50" style 1/20 and "" 1/20; no company 1/15; an archived owner
  1/25, an absent owner 1/40; archived 1/40.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from migration_assets.sandbox.interactive.gen_common import (
    ID_BASE,
    UNICODE_COMPANIES,
    UNICODE_NAMES,
    Context,
    ascii_slug,
    every,
    iso,
    mixed_date,
    number,
)
from migration_assets.sandbox.interactive.gen_config import ESTATE_PIPELINE
from migration_assets.sandbox.interactive.objects import LEAD_STATUSES, LIFECYCLE_STAGES

LIFECYCLE_WEIGHTS = (8, 25, 12, 10, 10, 25, 5, 5)
LEADISH = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "prospect")
PATH = ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")
MISSING_STAGE = "legacy_retainer_signed"


def owner(ctx: Context, i: int, *, none_at: int | None = None) -> str | None:
    """An owner id: 1 in 25 an archived owner, 1 in 40 one that exists nowhere, else an active one."""
    people = ctx.resources["owners"]
    gone = [o["id"] for o in people if o["archived"]]
    if every(i, 25, 8) and gone:
        return gone[(i // 25) % len(gone)]
    if every(i, 40, 17):
        return str(ID_BASE["owners"] + 900 + i % 7)
    if none_at is not None and every(i, 30, none_at):
        return None
    return ctx.rng.choice([o["id"] for o in people if not o["archived"]])


def companies(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` companies; parents are set by `_parents` once every id exists."""
    archived = {j for j in range(n) if every(j, 30, 29)} | {n - 1}
    out = []
    for i in range(n):
        name = UNICODE_COMPANIES[(i // 20) % len(UNICODE_COMPANIES)] if every(i, 20, 13) else ctx.fake.company()
        props = {
            "name": name,
            "domain": f"{ascii_slug(name)[:24] or 'firm'}{i}.example",
            "phone": ctx.fake.phone_number(),
            "industry": ctx.rng.choice(("LEGAL_SERVICES", "ACCOUNTING", "FINANCIAL_SERVICES", "REAL_ESTATE")),
            "city": ctx.fake.city(),
            "state": ctx.fake.state_abbr(),
            "country": "United States",
            "numberofemployees": str(ctx.rng.randint(1, 900)),
            "annualrevenue": number(ctx.rng.randint(50, 90000) * 1000),
            "description": ctx.fake.catch_phrase(),
            "lifecyclestage": ctx.rng.choice(("lead", "customer", "opportunity")),
            "type": ctx.rng.choice(("PROSPECT", "PARTNER", "VENDOR", "OTHER")),
            "firm_tier": ctx.rng.choice(("gold", "silver", "bronze")),
            "hubspot_owner_id": owner(ctx, i),
        }
        out.append(ctx.record("companies", i, props, archived=i in archived))
    _parents(ctx, out, sorted(archived))
    return out


def _parents(ctx: Context, out: list[dict[str, Any]], archived: list[int]) -> None:
    """Parent companies: loops (A->B->A), self parents, archived parents and plain hierarchies."""
    parent: dict[int, int] = {}
    for i in range(len(out)):
        if i in parent:
            continue
        if every(i, 30, 10) and i + 1 < len(out):
            parent[i], parent[i + 1] = i + 1, i
        elif every(i, 40, 21):
            parent[i] = i
        elif every(i, 30, 15) and [a for a in archived if a != i]:
            parent[i] = next(a for a in archived if a != i)
        elif every(i, 6, 2) and i > 0:
            parent[i] = ctx.rng.choice([j for j in range(i) if j not in archived] or [0])
    for child, of in sorted(parent.items()):
        out[child]["props"]["hs_parent_company_id"] = str(out[of]["id"])
        ctx.link("companies", out[child]["id"], out[of]["id"], 14)


def _email(ctx: Context, i: int, first: str, last: str, out: list[dict[str, Any]]) -> str | None:
    if every(i, 20, 3):
        return None
    if every(i, 25, 11) and i >= 25:
        earlier = next((c["props"].get("email") for c in reversed(out[: i - 10]) if c["props"].get("email")), None)
        if earlier:
            return earlier if (i // 25) % 2 else earlier.upper()
    return f"{ascii_slug(first) or 'contact'}.{ascii_slug(last) or 'x'}{i}@{ctx.fake.free_email_domain()}"


def _lifecycle(ctx: Context, i: int) -> str:
    if every(i, 30, 7):
        return "prospect"
    if every(i, 30, 22):
        return "active"
    if every(i, 12, 5):
        return "customer"
    return ctx.rng.choices([v for v, _ in LIFECYCLE_STAGES], weights=LIFECYCLE_WEIGHTS)[0]


def _stage_dates(i: int, stage: str, created: str, updated: str) -> dict[str, str]:
    """`hs_lifecyclestage_<stage>_date` along the path up to `stage`; a skipped customer (1 in 12)
    has only its customer date."""
    start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    span = datetime.fromisoformat(updated.replace("Z", "+00:00")) - start
    reached = {"prospect": "lead", "active": "customer"}.get(stage, stage)
    if reached not in PATH:
        return {}
    steps = PATH[: PATH.index(reached) + 1]
    if every(i, 12, 5) and reached == "customer":
        steps = ("customer",)
    return {f"hs_lifecyclestage_{s}_date": iso(start + span * (n + 1) / (len(steps) + 1)) for n, s in enumerate(steps)}


def contacts(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` contacts with the dirty kinds of the module docstring, linked to companies."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        if every(i, 20, 13):
            first, last = UNICODE_NAMES[(i // 20) % len(UNICODE_NAMES)]
        else:
            first, last = ctx.fake.first_name(), ctx.fake.last_name()
        stage = _lifecycle(ctx, i)
        opened = datetime.fromisoformat(ctx.stamps()[0].replace("Z", "+00:00"))
        props = {
            "firstname": first,
            "lastname": last,
            "email": _email(ctx, i, first, last, out),
            "phone": ctx.fake.phone_number(),
            "jobtitle": ctx.fake.job(),
            "city": ctx.fake.city(),
            "state": ctx.fake.state_abbr(),
            "country": "United States",
            "date_of_birth": (opened - timedelta(days=ctx.rng.randint(9000, 30000))).date().isoformat(),
            "lifecyclestage": stage,
            "hs_lead_status": ctx.rng.choice(LEAD_STATUSES)[0] if stage in LEADISH else None,
            "estate_plan_type": ctx.rng.choice(("will", "revocable_trust", "power_of_attorney", None)),
            "practice_areas": ";".join(ctx.rng.sample(("estate_planning", "probate", "elder_law", "tax_planning"), 2)),
            "marital_status": ctx.rng.choice(("single", "married", "married", "widowed", "divorced")),
            "matter_open_date": mixed_date(opened, i),
            "referral_source": ctx.rng.choice(("Google", "Referral", "Seminar", "Past client")),
            "hubspot_owner_id": owner(ctx, i, none_at=12),
        }
        record = ctx.record("contacts", i, props, archived=every(i, 40, 39))
        record["props"] |= _stage_dates(i, stage, record["created_at"], record["updated_at"])
        _companies_of(ctx, i, record)
        out.append(record)
    return out


def _companies_of(ctx: Context, i: int, contact: dict[str, Any]) -> None:
    """No company (1/15), two without a primary (1/20), two with one (1/10), else one primary."""
    pool = ctx.live("companies")
    if every(i, 15, 6) or not pool:
        return
    picked = ctx.rng.sample(pool, k=min(2, len(pool))) if every(i, 20, 9) or every(i, 10, 4) else [ctx.rng.choice(pool)]
    primary = None if every(i, 20, 9) else picked[0]
    for company in picked:
        ids = (279, 1) if company is primary else (279,)
        ctx.link("contacts", contact["id"], company["id"], *ids)
    if primary is not None:
        contact["props"]["associatedcompanyid"] = str(primary["id"])
        contact["props"]["company"] = primary["props"]["name"]
        ctx.primary_company[contact["id"]] = primary["id"]


def _deal_stage(ctx: Context, i: int, pipelines: list[dict[str, Any]]) -> tuple[str, str, bool]:
    """(pipeline id, stage id, whether the deal lacks its close date)."""
    pipe = ctx.rng.choices(pipelines, weights=(7, 3))[0]
    stages = pipe["stages"]
    open_stages = [s for s in stages if s["metadata"]["isClosed"] == "false"]
    closed = [s for s in stages if s["metadata"]["isClosed"] == "true"]
    if every(i, 30, 4):
        return pipe["id"], MISSING_STAGE, False
    if every(i, 25, 12):
        other = next(p for p in pipelines if p["id"] != pipe["id"])
        return pipe["id"], ctx.rng.choice(other["stages"])["id"], False
    if every(i, 30, 19):
        return pipe["id"], closed[0]["id"], True
    stage = ctx.rng.choices([ctx.rng.choice(open_stages), closed[0], closed[1]], weights=(75, 15, 10))[0]
    return pipe["id"], stage["id"], False


def _amount(ctx: Context, i: int) -> str:
    value = ctx.rng.randint(400, 250_000) + ctx.rng.choice((0, 0, 0.5))
    if every(i, 20, 6):
        return f"{value if value >= 1000 else value + 1000:,.2f}"  # "1,200.50": separators, as typed
    if every(i, 20, 16):
        return ""
    return number(value)


def deals(ctx: Context, n: int) -> list[dict[str, Any]]:
    """`n` deals on both pipelines, linked to contacts and (usually) the first contact's company."""
    pipelines = ctx.resources["pipelines"]
    people = ctx.live("contacts")
    out = []
    for i in range(n):
        pipeline, stage, no_close = _deal_stage(ctx, i, pipelines)
        buyers = ctx.rng.sample(people, k=min(len(people), ctx.rng.choice((1, 1, 2))))
        surname = (buyers[0]["props"].get("lastname") or "Client") if buyers else "Client"
        kind = (
            "Estate Plan" if pipeline == ESTATE_PIPELINE else ctx.rng.choice(("Trust Review", "Probate", "Will Update"))
        )
        closes = ctx.stamps(max_days=400)[1]
        props = {
            "dealname": f"{surname} {kind}",
            "amount": _amount(ctx, i),
            "closedate": None if no_close else closes,
            "pipeline": pipeline,
            "dealstage": stage,
            "dealtype": ctx.rng.choice(("newbusiness", "existingbusiness")),
            "description": ctx.fake.sentence(),
            "deal_currency_code": "USD",
            "matter_type": ctx.rng.choice(("estate_plan", "trust_administration", "probate", "elder_law")),
            "hubspot_owner_id": owner(ctx, i),
        }
        record = ctx.record("deals", i, props, archived=every(i, 40, 33))
        for buyer in buyers:
            ctx.link("deals", record["id"], buyer["id"], 3)
        company = ctx.primary_company.get(buyers[0]["id"]) if buyers else None
        if company is not None and not every(i, 15, 7):
            ctx.link("deals", record["id"], company, 5, 341)
        out.append(record)
    return out
