"""spec/transforms/json_text.py: JSON objects built from a row's values."""

from __future__ import annotations

import json

import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import compile_expr
from migration_assets_tests.spec.transform_helpers import context, evaluate


def test_keys_are_sorted_and_values_typed_by_their_expressions():
    node = {"op": "json_object", "fields": {"z": "a", "pct": {"op": "multiply", "of": "a", "by": 100, "digits": 0}}}
    rows = evaluate(node, {"a": ["0.25", None]})
    assert rows[0]["value"] == '{"pct": 25, "z": "0.25"}'
    assert json.loads(rows[1]["value"]) == {"pct": None, "z": None}


@pytest.mark.parametrize("fields", [{}, [], {"": "a"}])
def test_fields_must_be_a_mapping_of_named_expressions(fields):
    with pytest.raises(SpecError, match="fields"):
        compile_expr({"op": "json_object", "fields": fields}, context())
