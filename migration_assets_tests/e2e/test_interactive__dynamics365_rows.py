"""Every mapping row of seed 004 read back from the Dataverse emulator's own records after the full
phase (`check_every_row`, called by the end-to-end test of test_interactive__dynamics365.py), the
delta's changes (`check_delta`), and the environment without SharePoint, where files become notes.

Source values come from the phase's extracts in staging (what the Interactive API returned);
destination values from `sandbox.dataverse.seed.snapshot` (lookups read back as {"id", "type"}).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import yaml

from migration_assets.connectors.interactive.client import parse_time
from migration_assets.defs.naming import asset_key
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.sandbox.interactive import mutate
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec
from migration_assets.spec.transforms.html import rich_text
from migration_assets.systems import system

PAIR = "interactive__dynamics365"
SPEC = load_spec(SPEC_DIR / f"{PAIR}.yaml").spec
LEADISH = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "prospect"}
REGARDING = {"opportunity", "contact", "account", "lead"}


# -- reading both sides -------------------------------------------------------------------------------
def extract(workbench, source_object: str, phase: str = "full") -> dict[str, dict[str, Any]]:
    """The phase's raw records of a source object by id (every value as text, JSON lists decoded)."""
    with duckdb.connect(str(workbench.paths.staging_db(PAIR)), read_only=True) as conn:
        frame = conn.sql(f"select * from extract__{source_object} where _phase = ?", params=[phase]).pl()
    out = {}
    for row in frame.iter_rows(named=True):
        for key in ("company_ids", "contact_ids", "deal_ids", "attachment_ids"):
            if key in row:
                row[key] = json.loads(row[key]) if row[key] else []
        out[str(row["id"])] = row
    return out


def destination(workbench) -> dict[str, list[dict[str, Any]]]:
    return dataverse_seed.snapshot(system("dynamics365").state_path(workbench.paths.sandbox))


def by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(r[key]): r for r in rows if r.get(key) is not None}


def ref(record: dict[str, Any], column: str) -> tuple[str, str] | None:
    value = record.get(column)
    return (value["type"], value["id"]) if value else None


def same_instant(a: str | None, b: str | None) -> bool:
    return parse_time(a).replace(microsecond=0) == parse_time(b).replace(microsecond=0)


def reasons(workbench, obj: str, table: str = "quarantine", phase: str = "full") -> list[str]:
    return [
        r[0] for r in workbench.sql(PAIR, f"select reason from {table} where _phase = ? and object = ?", [phase, obj])
    ]


def attach_an_oversize_file(workbench) -> str:
    """Attach the largest file of the source (over 25 MiB) to the first note, before any run."""
    source = workbench.source("interactive")

    async def largest() -> dict[str, Any]:
        try:
            return max([f async for page in source.extract("files") for f in page], key=lambda f: int(f["size"]))
        finally:
            await source.aclose()

    big = asyncio.run(largest())
    assert int(big["size"]) > 26214400
    state = system("interactive").state_path(workbench.paths.sandbox)
    note = mutate.live_ids(state, "notes", limit=1)[0]
    mutate.update(state, "notes", note, {"hs_attachment_ids": str(big["id"])}, at="2026-10-31T00:00:00.000Z")
    return f"{note}-{big['id']}"


# -- the rows -------------------------------------------------------------------------------------------
def check_every_row(workbench, pair: str) -> None:
    """Read back every mapping row of seed 004 after the full phase."""
    assert pair == PAIR
    snap = destination(workbench)
    accounts = by(snap["account"], "ia_company_id")
    contacts = by(snap["contact"], "ia_contact_id")
    leads = by(snap["lead"], "ia_contact_id")
    people = {**{f"contact:{k}": v for k, v in contacts.items()}, **{f"lead:{k}": v for k, v in leads.items()}}
    assert people
    check_contacts_and_routing(workbench, snap, accounts, contacts, leads)
    check_accounts_and_hierarchy(workbench, accounts)
    check_account_contacts(workbench, accounts, contacts)
    check_sales_processes_and_opportunities(workbench, snap, accounts, contacts)
    check_activities_and_notes(workbench, snap)
    check_files(workbench, snap)
    check_spouse_links(workbench, snap, contacts)
    check_owners(workbench, snap)
    check_workflow_export(workbench)


