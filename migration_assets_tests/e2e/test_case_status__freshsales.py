"""Case Status -> Freshsales end to end on the sandboxes: the schema plan applied by the sandbox's
admin (`migrate sandbox apply-schema-plan`), sample, approve, full (every seed 002 row read back
from the Freshsales emulator), a second full run without duplicates, a simulated delta, and a
rollback to the snapshot taken before the migration. The refusal without the admin's setup, the
hourly budget and a dropdown value outside the choices are in test_case_status__freshsales_budget.py."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import yaml

from migration_assets.cli import main as migrate
from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.defs.phases import delta_partition_key
from migration_assets.defs.schema_plan import run_schema_plan
from migration_assets.reports.run_report import build_report, diff_totals, object_counts
from migration_assets.sandbox.case_status.gen_common import UNKNOWN_STATUS
from migration_assets.sandbox.case_status.simulate import simulate_delta
from migration_assets.sandbox.freshsales import seed as fs_seed
from migration_assets.sandbox.seeding import FALLBACK_OWNER
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.expressions import company_key
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up

PAIR = "case_status__freshsales"
SCALE = 60
# The emulator's real limits (1,000 requests an hour, 400 a minute) would stretch these tests to
# hours: the limits are raised here and exercised in test_case_status__freshsales_budget.py.
ROOMY = {"freshsales": {"hourly_limit": 1_000_000, "minute_limit": 1_000_000, "bulk_polls_until_done": 1}}
# No client-side pacing or pause between job polls in process (the spec keeps the real 6 requests/s).
FAST = {"rate_per_second": 10_000, "bulk_poll_interval": 0}
PIPELINE_STAGE = {"Closed Won": "Won", "Closed Lost": "Lost", "Closed": "Closed"}  # every other stage is Open
RECORD_OBJECTS = ("account", "contact", "deal", "email_activity", "message_task", "meeting", "note")


def spec_dir(tmp_path: Path, *, keep: tuple[str, ...] | None = None, **destination_options: Any) -> Path:
    """The pair's spec with FAST client options (and `keep`: only these objects and their schema)."""
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    spec = yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text())
    spec["destination_options"] |= {**FAST, **destination_options}
    spec["options"]["load"]["rate_per_second"] = 10_000
    if keep is not None:
        spec["objects"] = {k: v for k, v in spec["objects"].items() if k in keep}
        tables = {o["table"] for o in spec["objects"].values()}
        spec["schema"] = {k: v for k, v in spec["schema"].items() if k in tables}
        spec.pop("exports")
    (folder / f"{PAIR}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def destination(workbench):
    connection = resolve_connection("freshsales", state_dir=workbench.paths.sandbox, environ={})
    return open_destination("freshsales", replace(connection, options=FAST))


def report(workbench, phase: str) -> dict:
    """The run report, destination counts included (counting notes and files costs a request per
    record that can hold them: the counts of the other phases come from `counts`)."""
    spec = workbench.spec(PAIR)
    with duckdb.connect(str(workbench.paths.staging_db(PAIR))) as conn:
        return build_report(conn, spec, phase, destination(workbench))


def counts(workbench, phase: str) -> dict:
    """The run report's counts and diff totals, from staging alone."""
    spec = workbench.spec(PAIR)
    with duckdb.connect(str(workbench.paths.staging_db(PAIR))) as conn:
        objects = {name: object_counts(conn, spec, name, phase) for name in spec.load_order}
        return {"objects": objects, "diff": diff_totals(conn, phase)}


def plan_schema(workbench) -> None:
    """Write the schema plan the admin follows before the first load (plan/schema_diff alone)."""
    assert run_schema_plan(workbench.defs, workbench.instance, workbench.spec(PAIR)).success


def state(workbench) -> Path:
    return system("freshsales").state_path(workbench.paths.sandbox)


def snapshot(workbench) -> dict[str, list[dict]]:
    return fs_seed.snapshot(state(workbench))


def apply_checklist(workbench, monkeypatch) -> None:
    """`migrate sandbox apply-schema-plan PAIR`, as the Freshsales admin following the checklist."""
    monkeypatch.setenv("MIGRATE_VAR_DIR", str(workbench.paths.var))
    monkeypatch.setenv("MIGRATE_SPEC_DIR", str(workbench.spec_dir))
    assert migrate(["sandbox", "apply-schema-plan", PAIR]) == 0


def loaded(workbench, obj: str, phase: str = "full") -> set[str]:
    rows = workbench.sql(
        PAIR, "select distinct external_id from ledger where object = ? and phase = ? and outcome = 'ok'", [obj, phase]
    )
    return {r[0] for r in rows}


def by_key(records: list[dict]) -> dict[str, dict]:
    return {r["custom_field"]["cf_source_system_id"]: r for r in records}


def marker(record: dict) -> str:
    """The Source System ID a task, appointment or note keeps as the last line of its description."""
    return record["description"].rsplit("[cf_source_system_id=", 1)[1].rstrip("]")


def _folded(stage: str) -> str:
    return stage.casefold().replace("-", "").replace(" ", "")


def utc(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_utc(text: str) -> str:
    return utc(text if text.endswith("Z") or "+" in text[10:] else text + "Z")


def test_sample_full_rerun_delta_and_rollback_on_freshsales(workbench, tmp_path, monkeypatch):
    workbench.spec_dir = spec_dir(tmp_path)
    workbench.seed(scale=SCALE, options=ROOMY)
    before = snapshot(workbench)
    plan_schema(workbench)
    apply_checklist(workbench, monkeypatch)

    sample = workbench.run(PAIR, "sample")
    assert sample.success and not sample.failed_checks, (sample.failures, sample.failed_checks)
    sample_counts = counts(workbench, "sample")
    assert_counts_add_up(sample_counts)
    assert sample_counts["diff"]["mismatches"] == 0
    assert workbench.approve(PAIR).success

    full = workbench.run(PAIR, "full")
    assert full.success and not full.failed_checks, (full.failures, full.failed_checks)
    first = report(workbench, "full")
    assert_counts_add_up(first)
    assert first["diff"]["mismatches"] == 0, first["diff"]
    assert first["diff"]["fields_compared"] > first["diff"]["records_compared"] > 250
    for name in RECORD_OBJECTS:
        assert first["objects"][name]["destination_count"] == first["objects"][name]["loaded"] > 0, name
    reasons = [r[0] for r in workbench.sql(PAIR, "select reason from quarantine where _phase = 'full'")]
    # the stage discovery found in the data is mapped (to Closed) in the spec, so no matter is held for it
    assert not any("value map matter_stage" in r for r in reasons)
    assert any("contact_ids: no contact to link to" in r for r in reasons)  # a case without a client
    partial = [r[0] for r in workbench.sql(PAIR, "select reason from partial_fields where _phase = 'full'")]
    assert any("is not valid JSON" in r for r in partial)  # broken custom properties: loaded without them
    read_back_every_row(workbench)

    # a second full run writes no duplicate
    snap = snapshot(workbench)
    again = workbench.run(PAIR, "full")
    assert again.success and not again.failed_checks, (again.failures, again.failed_checks)
    assert counts(workbench, "full")["diff"]["mismatches"] == 0
    assert {e: len(r) for e, r in snapshot(workbench).items()} == {e: len(r) for e, r in snap.items()}
    for entity in ("contacts", "sales_accounts", "deals", "sales_activities"):
        keys = [r["custom_field"]["cf_source_system_id"] for r in snapshot(workbench)[entity]]
        assert len(keys) == len(set(keys)), entity

    # a cutover burst picked up as a delta: the new case arrives, the closed ones change stage
    changes = simulate_delta(system("case_status").state_path(workbench.paths.sandbox))
    delta = delta_partition_key(datetime.now(UTC))
    outcome = workbench.run(PAIR, delta)
    assert outcome.success and not outcome.failed_checks, (outcome.failures, outcome.failed_checks)
    delta_counts = counts(workbench, delta)
    assert_counts_add_up(delta_counts, every_object_has_rows=False)
    assert delta_counts["diff"]["mismatches"] == 0 and delta_counts["objects"]["deal"]["loaded"] >= 1
    deals = by_key(snapshot(workbench)["deals"])
    new_case = changes["created"][1].split("/")[1]
    assert deals[new_case]["name"] == "Cutover v. Window" and deals[new_case]["amount"] == 0
    for case in (c.split("/")[1] for c in changes["updated"]):
        if case in deals:
            assert deals[case]["custom_field"]["cf_matter_stage"] == "Closed"

    rolled = workbench.rollback(PAIR)
    assert rolled.success
    assert snapshot(workbench) == before


def read_back_every_row(workbench) -> None:
    """Every mapping row of seed 002, read back from the Freshsales emulator's records."""
    snap = snapshot(workbench)
    users = {str(u["id"]): u for u in asyncio.run(_users(workbench))}
    accounts, contacts, deals = (by_key(snap[e]) for e in ("sales_accounts", "contacts", "deals"))
    clients = {str(r[0]): r for r in workbench.sql(PAIR, "select id, company, last_name, email, custom_properties "
                                                       "from extract__clients where _phase = 'full'")}
    cases = {str(r[0]): r for r in workbench.sql(PAIR, "select id, client_ids, case_value, expected_close_date, "
                                                     "primary_attorney_id, status, created_at, name, readable_id "
                                                     "from extract__cases where _phase = 'full'")}
    people = {str(r[0]): r for r in workbench.sql(PAIR, "select id, email, first_name, last_name, active "
                                                      "from extract__users where _phase = 'full'")}

    # Client -> Contact + Account: one account per firm, a client without a firm -> its last name
    firm = {cid: company_key(c[1]) or cid for cid, c in clients.items()}
    assert len(accounts) < len(contacts)
    for ext, contact in contacts.items():
        (link,) = [a for a in contact["sales_accounts"] if a["is_primary"]]
        account = next(a for a in accounts.values() if a["id"] == link["id"])
        assert account["custom_field"]["cf_source_system_id"] == firm[ext]
        if not company_key(clients[ext][1]) and (clients[ext][2] or "").strip():
            assert account["name"] == clients[ext][2].strip()
        assert contact["emails"][0]["value"] == clients[ext][3].strip().lower()

    # Matter/Case -> Deal: name, amount, close date, owner, attorney kept, stage value by value, pipeline
    fallback = next(i for i, u in users.items() if u["email"].lower() == FALLBACK_OWNER)
    pipelines = {p["name"]: p for p in asyncio.run(_pipelines(workbench))}
    legal = pipelines["Legal Matters"]
    for ext, deal in deals.items():
        case = cases[ext]
        cf = deal["custom_field"]
        assert deal["name"] == ((case[7] or "").strip() or case[8]) and deal["expected_close"] == case[3]
        assert float(deal["amount"]) == float(case[2].replace("$", "").replace(",", ""))
        assert deal["deal_pipeline_id"] == legal["id"]
        stage = next(s["name"] for s in legal["deal_stages"] if s["id"] == deal["deal_stage_id"])
        assert stage == PIPELINE_STAGE.get(cf["cf_matter_stage"], "Open")
        source_stage = "Closed" if case[5] == UNKNOWN_STATUS else case[5]
        assert _folded(cf["cf_matter_stage"]) == _folded(source_stage)
        attorney = people.get(str(case[4]))
        if attorney is None:
            assert cf["cf_attorney_email"] is None and str(deal["owner_id"]) == fallback
        else:
            assert cf["cf_attorney_email"] == attorney[1].lower()
            owner = users[str(deal["owner_id"])]
            assert owner["email"].lower() == attorney[1].lower() or str(deal["owner_id"]) == fallback
        assert utc(cf["cf_original_create_date"]) == source_utc(case[6])
        # Matter-Client relationship -> deal-contact associations, primary first, secondary clients after
        client_ids = [str(c) for c in json.loads(case[1])]
        assert deal["contact_ids"] == [contacts[c]["id"] for c in client_ids if c in contacts]
        primary_firm = accounts[firm[client_ids[0]]]
        assert deal["sales_account_id"] == primary_firm["id"]
    assert {d["custom_field"]["cf_matter_stage"] for d in deals.values()} >= {"Negotiation", "On Hold", "Closed Won"}
    assert any(len(d["contact_ids"]) == 2 for d in deals.values())
    # unmatched or deactivated attorneys were flagged before the load (plan/owners) and own nothing
    flagged = json.loads((workbench.paths.report_dir(PAIR) / "owners_full.json").read_text())["people"]
    assert {p["status"] for p in flagged} >= {"matched", "unmatched", "disabled"}
    owned = [*deals.values(), *snap["sales_activities"], *snap["tasks"], *snap["appointments"]]
    assert any(str(r["owner_id"]) == fallback for r in owned)  # people without an active Freshsales user

    # matter-level custom properties -> typed deal fields; client-level -> contact fields
    typed = [d["custom_field"] for d in deals.values() if d["custom_field"].get("cf_court_name")]
    assert typed and all(isinstance(c["cf_settlement_demand"], int | float) for c in typed if c["cf_settlement_demand"])
    assert all(c["cf_filing_date"] is None or "T" in c["cf_filing_date"] for c in typed)
    assert {c["custom_field"]["cf_client_type"] for c in contacts.values()} >= {"Individual", "Business"}
    assert any(c["custom_field"]["cf_referral_source"] for c in contacts.values())

    # NPS -> Client Satisfaction Score (latest 0-10 answer) and the history as JSON
    with_nps = [c for c in contacts.values() if c["custom_field"]["cf_nps_history"]]
    assert with_nps
    for contact in with_nps:
        history = json.loads(contact["custom_field"]["cf_nps_history"])
        valid = [h["score"] for h in history if 0 <= h["score"] <= 10]
        assert contact["custom_field"]["cf_client_satisfaction_score"] == (valid[-1] if valid else None)

    # portal activity by type -> e-mail activities, Call/Task tasks, appointments; all on the deal
    messages = {str(r[0]): r for r in workbench.sql(PAIR, "select id, type, sent_at, sender_user_id, case_id "
                                                        "from extract__messages where _phase = 'full'")}
    types = {t["id"]: t["name"] for t in asyncio.run(_selector(workbench, "sales_activity_types"))}
    deal_ids = {d["id"] for d in deals.values()}
    activities = by_key(snap["sales_activities"])
    assert activities and all(messages[e][1] == "client_message" for e in activities)
    for ext, activity in activities.items():
        assert types[activity["sales_activity_type_id"]] == "Email"
        assert activity["targetable_type"] == "Deal" and activity["targetable_id"] in deal_ids
        assert utc(activity["start_date"]) == source_utc(messages[ext][2])
    tasks = {marker(t): t for t in snap["tasks"]}
    assert {types[t["task_type_id"]] for t in tasks.values()} == {"Call", "Task"}
    for ext, task in tasks.items():
        assert types[task["task_type_id"]] == {"call_log": "Call", "case_update": "Task"}[messages[ext][1]]
        assert utc(task["due_date"]) == source_utc(messages[ext][2]) and task["status"] == 1
    meetings = {marker(a): a for a in snap["appointments"]}
    assert meetings and all(messages[e][1] == "meeting_note" for e in meetings)
    contact_ids = {c["id"] for c in contacts.values()}
    for appointment in meetings.values():
        kinds = {a["attendee_type"] for a in appointment["appointment_attendees"]}
        assert appointment["targetable_id"] in deal_ids and kinds & {"Contact", "FdMultitenant::User"}
        assert all(a["attendee_id"] in contact_ids for a in appointment["appointment_attendees"]
                   if a["attendee_type"] == "Contact")
    with_sender = [e for e, a in activities.items() if messages[e][3]]
    assert any(users[str(activities[e]["owner_id"])]["email"].lower() == people[str(messages[e][3])][1].lower()
               for e in with_sender)  # attorney attribution

    # case notes on the deal; attachments and inline images as files of the deal, limits reported
    notes = {marker(n): n for n in snap["notes"]}
    assert notes and all(n["targetable_type"] == "Deal" for n in notes.values())
    assert not any("<script" in n["description"] or "data:image" in n["description"] for n in notes.values())
    documents = snap["documents"]
    assert all(d["targetable_type"] == "Deal" and d["targetable_id"] in deal_ids for d in documents)
    images = [d for d in documents if d["file_name"].startswith("note-")]
    assert len(images) == len(loaded(workbench, "note_image")) > 0
    assert len(documents) - len(images) == len(loaded(workbench, "document"))
    skipped = [r[0] for r in workbench.sql(PAIR, "select reason from excluded where object = 'document'")]
    assert skipped and all("above the 20971520-byte limit" in r for r in skipped)

    # Source System ID and original dates on every record that can hold them
    for entity in ("sales_accounts", "contacts", "deals", "sales_activities"):
        assert all(r["custom_field"]["cf_source_system_id"] for r in snap[entity]), entity
    assert all(c["custom_field"]["cf_original_create_date"] for c in contacts.values())

    # automations and portal configuration -> JSON exports with a Freshsales rebuild guide
    exports = workbench.paths.report_dir(PAIR) / "exports"
    guides = " ".join(p.read_text() for p in exports.glob("*.md"))
    assert "Freshsales Workflows" in guides and list(exports.glob("*.json"))


async def _users(workbench) -> list[dict]:
    dest = destination(workbench)
    try:
        return [u.__dict__ | {"id": u.id, "email": u.email or ""} for u in await dest.users()]
    finally:
        await dest.aclose()


async def _pipelines(workbench) -> list[dict]:
    return await _selector(workbench, "deal_pipelines")


async def _selector(workbench, name: str) -> list[dict]:
    dest = destination(workbench)
    try:
        return await dest.account.selector(name, refresh=True)
    finally:
        await dest.aclose()
