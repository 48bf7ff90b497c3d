"""BackDocket → Dynamics 365: what the destination decides, end to end on the sandboxes.

- Documents wait for a SharePoint site: without one they are held (quarantined with the reason,
  counted, nothing uploaded); after the admin provisions it, the next run of the phase uploads them.
- A record Dataverse refuses inside a `$batch` change set is held back alone; the other rows of its
  change set (atomic: refused together at first) load when the loader isolates it.
- The Professional tier's custom-table limit stops the plan before anything is created.
The documents and change-set tests run a part of the spec (the objects they need) to stay fast; the
whole spec runs in test_backdocket__dynamics365.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from migration_assets.sandbox.backdocket import mutate
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.settings import SPEC_DIR
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up

PAIR = "backdocket__dynamics365"
FAST_SOURCE = {"rate_limit": 100000}  # a tenant with a higher limit: the test's pace
# the documents of contacts alone (the other parents' documents are other objects of the whole spec)
CONTACT_DOCUMENTS = {
    "exclude": [
        {
            "when": {"op": "not", "of": {"op": "eq", "of": "parent_type", "value": "contact"}},
            "reason": "not a contact's document (another object of the whole spec)",
        }
    ]
}


def part_of_spec(target: Path, keep: tuple[str, ...], anchor: str, changes: dict | None = None) -> Path:
    """A spec folder with only the objects `keep` of the pair (routes whose members all stay), each
    updated with `changes[object]`."""
    target.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((SPEC_DIR / f"{PAIR}.yaml").read_text())
    spec["objects"] = {k: {**v, **(changes or {}).get(k, {})} for k, v in spec["objects"].items() if k in keep}
    spec["routes"] = {
        name: route
        for name, route in spec["routes"].items()
        if {route["otherwise"], *(r["object"] for r in route["rules"])} <= set(keep)
    }
    spec["options"]["sample"].update(anchor=anchor, stratify_by=None)
    spec.pop("exports")
    (target / f"{PAIR}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def _dataverse(workbench) -> Path:
    return system("dynamics365").state_path(workbench.paths.sandbox)


def test_documents_wait_for_a_sharepoint_site_and_a_later_run_uploads_them(workbench, tmp_path):
    keep = ("account", "contact", "document_contact")
    workbench.spec_dir = part_of_spec(tmp_path / "specs", keep, "contact", {"document_contact": CONTACT_DOCUMENTS})
    workbench.seed(scale=60, options={"backdocket": FAST_SOURCE, "dynamics365": {"sharepoint_site": False}})
    first = workbench.run(PAIR, "sample")
    assert first.success, first.failures
    report = workbench.report(PAIR, "sample")
    assert_counts_add_up(report, every_object_has_rows=False)
    held = workbench.sql(
        PAIR, "select object, source_id, reason from quarantine where _phase = 'sample' and reason like '%held for a%'"
    )
    assert held and all("no active SharePoint site" in reason for _o, _s, reason in held)
    assert report["objects"]["document_contact"]["loaded"] == 0
    assert report["objects"]["document_contact"]["quarantined"] == len(held)
    assert dataverse_seed.document_listing(_dataverse(workbench)) == []
    files = json.loads((workbench.paths.report_dir(PAIR) / "files_sample.json").read_text())
    assert files["summary"]["held"] == len(held) and files["summary"]["uploaded"] == 0

    dataverse_seed.provision_sharepoint(_dataverse(workbench))  # the admin sets up document management
    second = workbench.run(PAIR, "sample")
    assert second.success, second.failures
    after = workbench.report(PAIR, "sample")
    assert_counts_add_up(after, every_object_has_rows=False)
    assert after["diff"]["mismatches"] == 0
    uploaded = {s for o, s, _r in held} - {
        s for (s,) in workbench.sql(PAIR, "select source_id from quarantine where _phase = 'sample' and step = 'load'")
    }
    assert uploaded and len(uploaded) == after["objects"]["document_contact"]["loaded"]
    listing = dataverse_seed.document_listing(_dataverse(workbench))
    assert len(listing) == len(uploaded)
    still = workbench.sql(PAIR, "select reason from quarantine where _phase = 'sample' and step = 'load'")
    assert not any("held for a later run" in r for (r,) in still)  # what stays held back has another reason


def test_a_record_refused_in_a_change_set_is_held_back_alone_and_the_rest_load(workbench, tmp_path):
    workbench.spec_dir = part_of_spec(tmp_path / "specs", ("account", "contact"), anchor="contact")
    workbench.seed(scale=30, options={"backdocket": FAST_SOURCE})
    source = system("backdocket").state_path(workbench.paths.sandbox)
    refused = "c-00005"  # a person contact, in the first change set of the first batch
    mutate.update(source, "contacts", refused, {"email": "x" * 110 + "@firm.example"})  # emailaddress1 holds 100
    outcome = workbench.run(PAIR, "sample")
    assert outcome.success, outcome.failures
    report = workbench.report(PAIR, "sample")
    assert_counts_add_up(report)
    assert report["objects"]["contact"]["quarantined"] == 1
    [(reason,)] = workbench.sql(PAIR, "select reason from quarantine where object = 'contact'")
    assert reason.startswith("rejected by dynamics365: 0x80044331") and "emailaddress1" in reason
    outcomes = dict(
        workbench.sql(PAIR, "select external_id, outcome from ledger where object = 'contact' and outcome != 'pending'")
    )
    neighbours = [f"c-{n:05d}" for n in range(1, 11) if n != 5]  # the rest of its change set of ten
    assert outcomes[refused] == "failed" and all(outcomes[c] == "ok" for c in neighbours)
    assert report["objects"]["contact"]["loaded"] == report["objects"]["contact"]["source"] - 1
    assert report["diff"]["mismatches"] == 0


def test_the_professional_tier_custom_table_limit_stops_the_plan_before_anything_is_created(workbench):
    options = {"backdocket": FAST_SOURCE, "dynamics365": {"tier": "professional", "custom_table_limit": 1}}
    workbench.seed(scale=20, options=options)
    outcome = workbench.run(PAIR, "sample")
    assert not outcome.success
    assert any("schema_diff:no_conflicts" in c for c in outcome.failed_checks), outcome.failed_checks
    text = (workbench.paths.report_dir(PAIR) / "schema_diff_sample.md").read_text()
    assert "custom table limit of 1" in text and "'professional'" in text
    assert "needs 2 custom table(s) ['bd_matter', 'bd_claim']" in text
    assert not {"bd_matter", "bd_claim"} & set(dataverse_seed.snapshot(_dataverse(workbench)))