def check_contacts_and_routing(workbench, snap, accounts, contacts, leads) -> None:
    """Contact → contact (account lookup, fallback account), lifecycle routing to lead or contact with
    the original value kept on both, lead status to the closest standard value."""
    source = extract(workbench, "contacts")
    parties = {str(v) for link in extract(workbench, "spouse_links").values()
               for v in (link["client_contact_id"], link["spouse_contact_id"])}  # fmt: skip
    stages = SPEC.value_maps["lifecycle_stage"].values
    statuses = SPEC.value_maps["lead_status"].values
    fallback = accounts["ia-no-company"]
    assert fallback["name"] == "Contacts without a company (Interactive)"
    seen = Counter()
    for cid, c in source.items():
        lifecycle = (c["lifecyclestage"] or "").lower()
        to_lead = lifecycle in LEADISH and cid not in parties
        record = leads.get(cid) if to_lead else contacts.get(cid)
        assert (cid in leads, cid in contacts) == (to_lead, not to_lead), cid  # exactly one routing target
        assert record["ia_lifecyclestage"] == stages.get(lifecycle), cid  # every source value preserved
        company = c["primary_company_id"] or (c["company_ids"][0] if c["company_ids"] else None)
        if to_lead:
            assert record["ia_leadstatus"] == c["hs_lead_status"]
            assert [record["statecode"], record["statuscode"]] == statuses[c["hs_lead_status"] or "NEW"], cid
            seen["lead"] += 1
        else:
            assert record["lastname"] == c["lastname"].strip()[:50]
            expected = accounts[company] if company else fallback
            assert record["parentcustomerid"] == {"id": expected["accountid"], "type": "account"}, cid
            seen["contact without a company" if company is None else "contact"] += 1
        seen[lifecycle] += 1
    assert {"prospect", "active", "customer", "lead"} <= set(seen), seen  # the legacy labels are routed too
    assert seen["lead"] and seen["contact"] and seen["contact without a company"], seen
    assert {r["statecode"] for r in leads.values()} >= {0, 1, 2}  # new/contacted, qualified, disqualified


def check_accounts_and_hierarchy(workbench, accounts) -> None:
    """Company → account, parent → parentaccountid, placeholders for archived parents, loops broken."""
    source = extract(workbench, "companies")
    report = workbench.sql(
        PAIR, "select action, external_id, detail from hierarchy_report where _phase = 'full' and object = 'account'"
    )
    cut = {e for a, e, _d in report if a == "loop_broken"}
    placeholders = {e for a, e, _d in report if a == "placeholder"}
    assert any(" → " in d and d.count("→") == 1 for a, _e, d in report if a == "loop_broken")  # a self parent
    assert any(d.count("→") == 2 for a, _e, d in report if a == "loop_broken")  # A → B → A
    assert "ia-no-company" in placeholders and len(placeholders) >= 2  # an archived parent too
    for cid, c in source.items():
        account = accounts[cid]
        assert account["name"] == c["name"].strip()[:160]
        parent = c["parent_company_id"] or c["hs_parent_company_id"]
        if cid in cut or not parent:
            assert account.get("parentaccountid") is None, cid
        else:
            assert account["parentaccountid"]["id"] == accounts[parent]["accountid"], cid
    for pid in placeholders - {"ia-no-company"}:
        assert pid not in source and "placeholder" in accounts[pid]["name"]


def check_account_contacts(workbench, accounts, contacts) -> None:
    """Multi-company contacts: the primary account lookup plus one relationship per company."""
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    with sqlite3.connect(state) as conn:
        pairs = set(conn.execute("select id1, id2 from associations where relationship = 'ia_account_contact'"))
    several = 0
    for cid, c in extract(workbench, "contacts").items():
        if cid not in contacts:
            continue
        for company in c["company_ids"]:
            assert (accounts[company]["accountid"], contacts[cid]["contactid"]) in pairs, (cid, company)
        several += len(c["company_ids"]) > 1
    assert several > 0


