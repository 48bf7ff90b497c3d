"""A join brings only the joined fields the spec names: each joined column is repeated on every row
that matches (a case's fields on each of its messages), so the others are neither read nor joined."""

from __future__ import annotations

import duckdb
import polars as pl

from migration_assets.engine import planning
from migration_assets.engine.transform import join_rows
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec
from migration_assets.staging import db
from migration_assets.staging.tables import extract_table

LOADED = load_spec(SPEC_DIR / "case_status__dynamics365.yaml")
CASE_FIELDS = [f.name for f in LOADED.source_catalog["cases"].fields]


def test_only_the_named_fields_of_a_joined_source_and_its_key_are_kept():
    kept = LOADED.joined_fields("client_message", "cases", CASE_FIELDS)
    assert set(kept) == {"id", "client_ids", "primary_attorney_id"}  # case.client_ids, case.primary_attorney_id


def test_join_rows_adds_the_named_fields_only():
    cases = pl.DataFrame([{c: None for c in CASE_FIELDS} | {"id": "7", "client_ids": "[3]", "description": "x" * 500}])
    messages = pl.DataFrame({"id": ["1", "2"], "case_id": ["7", "8"]})
    joined = join_rows(LOADED, "client_message", messages, {"cases": cases})
    assert {c for c in joined.columns if c.startswith("case.")} == {
        "case.id",
        "case.client_ids",
        "case.primary_attorney_id",
    }
    assert joined["case.client_ids"].to_list() == ["[3]", None]  # one row out per row in


def test_latest_records_reads_only_the_kept_fields_with_the_id_and_last_change():
    conn = duckdb.connect()
    frame = pl.DataFrame({c: ["v"] for c in CASE_FIELDS}).with_columns(
        pl.lit("7").alias("id"), pl.lit("2026-01-01T00:00:00Z").alias("updated_at")
    )
    db.write_slice(conn, extract_table("cases"), frame, "full")
    read = planning.latest_records(conn, LOADED, "cases", lambda fields: [f for f in fields if f == "client_ids"])
    assert read.columns == ["client_ids", "id", "updated_at"]
    assert planning.latest_records(conn, LOADED, "cases").columns == CASE_FIELDS
