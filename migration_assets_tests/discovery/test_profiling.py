"""Profiling findings on small hand-made extracts of the Dynamics pair's source objects."""

from __future__ import annotations

import polars as pl

from migration_assets.discovery.profiling import ProfileInputs, profile_object
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

SPEC = load_spec(SPEC_DIR / "case_status__dynamics365.yaml")


def text_frame(rows: list[dict]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return pl.DataFrame({c: [None if r.get(c) is None else str(r.get(c)) for r in rows] for c in columns})


CLIENTS = text_frame(
    [
        {"id": 1, "first_name": "Ana", "last_name": "Lopez", "email": "ana@x.example", "owner_user_id": 1},
        {"id": 2, "first_name": "Ana", "last_name": "Lopez", "email": "ANA@x.example ", "owner_user_id": 2},
        {"id": 3, "first_name": "Michael", "last_name": "Jones", "email": "mj@x.example", "owner_user_id": 1},
        {"id": 4, "first_name": "Michele", "last_name": "Jones", "email": "mj2@x.example", "owner_user_id": 9},
        {"id": 5, "first_name": "Zed", "last_name": None, "email": "z@x.example", "owner_user_id": 1},
    ]
)
USERS = text_frame(
    [
        {"id": 1, "email": "boss@firm.example", "active": "true"},
        {"id": 2, "email": "gone@firm.example", "active": "false"},
    ]
)
DESTINATION = {"users": [{"email": "BOSS@firm.example", "active": True}], "tables": {}}


def test_exact_duplicates_by_email_and_name_and_fuzzy_pairs_are_listed():
    report = profile_object(SPEC, "clients", CLIENTS, ProfileInputs())
    exact = {(g["by"], g["value"]): g["ids"] for g in report["duplicates"]["exact"]}
    assert exact[("email", "ana@x.example")] == ["1", "2"]
    assert exact[("name", "ana lopez")] == ["1", "2"]
    pairs = {(p["id_a"], p["id_b"]) for p in report["duplicates"]["fuzzy"]}
    assert ("3", "4") in pairs
    assert report["summary"]["fuzzy_duplicate_pairs"] == 1


def test_a_required_column_with_a_fallback_is_not_incomplete():
    # the shipped spec falls back to the e-mail's name, then a marker: client 5 loads (reported)
    report = profile_object(SPEC, "clients", CLIENTS, ProfileInputs())
    assert not [i for i in report["incomplete"] if i["column"] == "lastname" and i["records"]]


def test_orphans_unmapped_values_and_inactive_owners():
    cases = text_frame(
        [
            {"id": 10, "name": "A v B", "status": "Active", "client_ids": "[1]", "paralegal_id": 1},
            {"id": 11, "name": "C v D", "status": "Dormant (old system)", "client_ids": "[77]", "paralegal_id": 2},
        ]
    )
    inputs = ProfileInputs(related={"clients": CLIENTS}, destination=DESTINATION, people=USERS)
    report = profile_object(SPEC, "cases", cases, inputs)
    orphan = next(o for o in report["orphans"] if o["field"] == "client_ids")
    assert orphan["ids"] == ["11"] and orphan["missing_targets"] == ["77"]
    assert report["unmapped_values"][0]["values"] == {"Dormant (old system)": 1}
    assert report["unmapped_values"][0]["proposed_entries"]["Dormant (old system)"]["value"] is not None
    owners = {(o["user_id"], o["why"]) for o in report["inactive_owners"]}
    assert owners == {("2", "inactive in the source")}
    unmapped = {f["field"] for f in report["unmapped_fields"]}
    assert "paralegal_id" in unmapped and "name" not in unmapped and "status" not in unmapped