def check_sales_processes_and_opportunities(workbench, snap, accounts, contacts) -> None:
    """Pipeline → sales process (stages with probability and forecast), deal → opportunity."""
    processes = by(snap["workflow"], "uniquename")
    stages = {r["processstageid"]: r for r in snap["processstage"]}
    pipelines = extract(workbench, "pipelines")
    for pid, pipe in pipelines.items():
        flow = processes[f"ia_pipeline_{pid}"]
        assert (flow["category"], flow["primaryentity"], flow["statecode"]) == (4, "opportunity", 1)
        mine = [s for s in stages.values() if s["processid"]["id"] == flow["workflowid"]]
        assert sorted(s["stagename"] for s in mine) == sorted(s["label"] for s in json.loads(pipe["stages"]))
        assert all({"probability", "forecastcategory"} <= set(json.loads(s["clientdata"])) for s in mine)
    deals = extract(workbench, "deals")
    labels = {s["id"]: s["label"] for p in pipelines.values() for s in json.loads(p["stages"])}
    opportunities = by(snap["opportunity"], "ia_deal_id")
    comma = 0
    for did, opp in opportunities.items():
        deal = deals[did]
        assert opp["name"] == deal["dealname"].strip()
        assert processes[f"ia_pipeline_{deal['pipeline']}"]["workflowid"] == opp["processid"]
        assert stages[opp["stageid"]]["stagename"] == opp["stepname"] == labels[deal["dealstage"]]
        entry = SPEC.value_maps["deal_stage"].values[f"{deal['pipeline']}:{deal['dealstage']}"]
        assert [opp[c] for c in ("salesstage", "closeprobability", "msdyn_forecastcategory")] == entry[:3]
        amount = (deal["amount"] or "").replace(",", "")
        assert opp.get("estimatedvalue") == (float(amount) if amount else None), did
        comma += "," in (deal["amount"] or "")
        assert (opp.get("estimatedclosedate") or None) == (deal["closedate"][:10] if deal["closedate"] else None)
        company = deal["primary_company_id"]
        if company:
            assert ref(opp, "customerid") == ("account", accounts[company]["accountid"])
        elif deal["contact_ids"] and deal["contact_ids"][0] in contacts:
            assert ref(opp, "customerid") == ("contact", contacts[deal["contact_ids"][0]]["contactid"])
    assert comma > 0  # "1,200.50" amounts were parsed
    held = reasons(workbench, "opportunity")
    assert any("legacy_retainer_signed has no entry in value map deal_stage" in r for r in held)  # no stage
    assert any(r.startswith("value default:87654") or r.startswith("value 87654321:") for r in held)  # other pipeline


def check_activities_and_notes(workbench, snap) -> None:
    """Calls/emails/meetings/tasks → activities, notes → annotations: original timestamps, owners,
    regarding records, custom attributes, sanitized HTML, the note over 65,000 characters whole."""
    tables = {"calls": ("phonecall", "ia_call_id"), "emails": ("email", "ia_email_id"),
              "meetings": ("appointment", "ia_meeting_id"), "tasks": ("task", "ia_task_id")}  # fmt: skip
    regarding: Counter = Counter()
    for source_object, (table, key) in tables.items():
        source = extract(workbench, source_object)
        loaded = by(snap[table], key)
        assert len(loaded) == len(source), table
        for eid, record in loaded.items():
            engagement = source[eid]
            assert same_instant(record["overriddencreatedon"], engagement["hs_createdate"])
            regarding[record["regardingobjectid"]["type"]] += 1
            if table == "phonecall":
                assert same_instant(record["actualend"], engagement["hs_timestamp"])
                assert record["ia_matterreference"] == engagement["matter_reference"]  # custom attribute kept
            if table == "email":
                assert "<script" not in (record.get("description") or "")
            if table == "task":
                status = SPEC.value_maps["task_state"].values[engagement["hs_task_status"]]
                assert [record["statecode"], record["statuscode"]] == status
    assert set(regarding) == REGARDING, regarding
    notes = extract(workbench, "notes")
    ids = dict(
        workbench.sql(PAIR, "select external_id, destination_id from ledger where object = 'note' and outcome = 'ok'")
    )
    annotations = {r["annotationid"]: r for r in snap["annotation"]}
    kinds = Counter()
    for nid, note in notes.items():
        record = annotations[ids[nid]]
        kinds[record["objectid"]["type"]] += 1
        assert same_instant(record["overriddencreatedon"], note["hs_timestamp"])
        assert record["notetext"] == rich_text(note["hs_note_body"])
        assert "<script" not in record["notetext"] and "data:image" not in record["notetext"]
        if "data:image/png;base64," in note["hs_note_body"]:
            assert "[image: image-1.png]" in record["notetext"]
    assert {"opportunity", "contact"} <= set(kinds), kinds
    assert any(len(r["notetext"]) > 65_000 for r in annotations.values())  # kept whole: within 100,000
    assert any("<table>" in r["notetext"] and "<li>" in r["notetext"] for r in annotations.values())


