"""Generator of BackDocket configuration: custom field definitions, the custom field values each
record carries, workflows and merge templates.

Custom field values live in each record's `custom_fields` object keyed by the definition id: a list
for multi_select, HTML text for formatted_text, `{"formula", "value"}` for computed, plain JSON
values otherwise. Dirty classes planted here (1-in-n by the record's position i):
- formatted text with broken HTML (unclosed or mis-nested tags): matters 1/15 (i%15==2), claims 1/15
  (i%15==6);
- multi-select values outside the definition's options: matters 1/15 (i%15==6), claims 1/15
  (i%15==9);
- computed values null: matters' "Days Open" 1/10 (i%10==3); claims' "Attorney Fee" whenever the
  claim has no settlement_amount (its formula has no input);
- optional fields left out of the object: about 1 in 5 per field (a missing key, not null).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from migration_assets.sandbox.backdocket.gen_common import BASE, Context, every, ident

# id, entity, label, type, options, formula
DEFINITIONS: tuple[tuple[str, str, str, str, tuple[str, ...], str | None], ...] = (
    ("cf_1", "contacts", "Preferred Language", "picklist", ("English", "Spanish", "Polish", "Vietnamese"), None),
    ("cf_2", "contacts", "Date of Birth", "date", (), None),
    ("cf_3", "contacts", "Referral Channel", "picklist", ("Google", "Past Client", "Attorney Referral", "TV"), None),
    ("cf_4", "organizations", "Account Number", "text", (), None),
    ("cf_5", "organizations", "Preferred Vendor", "picklist", ("Yes", "No"), None),
    ("cf_6", "matters", "Venue Type", "picklist", ("State", "Federal", "Administrative", "Arbitration"), None),
    ("cf_7", "matters", "Case Summary", "formatted_text", (), None),
    ("cf_8", "matters", "Practice Tags", "multi_select", ("Litigation", "Pre-Litigation", "Appeal", "Expedited"), None),
    ("cf_9", "matters", "Contingency Percent", "number", (), None),
    ("cf_10", "matters", "Days Open", "computed", (), "days_between(opening_date, today())"),
    ("cf_11", "claims", "Policy Limit", "number", (), None),
    ("cf_12", "claims", "Injuries", "multi_select", ("Neck", "Back", "Head", "Shoulder", "Knee", "Wrist"), None),
    ("cf_13", "claims", "Incident Date", "date", (), None),
    ("cf_14", "claims", "Lien Notes", "formatted_text", (), None),
    ("cf_15", "claims", "Intake Source", "text", (), None),
    ("cf_20", "claims", "Attorney Fee", "computed", (), "settlement_amount*0.33"),
)
OPTIONS = {d[0]: d[4] for d in DEFINITIONS}
OUTSIDE_OPTIONS = {"cf_8": "Pro Bono", "cf_12": "Whiplash"}
BROKEN_HTML: tuple[str, ...] = (
    "<p><b>Hold</b> lien until {name} signs",
    "<div><ul><li>Medicare lien {name}</div>",
    "<p>Balance due <i>pending review</p></i>",
    "<table><tr><td>{name}</td>",
)


def definitions(ctx: Context) -> list[dict[str, Any]]:
    """The custom field definitions (`/api/v1/custom-fields`)."""
    out = []
    for cf_id, entity, label, type_, options, formula in DEFINITIONS:
        out.append(
            {
                "id": cf_id,
                "entity": entity,
                "label": label,
                "type": type_,
                "options": list(options),
                "formula": formula,
                **ctx.stamps(max_days=2000),
            }
        )
    return out


def _keep(ctx: Context) -> bool:
    return ctx.rng.random() >= 0.2


def _pick(ctx: Context, cf_id: str, k: int) -> list[str]:
    options = OPTIONS[cf_id]
    return ctx.rng.sample(options, k=min(k, len(options)))


def _html(ctx: Context, broken: bool, name: str) -> str:
    if broken:
        return ctx.rng.choice(BROKEN_HTML).format(name=name)
    return f"<p><b>{name}</b>: {ctx.fake.sentence(nb_words=8)}</p><ul><li>{ctx.fake.sentence(nb_words=5)}</li></ul>"


def contact_values(ctx: Context, i: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if _keep(ctx):
        values["cf_1"] = ctx.rng.choice(OPTIONS["cf_1"])
    if _keep(ctx):
        values["cf_2"] = ctx.day(back=30000, ahead=-6600).isoformat()
    if _keep(ctx):
        values["cf_3"] = ctx.rng.choice(OPTIONS["cf_3"])
    return values


def organization_values(ctx: Context, i: int) -> dict[str, Any]:
    values: dict[str, Any] = {"cf_5": ctx.rng.choice(OPTIONS["cf_5"])}
    if _keep(ctx):
        values["cf_4"] = f"ACC-{ctx.rng.randint(10000, 99999)}"
    return values


def matter_values(ctx: Context, i: int, opening_date: str, name: str) -> dict[str, Any]:
    tags = _pick(ctx, "cf_8", ctx.rng.randint(1, 2))
    if every(i, 15, 6):
        tags.append(OUTSIDE_OPTIONS["cf_8"])
    days = (BASE.date() - date.fromisoformat(opening_date)).days
    values: dict[str, Any] = {
        "cf_6": ctx.rng.choice(OPTIONS["cf_6"]),
        "cf_7": _html(ctx, every(i, 15, 2), name),
        "cf_8": tags,
        "cf_10": {"formula": DEFINITIONS[9][5], "value": None if every(i, 10, 3) else days},
    }
    if _keep(ctx):
        values["cf_9"] = ctx.rng.choice((25, 33.33, 33.3333, 40))
    return values


def claim_values(ctx: Context, i: int, settlement: str | None, name: str) -> dict[str, Any]:
    injuries = _pick(ctx, "cf_12", ctx.rng.randint(1, 3))
    if every(i, 15, 9):
        injuries.append(OUTSIDE_OPTIONS["cf_12"])
    fee = round(float(settlement) * 0.33, 2) if settlement is not None else None
    values: dict[str, Any] = {
        "cf_12": injuries,
        "cf_14": _html(ctx, every(i, 15, 6), name),
        "cf_20": {"formula": DEFINITIONS[15][5], "value": fee},
    }
    if _keep(ctx):
        values["cf_11"] = ctx.rng.choice((25000, 50000, 100000, 250000, 1000000))
    if _keep(ctx):
        values["cf_13"] = ctx.day().isoformat()
    if _keep(ctx):
        values["cf_15"] = ctx.rng.choice(("Web form", "Phone", "Walk-in", "Referral partner"))
    return values


WORKFLOW_TEMPLATES: tuple[tuple[str, str, str, list[str]], ...] = (
    ("New auto claim intake", "Auto", "claim_created", ["Send retainer", "Request police report", "Open PIP claim"]),
    (
        "Signed PI client onboarding",
        "Personal Injury",
        "status:Active w/Contract",
        ["Welcome call", "Request medical records", "Send HIPAA authorization"],
    ),
    ("Chase call escalation", "Auto", "status:Chase Call", ["Call prospect", "Text reminder", "Escalate to attorney"]),
    ("Workers' comp filing", "Workers' Comp", "claim_created", ["File first report", "Notify employer"]),
    ("Mass tort screening", "Mass Tort", "intake_submitted", ["Screen eligibility", "Order records"]),
    ("Immigration deadline watch", "Immigration", "deadline_approaching", ["Notify attorney", "Notify client"]),
    (
        "Settlement disbursement",
        "Personal Injury",
        "status:Closed",
        ["Check approvals", "Resolve liens", "Disburse funds"],
    ),
    ("Referral follow-up", "Family Law", "status:Referral Pending", ["Send referral packet", "Follow up in 7 days"]),
)


def workflows(ctx: Context) -> list[dict[str, Any]]:
    """Workflow definitions (read-only JSON, exported for a Power Automate rebuild)."""
    out = []
    for i, (name, claim_type, trigger, steps) in enumerate(WORKFLOW_TEMPLATES):
        event, _, status = trigger.partition(":")
        out.append(
            {
                "id": ident("workflows", i),
                "name": name,
                "claim_type": claim_type,
                "trigger": {"event": "status_changed", "to": status} if status else {"event": event},
                "conditions": [{"field": "claim_type", "op": "eq", "value": claim_type}]
                + ([{"field": "active", "op": "eq", "value": True}] if i % 2 else []),
                "steps": [
                    {"order": n, "action": "create_task", "params": {"subject": s, "due_in_days": 2 * n}}
                    for n, s in enumerate(steps, start=1)
                ],
                "active": i != 5,
                **ctx.stamps(max_days=900),
            }
        )
    return out


MERGE_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("Retainer Agreement", "matters", "docx"),
    ("Letter of Representation", "claims", "docx"),
    ("Demand Letter", "claims", "pdf"),
    ("HIPAA Authorization", "contacts", "pdf"),
    ("Lien Request", "claims", "docx"),
    ("Settlement Statement", "claims", "pdf"),
)


def merge_templates(ctx: Context) -> list[dict[str, Any]]:
    """Document merge templates (read-only JSON)."""
    fields = {
        "matters": ["matter.name", "matter.matter_number", "client.full_name", "attorney.display_name"],
        "claims": ["claim.claim_number", "claim.claim_type", "claimant.full_name", "claim.estimated_value"],
        "contacts": ["contact.full_name", "contact.email", "contact.custom_fields.cf_2"],
    }
    out = []
    for i, (name, entity, fmt) in enumerate(MERGE_TEMPLATES):
        merge_fields = fields[entity]
        body = "".join(f"<p>{{{{{f}}}}}</p>" for f in merge_fields)
        out.append(
            {
                "id": ident("merge-templates", i),
                "name": name,
                "entity": entity,
                "output_format": fmt,
                "merge_fields": merge_fields,
                "body_html": f"<h1>{name}</h1>{body}",
                **ctx.stamps(max_days=900),
            }
        )
    return out
