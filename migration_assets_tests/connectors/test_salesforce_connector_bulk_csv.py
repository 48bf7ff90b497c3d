"""Salesforce Bulk API 2.0 CSV: RFC 4180 quoting, nulls, and result mapping helpers (pure)."""

from __future__ import annotations

import csv
import io

from migration_assets.connectors.base import LookupRef, UpsertRow
from migration_assets.connectors.salesforce.bulk import (
    csv_cell,
    csv_columns,
    job_csv,
    read_csv,
    split_jobs,
    write_csv,
)


def test_values_with_commas_quotes_newlines_and_unicode_are_quoted() -> None:
    data = write_csv(["Name", "Description"], [["Smith, Jones", 'He said "hi"\nthen left — ünïcödé 日本']])
    assert data.decode("utf-8") == 'Name,Description\n"Smith, Jones","He said ""hi""\nthen left — ünïcödé 日本"\n'
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert parsed[1] == ["Smith, Jones", 'He said "hi"\nthen left — ünïcödé 日本']


def test_plain_values_are_not_quoted_and_lines_end_with_lf() -> None:
    assert write_csv(["A", "B"], [["x", "1"]]) == b"A,B\nx,1\n"


def test_none_becomes_na_and_values_are_rendered_for_salesforce() -> None:
    assert csv_cell(None) == "#N/A" and csv_cell("") == "#N/A"
    assert csv_cell(True) == "true" and csv_cell(False) == "false"
    assert csv_cell(["Decision Maker", "Other"]) == "Decision Maker;Other"
    assert csv_cell(2.5) == "2.5" and csv_cell("2024-06-18") == "2024-06-18"


def test_columns_are_key_then_fields_then_lookups_and_absent_cells_stay_empty() -> None:
    rows = [
        UpsertRow("C-1", {"LastName": "Ng"}, {"AccountId": LookupRef("Account", "001000000000001AAA")}),
        UpsertRow("C-2", {"LastName": "Li", "Email": None}, {"AccountId": LookupRef("Account", None)}),
    ]
    assert csv_columns("Ext__c", rows) == ["Ext__c", "LastName", "AccountId", "Email"]
    lines = job_csv("Ext__c", rows).decode().splitlines()
    assert lines == ["Ext__c,LastName,AccountId,Email", "C-1,Ng,001000000000001AAA,", "C-2,Li,#N/A,#N/A"]


def test_result_csv_reader_ignores_a_byte_order_mark() -> None:
    rows = read_csv('\ufeff"sf__Id","sf__Created","Ext__c"\n"001x","true","A-1"\n')
    assert rows == [{"sf__Id": "001x", "sf__Created": "true", "Ext__c": "A-1"}]


def test_jobs_are_split_at_ten_thousand_rows() -> None:
    rows = [UpsertRow(str(i), {"Name": "n"}) for i in range(10_001)]
    jobs = split_jobs("Ext__c", rows)
    assert [len(r) for r, _ in jobs] == [10_000, 1]
    assert jobs[1][1] == b"Ext__c,Name\n10000,n\n"
