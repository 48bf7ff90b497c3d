"""spec/transforms/choices.py: lists of labels as Dataverse multi-select values, unknown labels held back."""

from __future__ import annotations

import polars as pl
import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import CompileContext, compile_expr
from migration_assets.spec.model import ValueMap

MAPS = {
    "injuries": ValueMap(values={"Neck": 100000000, "Back": 100000001, "Head": 100000002}),
    "pair": ValueMap(outputs=["a", "b"], values={"X": [1, 2]}),
}
FRAME = pl.DataFrame({"tags": ['["Back", "neck"]', '["Head", "Head"]', "[]", '["Neck", "Whiplash"]', "{x", None]})


def _context() -> CompileContext:
    return CompileContext("t.yaml", "objects.claim.fields.bd_injuries", "claims", {"tags": "json"}, value_maps=MAPS)


def _run(node: dict) -> tuple[list, list]:
    compiled = compile_expr(node, _context())
    out = FRAME.select(
        compiled.expr.alias("v"),
        pl.any_horizontal([p.bad for p in compiled.problems]).alias("bad"),
        pl.concat_str([pl.when(p.bad).then(p.reason) for p in compiled.problems], ignore_nulls=True).alias("why"),
    )
    return out["v"].to_list(), [w if b else None for b, w in zip(out["bad"], out["why"], strict=True)]


def test_labels_become_sorted_unique_option_values_case_blind() -> None:
    values, problems = _run({"op": "multi_select", "of": "tags", "map": "injuries"})
    assert values[:3] == ["100000000,100000001", "100000002", None]
    assert problems[:3] == [None, None, None] and values[5] is None and problems[5] is None


def test_a_label_outside_the_options_quarantines_the_row_naming_it() -> None:
    _values, problems = _run({"op": "multi_select", "of": "tags", "map": "injuries"})
    assert problems[3] == "tags: 'Whiplash' not among the options of value map injuries"
    assert "is not a list of labels" in problems[4]


def test_unknown_drop_loads_the_known_labels_but_still_refuses_a_non_list() -> None:
    values, problems = _run({"op": "multi_select", "of": "tags", "map": "injuries", "unknown": "drop"})
    assert values[3] == "100000000" and problems[3] is None
    assert problems[4] is not None


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"op": "multi_select", "of": "tags", "map": "nope"}, "unknown value map 'nope'"),
        ({"op": "multi_select", "of": "tags", "map": "pair"}, "one integer option value per label"),
        ({"op": "multi_select", "of": "tags", "map": "injuries", "unknown": "keep"}, "unknown must be one of"),
    ],
)
def test_bad_arguments_are_spec_errors(node: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        compile_expr(node, _context())
