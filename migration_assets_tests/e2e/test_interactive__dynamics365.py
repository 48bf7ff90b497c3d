"""Interactive -> Dynamics 365 end to end on the sandboxes (seed 004): sample, approve, full, a second
full, a delta larger than the search cap, reconciliation and rollback; every mapping row of the seed
read back from the Dataverse emulator's own records (`rows_*` helpers of test_interactive__dynamics365_rows)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from migration_assets.defs.phases import delta_partition_key
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.sandbox.interactive import mutate
from migration_assets.sandbox.interactive import seed as interactive_seed
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up
from migration_assets_tests.e2e import test_interactive__dynamics365_rows as rows

PAIR = "interactive__dynamics365"
FILE_OBJECTS = ("note_attachment", "email_attachment", "note_image")  # share the document locations table
SEARCH_CAP = 12  # the real search pages through at most 10,000 results; the option lowers it
UNTHROTTLED = {"ten_secondly_limit": 100_000, "search_per_second": 100_000}
CHANGED_CONTACTS = 30  # more than two capped searches


def snapshot(workbench) -> dict:
    """Every destination record (a null column equals one never set), the pairs of every many-to-many
    relationship and the files of the document store."""
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    out = {
        table: [{k: v for k, v in row.items() if v is not None} for row in records]
        for table, records in dataverse_seed.snapshot(state).items()
    }
    with sqlite3.connect(state) as conn:
        out["(associations)"] = sorted(conn.execute("select relationship, id1, id2 from associations").fetchall())
    out["(documents)"] = dataverse_seed.document_listing(state)
    return out


def run(workbench, phase: str) -> dict:
    outcome = workbench.run(PAIR, phase)
    assert outcome.success, outcome.failures
    assert not outcome.failed_checks, outcome.failed_checks  # diff and reconciliation passed
    report = workbench.report(PAIR, phase)
    assert_counts_add_up(report, every_object_has_rows=phase in ("sample", "full"))
    assert report["diff"]["mismatches"] == 0, report["diff"]
    return report


def change_contacts_beyond_the_cap(workbench) -> dict[int, str]:
    """New job titles on CHANGED_CONTACTS contacts, each at its own minute of the delta window."""
    source = system("interactive").state_path(workbench.paths.sandbox)
    now = datetime.now(UTC)
    titles = {}
    for n, contact in enumerate(mutate.live_ids(source, "contacts", limit=CHANGED_CONTACTS)):
        titles[contact] = f"Cutover title {n}"
        at = (now - timedelta(minutes=240 - n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        mutate.update(source, "contacts", contact, {"jobtitle": titles[contact]}, at=at)
    return titles


def test_sample_full_rerun_delta_beyond_the_search_cap_reconciled_and_rolled_back(workbench):
    # limits lifted: the rate limits have their own tests (sandbox/test_interactive_limits.py, connectors)
    workbench.seed(scale=60, options={"interactive": {"search_cap": SEARCH_CAP, **UNTHROTTLED}})
    rows.attach_an_oversize_file(workbench)
    before = snapshot(workbench)

    sample = run(workbench, "sample")
    assert 0 < sample["objects"]["opportunity"]["source"] <= 500
    assert workbench.approve(PAIR).success
    full = run(workbench, "full")
    for name, counts in full["objects"].items():
        assert counts["loaded"] > 0, (name, counts)
        if name not in FILE_OBJECTS:
            assert counts["destination_count"] == counts["loaded"], (name, counts)
    assert full["diff"]["fields_compared"] > full["diff"]["records_compared"] > 400
    rows.check_every_row(workbench, PAIR)

    again = run(workbench, "full")  # a second full run upserts the same records: no duplicate
    for name, counts in again["objects"].items():
        assert counts["destination_count"] == full["objects"][name]["destination_count"], name

    titles = change_contacts_beyond_the_cap(workbench)
    changes = interactive_seed.simulate_delta(system("interactive").state_path(workbench.paths.sandbox))
    delta = delta_partition_key(datetime.now(UTC))
    report = run(workbench, delta)
    extracted = {r[0] for r in workbench.sql(PAIR, "select id from extract__contacts where _phase = ?", [delta])}
    assert {str(c) for c in titles} <= extracted  # every change was read through the capped search
    rows.check_delta(workbench, PAIR, delta, titles, changes)
    assert report["objects"]["account"]["destination_count"] == full["objects"]["account"]["destination_count"] + 1

    rolled = workbench.rollback(PAIR)
    assert rolled.success
    after = snapshot(workbench)
    # the schema the migration created stays (rollback --schema removes it), so does its publisher
    # and solution; every record and file the migration wrote is gone, nothing else changed
    assert [p["uniquename"] for p in after.pop("publisher") if p not in before.get("publisher", [])] == [
        "interactivemigration"
    ]
    assert [s["uniquename"] for s in after.pop("solution")] == ["ia_migration"]
    assert after == {k: v for k, v in before.items() if k not in ("publisher", "solution")}
