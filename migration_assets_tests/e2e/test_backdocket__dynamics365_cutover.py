"""BackDocket → Dynamics 365 cutover end to end on the sandboxes: seed → sample → approve → full →
full again → delta → reconciliation → rollback, on the claims' routing and the matters' documents.

The destination starts without a SharePoint site, so documents are held (quarantined with the
reason, nothing uploaded) until the admin provisions it; the second full run then uploads them. One
contact carries an e-mail longer than Dataverse takes: its change set is refused as a whole, the
loader isolates it, and it alone is held back. The Professional tier's custom-table limit stops the
plan before anything is created. Every mapping row is read back in test_backdocket__dynamics365.py;
this file runs the part of the spec these steps need, to stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import asset_key, migrate_job_name
from migration_assets.sandbox.backdocket import build, mutate
from migration_assets.sandbox.backdocket import seed as backdocket_seed
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.systems import system
from migration_assets_tests.conftest import Workbench, assert_counts_add_up
from migration_assets_tests.e2e.reconciliation_checks import reconciled_objects

PAIR = "backdocket__dynamics365"
SCALE, SEED = 60, 42
DELTA_NOW = "2026-11-02T12:00:00Z"
DELTA = "delta-20261102T120000Z"
FAST_SOURCE = {"rate_limit": 100000}  # a tenant with a higher limit: the test's pace
KEEP = ("account", "contact", "matter", "opportunity", "claim", "document_matter")
REFUSED = "c-00005"  # a person contact, in the first change set of the first batch
MATTER_DOCUMENTS = {  # the other parents' documents are other objects of the whole spec
    "exclude": [
        {
            "when": {"op": "not", "of": {"op": "eq", "of": "parent_type", "value": "matter"}},
            "reason": "not a matter's document (another object of the whole spec)",
        }
    ]
}


def part_of_spec(target: Path) -> Path:
    """A spec folder with the objects KEEP of the pair and the routes whose members all stay."""
    target.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text())
    spec["objects"] = {k: v for k, v in spec["objects"].items() if k in KEEP}
    spec["objects"]["document_matter"] = {**spec["objects"]["document_matter"], **MATTER_DOCUMENTS}
    members = {name: {r["otherwise"], *(x["object"] for x in r["rules"])} for name, r in spec["routes"].items()}
    spec["routes"] = {name: r for name, r in spec["routes"].items() if members[name] <= set(KEEP)}
    spec.pop("exports")
    (target / f"{PAIR}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def _dataverse(wb: Workbench) -> Path:
    return system("dynamics365").state_path(wb.paths.sandbox)


def _snapshot(wb: Workbench) -> dict[str, list[dict]]:
    """Every destination record; a null column equals a column never set (both read back null)."""
    raw = dataverse_seed.snapshot(_dataverse(wb))
    return {t: [{k: v for k, v in r.items() if v is not None} for r in rows] for t, rows in raw.items()}


def _apply_schema(wb: Workbench) -> None:
    """The schema the spec needs, before the migration (what a rollback of data leaves in place)."""
    wb.instance.add_dynamic_partitions(f"{PAIR}__phase", ["sample", "full"])
    job = wb.defs.resolve_job_def(migrate_job_name(PAIR))
    result = job.execute_in_process(
        instance=wb.instance, partition_key="sample", asset_selection=[asset_key(PAIR, "plan", "schema_apply")]
    )
    assert result.success


def _held(wb: Workbench, phase: str) -> set[str]:
    query = "select source_id from quarantine where _phase = ? and reason like '%held for a later run%'"
    return {s for (s,) in wb.sql(PAIR, query, [phase])}


@pytest.fixture(scope="module")
def cutover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The cutover once; what each step showed, for the tests."""
    root = tmp_path_factory.mktemp("bd-cutover")
    paths = Paths(root / "var")
    instance = project_instance(paths)
    wb = Workbench(paths, instance, part_of_spec(root / "specs"))
    out: dict[str, Any] = {"wb": wb, "source": build(scale=SCALE, seed=SEED)}
    try:
        wb.seed(scale=SCALE, seed=SEED, options={"backdocket": FAST_SOURCE, "dynamics365": {"sharepoint_site": False}})
        source = system("backdocket").state_path(paths.sandbox)
        mutate.update(source, "contacts", REFUSED, {"email": "x" * 110 + "@firm.example"})  # emailaddress1 holds 100
        _apply_schema(wb)
        out["before"], out["files_before"] = _snapshot(wb), dataverse_seed.document_listing(_dataverse(wb))
        for step, phase in (("sample", "sample"), ("approved", None), ("full", "full")):
            out[step] = wb.run(PAIR, phase) if phase else wb.approve(PAIR)
            out[f"{step}_report"] = wb.report(PAIR, phase) if phase else None
        out["held"] = {p: _held(wb, p) for p in ("sample", "full")}
        out["after_full"], out["files_after_full"] = _snapshot(wb), dataverse_seed.document_listing(_dataverse(wb))
        dataverse_seed.provision_sharepoint(_dataverse(wb))  # the admin sets up document management
        out["again"] = wb.run(PAIR, "full")
        out["again_report"] = wb.report(PAIR, "full")
        out["after_again"], out["files_after_again"] = _snapshot(wb), dataverse_seed.document_listing(_dataverse(wb))
        out["changes"] = backdocket_seed.simulate_delta(source, now=DELTA_NOW)
        out["delta"] = wb.run(PAIR, DELTA)
        out["delta_report"] = wb.report(PAIR, DELTA)
        out["after_delta"] = _snapshot(wb)
        out["reconciliation"] = json.loads((paths.report_dir(PAIR) / f"reconciliation-{DELTA}.json").read_text())
        out["rollback"] = wb.rollback(PAIR).success
        out["after_rollback"] = _snapshot(wb)
        out["files_after_rollback"] = dataverse_seed.document_listing(_dataverse(wb))
        yield out
    finally:
        instance.dispose()


