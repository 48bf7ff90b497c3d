"""spec/transforms/choices.py: multi-select values mapped label by label."""

from __future__ import annotations

import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import compile_expr
from migration_assets.spec.model import ValueMap
from migration_assets_tests.spec.transform_helpers import context, evaluate

AREAS = {"areas": ValueMap(values={"estate_planning": 100000000, "probate": 100000001, "elder_law": 100000002})}


def test_labels_map_to_sorted_unique_comma_separated_values():
    values = ["probate;estate_planning", "Elder-Law ; probate;probate", "", None]
    rows = evaluate({"op": "multi_value_map", "map": "areas", "of": "a"}, {"a": values}, AREAS)
    assert [r["value"] for r in rows] == ["100000000,100000001", "100000001,100000002", None, None]
    assert all(r["problem"] is None for r in rows)


def test_a_label_the_map_lacks_is_a_problem_naming_it_never_a_guess():
    rows = evaluate({"op": "multi_value_map", "map": "areas", "of": "a"}, {"a": ["probate;tax_planning"]}, AREAS)
    assert rows[0]["value"] is None
    assert "label(s) tax_planning have no entry in value map areas" in rows[0]["problem"]


def test_another_separator():
    rows = evaluate(
        {"op": "multi_value_map", "map": "areas", "of": "a", "sep": "|"}, {"a": ["probate|elder_law"]}, AREAS
    )
    assert rows[0]["value"] == "100000001,100000002"


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"op": "multi_value_map", "map": "nope", "of": "a"}, "unknown value map 'nope'"),
        ({"op": "multi_value_map", "map": "areas", "of": "a", "sep": ""}, "sep must not be empty"),
        ({"op": "multi_value_map", "map": "areas", "of": "a", "output": "x"}, "has no output 'x'"),
    ],
)
def test_bad_arguments_are_spec_errors(node, message):
    with pytest.raises(SpecError, match=message):
        compile_expr(node, context(value_maps=AREAS))