def check_files(workbench, snap) -> None:
    """Attachments and data-URI images → the document store, with file name, MIME type and original
    upload time; oversize and missing files held back with their reasons."""
    files = extract(workbench, "files")
    listing = {
        d["path"].rsplit("/", 1)[-1]: d
        for d in dataverse_seed.document_listing(system("dynamics365").state_path(workbench.paths.sandbox))
    }
    locations = by(snap["sharepointdocumentlocation"], "ia_externalid")
    attached = [e for e in locations if "-image-" not in e]
    assert attached and any("-image-" in e for e in locations)
    for ext in attached:
        location, file = locations[ext], files[ext.split("-")[1]]
        name = f"{file['name']}.{file['extension']}"
        mime = SPEC.value_maps["mime_type"].values[file["extension"]]
        assert location["name"] == name[:100] and listing[name]["mime_type"] == mime
        assert f"MIME type: {mime}" in location["description"] and name in location["description"]
        assert same_instant(location["overriddencreatedon"], file["createdAt"])
        assert listing[name]["size"] == int(file["size"])
        assert location["regardingobjectid"]["type"] in REGARDING
    images = [d for n, d in listing.items() if n.startswith("image-")]
    assert images and all(d["mime_type"] == "image/png" for d in images)
    skipped = reasons(workbench, "note_attachment", "excluded") + reasons(workbench, "email_attachment", "excluded")
    assert any("does not exist in Interactive" in r for r in skipped)
    files_report = json.loads((workbench.paths.report_dir(PAIR) / "files_note_attachment_full.json").read_text())
    assert files_report["summary"]["uploaded"] > 0
    assert any("bytes, above the 26214400-byte limit" in r for r in skipped)  # the store's size limit


def check_spouse_links(workbench, snap, contacts) -> None:
    """The spouse-per-matter custom object: both contacts re-linked exactly, a link to a contact that
    was not migrated held back before it was written."""
    links = by(snap["ia_spouselink"], "ia_spouse_link_id")
    source = extract(workbench, "spouse_links")
    assert links
    for lid, record in links.items():
        link = source[lid]
        assert record["ia_clientid"] == {"id": contacts[link["client_contact_id"]]["contactid"], "type": "contact"}
        assert record["ia_spouseid"] == {"id": contacts[link["spouse_contact_id"]]["contactid"], "type": "contact"}
        assert record["ia_name"] == link["matter_name"].strip()[:100]
    held = reasons(workbench, "spouse_link")
    assert held and all("is not in the destination" in r for r in held)
    assert len(links) + len(held) == len(source)


def check_owners(workbench, snap) -> None:
    """Owners → systemuser by e-mail; archived, unknown and absent owners → the fallback owner, never a
    disabled user; the owner report counts matched, unmatched and ownerless records before the run."""
    users = {u["systemuserid"]: u for u in snap["systemuser"]}
    owners = extract(workbench, "owners")
    by_email = {u["internalemailaddress"].casefold(): u for u in users.values() if u.get("internalemailaddress")}
    deals = extract(workbench, "deals")
    for table in (
        "account",
        "contact",
        "lead",
        "opportunity",
        "phonecall",
        "email",
        "appointment",
        "task",
        "ia_spouselink",
    ):
        for record in snap[table]:
            assert not users[record["ownerid"]["id"]]["isdisabled"], table
    for record in snap["opportunity"]:
        owner = owners.get(deals[record["ia_deal_id"]]["hubspot_owner_id"] or "")
        user = by_email.get(owner["email"].casefold()) if owner else None
        expected = user if user and not user["isdisabled"] else by_email["migration.fallback@sandbox.example"]
        assert record["ownerid"]["id"] == expected["systemuserid"]
    doc = json.loads((workbench.paths.report_dir(PAIR) / "owners_full.json").read_text())
    statuses = Counter(p["status"] for p in doc["people"])
    assert statuses["matched"] and statuses["disabled"] + statuses["unmatched"] > 0, statuses
    assert doc["ownerless"]["contact"]["ownerid"] > 0
    assert "Records without an owner" in (workbench.paths.report_dir(PAIR) / "owners_full.md").read_text()


def check_workflow_export(workbench) -> None:
    """Workflows → JSON definitions and a Power Automate rebuild guide."""
    folder = workbench.paths.report_dir(PAIR) / "exports"
    definitions = json.loads((folder / "workflows.json").read_text())
    assert definitions["count"] == 4 and definitions["destination_tool"] == "Power Automate"
    guide = (folder / "workflows_guide.md").read_text()
    assert "Power Automate rebuild guide" in guide and "0 are flagged unmapped" in guide


