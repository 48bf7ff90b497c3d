"""spec/transforms/numbers.py: unit changes (milliseconds to minutes, probabilities to percent)."""

from __future__ import annotations

import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import compile_expr
from migration_assets_tests.spec.transform_helpers import context, evaluate


def test_divide_rounds_to_an_integer_with_digits_0():
    rows = evaluate({"op": "divide", "of": "a", "by": 60000, "digits": 0}, {"a": ["90000", "1,200,000", None]})
    assert [r["value"] for r in rows] == [2, 20, None]


def test_multiply_keeps_decimals_without_digits():
    rows = evaluate({"op": "multiply", "of": "a", "by": 100}, {"a": ["0.85", "$1,200.50"]})
    assert rows[0]["value"] == pytest.approx(85.0) and rows[1]["value"] == pytest.approx(120050.0)


def test_a_value_that_is_no_number_is_a_row_problem():
    rows = evaluate({"op": "divide", "of": "a", "by": 2}, {"a": ["twelve"]})
    assert rows[0]["value"] is None and "twelve is not a finite number" in rows[0]["problem"]


@pytest.mark.parametrize("by", [0, "2", True])
def test_a_factor_that_is_not_a_non_zero_number_is_a_spec_error(by):
    with pytest.raises(SpecError, match="by must be a non-zero number"):
        compile_expr({"op": "divide", "of": "a", "by": by}, context())