def _by(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows if r.get(key) is not None}


def test_every_phase_runs_counts_add_up_and_reads_back_without_a_mismatch(cutover) -> None:
    for step in ("sample", "full", "again", "delta"):
        assert cutover[step].success, (step, cutover[step].failures, cutover[step].failed_checks)
    assert cutover["approved"].success
    for step in ("sample_report", "full_report", "again_report", "delta_report"):
        assert_counts_add_up(cutover[step], every_object_has_rows=step == "full_report")
        assert cutover[step]["diff"]["mismatches"] == 0, (step, cutover[step]["diff"])


def test_documents_are_held_without_a_sharepoint_site_and_the_next_full_run_uploads_them(cutover) -> None:
    held = cutover["held"]
    assert held["sample"] and held["full"] and held["sample"] <= held["full"]
    assert cutover["files_after_full"] == [] and "sharepointdocumentlocation" not in cutover["after_full"]
    wb = cutover["wb"]
    reasons = wb.sql(PAIR, "select reason from quarantine where _phase = 'full' and reason like '%held for a%'")
    assert all("no active SharePoint site" in r for (r,) in reasons)
    # the full run after the site was provisioned uploaded every held file that can be fetched
    counts = cutover["again_report"]["objects"]["document_matter"]
    uploaded = {row["bd_externalid"] for row in cutover["after_again"]["sharepointdocumentlocation"]}
    assert uploaded and uploaded <= held["full"] and counts["loaded"] == len(uploaded)
    assert len(cutover["files_after_again"]) == len(uploaded)
    assert not _held(wb, "full")  # nothing waits any more
    onsite = {d["id"] for d in cutover["source"]["documents"] if d["storage"] == "onsite_warehouse"}
    query = "select source_id, reason from quarantine where _phase = 'full' and object = 'document_matter'"
    left = dict(wb.sql(PAIR, query))  # what stays held back has its own reason: never lost silently
    assert any(s in onsite and "onsite data warehouse" in r for s, r in left.items())
    assert all("onsite data warehouse" in r or "is not in the destination" in r for r in left.values())


def test_a_second_full_run_creates_no_duplicate(cutover) -> None:
    # the admin's SharePoint site, and the held documents that arrive with it, are the only change
    other = ("sharepointsite", "sharepointdocumentlocation")
    assert {t: r for t, r in cutover["after_again"].items() if t not in other} == {
        t: r for t, r in cutover["after_full"].items() if t not in other
    }
    for table, key in (("contact", "bd_contact_id"), ("bd_claim", "bd_claim_id"), ("opportunity", "bd_claim_id")):
        keys = [r[key] for r in cutover["after_again"][table] if key in r]
        assert keys and len(keys) == len(set(keys)), table