def check_delta(workbench, pair: str, phase: str, titles: dict[int, str], changes: dict[str, list[str]]) -> None:
    """The delta's changes read back: edited contacts (more than the search cap), the new company,
    contact, deal and note; archived records reported as deletions, never deleted."""
    snap = destination(workbench)
    people = {**by(snap["contact"], "ia_contact_id"), **by(snap["lead"], "ia_contact_id")}
    for contact, title in titles.items():
        assert people[str(contact)]["jobtitle"] == title
    created = dict(c.split("/") for c in changes["created"])
    assert created["companies"] in by(snap["account"], "ia_company_id")
    assert created["contacts"] in people
    assert created["deals"] in by(snap["opportunity"], "ia_deal_id")
    deleted = {
        (o, i) for _p, o, i, _t in workbench.sql(pair, "select * from source_deletions where phase = ?", [phase])
    }
    for gone in changes["archived"]:
        obj, rid = gone.split("/")
        assert (obj, rid) in deleted
        assert rid in (people if obj == "contacts" else by(snap["opportunity"], "ia_deal_id"))  # reported, kept


# -- without SharePoint: files go to Dataverse file storage (notes) --------------------------------------
KEEP = ("account", "contact", "lead", "note", "note_attachment", "note_image")


def files_as_notes_spec(target: Path) -> Path:
    """The spec with only the objects of files in notes (regarding a contact, account or lead)."""
    raw = json.loads(json.dumps(yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text())))  # aliases unshared
    raw["objects"] = {k: v for k, v in raw["objects"].items() if k in KEEP}
    for obj in raw["objects"].values():
        for lookup in obj.get("lookups", {}).values():
            if lookup["object"] == "opportunity":
                first, *rest = lookup.pop("otherwise")
                lookup.update(first, otherwise=rest)
    variant = raw["variants"]["dataverse_file_storage"]
    variant["objects"] = {k: v for k, v in variant["objects"].items() if k in KEEP}
    for obj in variant["objects"].values():
        first, *rest = obj["lookups"]["objectid"].pop("otherwise")
        obj["lookups"]["objectid"].update(first, otherwise=rest)
    tables = {o["table"] for o in raw["objects"].values()}
    raw["schema"] = {k: v for k, v in raw["schema"].items() if k in tables}
    raw["options"]["sample"] = {"anchor": "contact", "size": 100, "stratify_by": "lifecyclestage"}
    raw.pop("exports")
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{PAIR}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


def test_without_sharepoint_files_become_notes_with_their_bytes_name_type_and_upload_time(workbench, tmp_path):
    workbench.spec_dir = files_as_notes_spec(tmp_path / "specs")
    workbench.seed(scale=40, options={"dynamics365": {"sharepoint_site": False}})
    oversize = attach_an_oversize_file(workbench)
    outcome = workbench.run(PAIR, "sample")
    assert outcome.success, outcome.failures
    event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "plan", "schema_diff"))
    assert event.asset_materialization.metadata["variant"].value == "dataverse_file_storage"
    report = workbench.report(PAIR, "sample")
    assert report["diff"]["mismatches"] == 0, report["diff"]
    snap = destination(workbench)
    assert not snap.get("sharepointdocumentlocation") and not dataverse_seed.document_listing(
        system("dynamics365").state_path(workbench.paths.sandbox)
    )
    stored = [r for r in snap["annotation"] if r.get("isdocument")]
    files = extract(workbench, "files", "sample")
    ids = dict(
        workbench.sql(
            PAIR, "select destination_id, external_id from ledger where object = 'note_attachment' and outcome = 'ok'"
        )
    )
    assert ids and len([r for r in stored if r["annotationid"] in ids]) == len(ids)
    source = workbench.source("interactive")
    for record in (r for r in stored if r["annotationid"] in ids):
        file = files[ids[record["annotationid"]].split("-")[1]]
        assert record["filename"] == f"{file['name']}.{file['extension']}"
        assert record["mimetype"] == SPEC.value_maps["mime_type"].values[file["extension"]]
        assert same_instant(record["overriddencreatedon"], file["createdAt"])
        assert record["objectid"]["type"] in {"contact", "account", "lead"}
        got = base64.b64decode(record["documentbody"])
        assert got == asyncio.run(_download(source, file["id"])) and len(got) == int(file["size"])
    asyncio.run(source.aclose())
    images = [r for r in stored if r["filename"].startswith("image-")]
    assert images and all(r["mimetype"] == "image/png" for r in images)
    skipped = dict(workbench.sql(PAIR, "select external_id, reason from excluded where object = 'note_attachment'"))
    assert "above the 3932160-byte limit" in skipped[oversize]  # a note holds at most 5 MB of base64


async def _download(source, file_id: str) -> bytes:
    return b"".join([chunk async for chunk in source.download("files", file_id)])
