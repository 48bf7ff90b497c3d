"""engine/lookup_targets.py: a polymorphic lookup links the first of its targets the destination holds."""

from __future__ import annotations

from migration_assets.engine import lookup_targets
from migration_assets.engine.transform import compiled_columns, stage_frame
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec
from migration_assets_tests.pipeline.test_hierarchy import INPUTS, rows

SPEC = load_spec(SPEC_DIR / "interactive__dynamics365.yaml")
REGARDING = SPEC.spec.objects["note"].lookups["objectid"]
WALKS = {
    "opportunity": {"3000001": "opp-guid"},
    "contact": {"1000001": "contact-guid"},
    "lead": {"1000002": "lead-guid"},
}


def resolve(row: dict) -> lookup_targets.Resolved:
    return lookup_targets.resolve(SPEC, REGARDING, "objectid", row, WALKS)


def test_every_candidate_is_staged_in_its_own_hidden_column():
    assert lookup_targets.candidates(REGARDING, "objectid") == [
        ("opportunity", "objectid"),
        ("contact", "_objectid__or0"),
        ("account", "_objectid__or1"),
        ("lead", "_objectid__or2"),
    ]
    assert {"_objectid__or0", "_objectid__or1", "_objectid__or2"} <= set(compiled_columns(SPEC, "note"))


def test_the_first_target_in_the_destination_is_linked():
    row = {"objectid": "3000009", "_objectid__or0": "1000002", "_objectid__or1": None, "_objectid__or2": "1000002"}
    found = resolve(row)
    assert (found.object, found.table, found.destination_id) == ("lead", "lead", "lead-guid")
    assert found.describe() == "opportunity 3000009, contact 1000002 or lead 1000002"
    assert resolve({"objectid": "3000001", "_objectid__or0": "1000001"}).destination_id == "opp-guid"


def test_nothing_named_and_nothing_found_are_told_apart():
    assert resolve({}).named == ()
    missing = resolve({"_objectid__or1": "2000404"})
    assert missing.destination_id is None and missing.describe() == "account 2000404"


def test_a_required_polymorphic_lookup_quarantines_only_rows_naming_no_target():
    notes = rows(
        "notes",
        [
            {"id": "7000001", "hs_note_body": "<p>a</p>", "contact_ids": '["1000001"]'},
            {"id": "7000002", "hs_note_body": "<p>b</p>", "contact_ids": "[]", "deal_ids": "[]"},
        ],
    )
    result = stage_frame(SPEC, "note", notes, INPUTS)
    assert result.staged["_external_id"].to_list() == ["7000001"]
    assert result.quarantined["_reason"].to_list() == [
        "objectid: no opportunity or contact or account or lead to link to"
    ]
