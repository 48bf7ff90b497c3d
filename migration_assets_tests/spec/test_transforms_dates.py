"""spec/transforms/dates.py: epoch milliseconds (or seconds) and ISO 8601 read alike."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import compile_expr
from migration_assets_tests.spec.transform_helpers import context, evaluate

INSTANT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_epoch_ms_iso_with_and_without_offset_are_the_same_instant():
    values = ["1700000000000", "2023-11-14T22:13:20", "2023-11-14T17:13:20-05:00", "2023-11-14T22:13:20.000Z"]
    rows = evaluate({"op": "epoch_or_iso", "of": "a"}, {"a": values})
    assert [r["value"] for r in rows] == [INSTANT] * 4
    assert all(r["problem"] is None for r in rows)


def test_epoch_seconds_with_unit_s():
    assert evaluate({"op": "epoch_or_iso", "of": "a", "unit": "s"}, {"a": ["1700000000"]})[0]["value"] == INSTANT


def test_the_date_is_the_utc_calendar_date_of_the_instant():
    values = ["1700000000000", "2023-11-14", "2023-11-14T19:30:00-05:00", None, " "]
    rows = evaluate({"op": "epoch_or_iso_date", "of": "a"}, {"a": values})
    assert [r["value"] for r in rows] == [date(2023, 11, 14), date(2023, 11, 14), date(2023, 11, 15), None, None]
    assert all(r["problem"] is None for r in rows)


def test_a_value_that_is_neither_form_or_out_of_range_is_a_row_problem_with_the_value():
    rows = evaluate({"op": "epoch_or_iso", "of": "a"}, {"a": ["next tuesday", "99999999999999999", "-99999999999999"]})
    assert all(r["value"] is None for r in rows)
    assert "next tuesday is not epoch ms or an ISO date/time" in rows[0]["problem"]
    assert rows[1]["problem"] is not None and rows[2]["problem"] is not None


def test_an_unknown_unit_is_a_spec_error():
    with pytest.raises(SpecError, match="unit must be one of ms, s"):
        compile_expr({"op": "epoch_or_iso", "of": "a", "unit": "us"}, context())