def test_a_record_refused_in_a_change_set_is_held_back_alone_and_the_rest_of_the_set_loads(cutover) -> None:
    wb = cutover["wb"]
    (reason,) = {r for (r,) in wb.sql(PAIR, "select reason from quarantine where object = 'contact'")}
    assert reason.startswith("rejected by dynamics365: 0x80044331") and "emailaddress1" in reason
    query = (
        "select external_id, outcome from ledger where object = 'contact' and phase = 'full' and outcome != 'pending'"
    )
    outcomes = dict(wb.sql(PAIR, query))
    neighbours = [f"c-{n:05d}" for n in range(1, 11) if f"c-{n:05d}" != REFUSED]  # its change set of ten
    assert outcomes[REFUSED] == "failed" and all(outcomes[c] == "ok" for c in neighbours if c in outcomes)
    contacts = cutover["full_report"]["objects"]["contact"]
    assert contacts["quarantined"] == 1 and contacts["loaded"] == contacts["source"] - 1


def test_the_delta_picks_up_the_window_and_reports_deletions(cutover) -> None:
    changes, after = cutover["changes"], cutover["after_delta"]
    new = dict(c.split("/", 1) for c in changes["created"])
    contact = _by(after["contact"], "bd_contact_id")[new["contacts"]]
    assert (contact["firstname"], contact["lastname"]) == ("Ana", "Rivera")  # typed "Rivera, Ana"
    assert new["claims"] in _by(after["opportunity"], "bd_claim_id")  # a revenue claim: routed there
    closed = [c.split("/", 1)[1] for c in changes["updated"] if c.startswith("matters/")]
    matters = _by(after["bd_matter"], "bd_matter_id")
    assert closed and all(matters[m]["statecode"] == 1 for m in closed if m in matters)
    deleted = cutover["wb"].sql(PAIR, "select source_object, id from source_deletions where phase = ?", [DELTA])
    assert {f"{o}/{i}" for o, i in deleted} >= {c for c in changes["deleted"] if c.startswith("contacts/")}
    gone = next(c.split("/", 1)[1] for c in changes["deleted"] if c.startswith("contacts/"))
    assert gone in _by(after["contact"], "bd_contact_id")  # reported, never deleted silently


def test_reconciliation_counts_both_routing_targets(cutover) -> None:
    objects = reconciled_objects(cutover["reconciliation"])
    route = objects["opportunity"]["route"]
    live = sum(1 for c in cutover["source"]["claims"] if not c["deleted_at"]) + 1  # one created in the window
    assert route["source"] == live == route["members"]["opportunity"]["source"] + route["members"]["claim"]["source"]


def test_rollback_leaves_the_destination_as_before_records_and_files(cutover) -> None:
    assert cutover["rollback"]
    site = {"sharepointsite": cutover["after_again"]["sharepointsite"]}  # the admin's, not the migration's
    assert cutover["after_rollback"] == {**cutover["before"], **site}
    assert cutover["files_after_rollback"] == cutover["files_before"] == []
    assert cutover["files_after_again"]  # there were files to remove


def test_the_professional_tier_custom_table_limit_stops_the_plan_before_anything_is_created(workbench) -> None:
    options = {"backdocket": FAST_SOURCE, "dynamics365": {"tier": "professional", "custom_table_limit": 1}}
    workbench.seed(scale=20, options=options)
    outcome = workbench.run(PAIR, "sample")
    assert not outcome.success
    assert any("schema_diff:no_conflicts" in c for c in outcome.failed_checks), outcome.failed_checks
    text = (workbench.paths.report_dir(PAIR) / "schema_diff_sample.md").read_text()
    assert "custom table limit of 1" in text and "'professional'" in text
    assert "needs 2 custom table(s) ['bd_matter', 'bd_claim']" in text
    assert not {"bd_matter", "bd_claim"} & set(dataverse_seed.snapshot(_dataverse(workbench)))
