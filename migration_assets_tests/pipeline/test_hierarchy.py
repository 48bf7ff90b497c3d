"""engine/hierarchy.py on the interactive__dynamics365 spec: placeholder accounts for parents (and
companies) that no source record provides, and loops of the account hierarchy broken and reported."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from migration_assets.engine import hierarchy
from migration_assets.engine.owners import OWNER_MAP_SCHEMA
from migration_assets.engine.transform import EXT, SRC, StageInputs, stage_frame
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec
from migration_assets.staging import db
from migration_assets.staging.tables import extract_table, stage_table

SPEC = load_spec(SPEC_DIR / "interactive__dynamics365.yaml")
OWNERS = pl.DataFrame(
    [{"source_user_id": "70000001", "email": "a@firm.example", "name": "A", "status": "matched",
      "destination_user_id": "user-a", "fallback_user_id": "fallback-user"}],
    schema=OWNER_MAP_SCHEMA,
)  # fmt: skip
INPUTS = StageInputs(owners=OWNERS)


def rows(source: str, records: list[dict[str, str | None]]) -> pl.DataFrame:
    columns = [f.name for f in SPEC.source_catalog[source].fields]
    data = [dict.fromkeys(columns) | r for r in records]
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def companies(parents: dict[str, str | None]) -> pl.DataFrame:
    return rows("companies", [{"id": i, "name": f"Firm {i}", "parent_company_id": p} for i, p in parents.items()])


@pytest.fixture
def conn():
    with duckdb.connect(":memory:") as connection:
        for source in ("contacts", "spouse_links"):
            db.write_slice(connection, extract_table(source), rows(source, []), "full")
        yield connection


def stage(conn, raw: pl.DataFrame, phase: str = "full"):
    result = hierarchy.apply(conn, SPEC, "account", phase, stage_frame(SPEC, "account", raw, INPUTS), raw, INPUTS)
    hierarchy.record(conn, phase, "account", result)
    db.write_slice(conn, stage_table("account"), result.staged, phase)
    return result


def parents_of(result) -> dict[str, str | None]:
    return dict(result.staged.select(EXT, "parentaccountid").iter_rows())


def report(result) -> list[tuple[str, str]]:
    return [(r["action"], r["external_id"]) for r in result.hierarchy.iter_rows(named=True)]


def test_a_missing_parent_gets_a_placeholder_staged_by_the_objects_own_mapping(conn):
    result = stage(conn, companies({"2000001": "2000099", "2000002": None}))
    placeholder = result.staged.filter(pl.col(EXT) == "2000099").to_dicts()[0]
    assert placeholder[SRC] == "2000099"
    assert placeholder["name"] == "Interactive company 2000099 (archived or missing; placeholder)"
    assert placeholder["ownerid"] == "fallback-user" and placeholder["parentaccountid"] is None
    assert parents_of(result)["2000001"] == "2000099"
    assert report(result) == [("placeholder", "2000099")]
    assert "named by account.parentaccountid of 1 record(s)" in result.hierarchy["detail"][0]
    assert hierarchy.counts(result) == {"placeholders": 1, "loops_broken": 0}


def test_self_and_two_record_loops_are_broken_on_their_lowest_source_id(conn):
    raw = companies({"2000001": "2000001", "2000003": "2000002", "2000002": "2000003", "2000004": "2000002"})
    result = stage(conn, raw)
    assert parents_of(result) == {"2000001": None, "2000002": None, "2000003": "2000002", "2000004": "2000002"}
    assert report(result) == [("loop_broken", "2000001"), ("loop_broken", "2000002")]
    details = result.hierarchy["detail"].to_list()
    assert details[0] == "parentaccountid loop 2000001 → 2000001: left empty on 2000001"
    assert details[1] == "parentaccountid loop 2000002 → 2000003 → 2000002: left empty on 2000002"
    old = stage_frame(SPEC, "account", raw, INPUTS).staged
    changed = old.join(result.staged, on=EXT).filter(pl.col("_row_hash") != pl.col("_row_hash_right"))
    assert sorted(changed[EXT].to_list()) == ["2000001", "2000002"]  # the content hash follows the change


def test_a_loop_through_a_record_of_an_earlier_phase_is_broken_in_the_later_one(conn):
    stage(conn, companies({"2000002": "2000003", "2000003": None}))  # full: no loop yet
    result = stage(conn, companies({"2000003": "2000002"}), phase="delta-20261105T000000Z")
    assert parents_of(result) == {"2000003": None}
    assert report(result) == [("loop_broken", "2000003")]


def test_a_parent_staged_in_an_earlier_phase_needs_no_placeholder_but_an_earlier_placeholder_is_remade(conn):
    stage(conn, companies({"2000001": None, "2000005": "2000088"}))  # 2000088 is a placeholder in full
    result = stage(conn, companies({"2000006": "2000001", "2000007": "2000088"}), phase="delta-20261105T000000Z")
    assert report(result) == [("placeholder", "2000088")]


def test_contacts_without_a_company_share_the_designated_fallback_account(conn):
    contacts = rows(
        "contacts",
        [
            {"id": "1000001", "lastname": "A", "lifecyclestage": "customer"},
            {"id": "1000002", "lastname": "B", "lifecyclestage": "customer", "company_ids": "[]"},
            {"id": "1000003", "lastname": "C", "lifecyclestage": "lead"},  # a lead: not the contact's lookup
            {"id": "1000004", "lastname": "D", "lifecyclestage": "customer", "primary_company_id": "2000001"},
        ],
    )
    db.write_slice(conn, extract_table("contacts"), contacts, "full")
    result = stage(conn, companies({"2000001": None}))
    fallback = result.staged.filter(pl.col(EXT) == "ia-no-company").to_dicts()[0]
    assert fallback["name"] == "Contacts without a company (Interactive)"
    assert fallback["description"].startswith("Designated fallback account")
    assert report(result) == [("placeholder", "ia-no-company")]
    assert "contact.parentcustomerid of 2 record(s), e.g. source record 1000001" in result.hierarchy["detail"][0]
