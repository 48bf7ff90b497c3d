"""json_at and json_last: one item of a JSON list, by position or as the latest valid reading."""

from __future__ import annotations

import polars as pl
import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import CompileContext, compile_expr

CTX = CompileContext("t.yaml", "objects.x.fields.y", "s", {"j": "json"})
HISTORY = '[{"score": 7}, {"score": 15}, {"score": null}, {"comment": "x"}]'
FRAME = pl.DataFrame({"j": ["[9, 8]", '"[\\"a\\", {\\"k\\": 1}]"', "[]", "{broken", None, '{"a": 1}', HISTORY]})


def run(node: dict) -> tuple[list, list]:
    compiled = compile_expr(node, CTX)
    out = FRAME.select(
        compiled.expr.alias("v"), *(p.bad.fill_null(False).alias(f"p{i}") for i, p in enumerate(compiled.problems))
    )
    flags = [any(r[1:]) for r in out.iter_rows()]
    return out["v"].to_list(), flags


def test_json_at_reads_by_position_also_from_the_end_and_from_a_list_encoded_twice():
    values, flags = run({"op": "json_at", "of": "j", "index": 1})
    assert values == ["8", '{"k": 1}', None, None, None, None, '{"score": 15}']
    assert flags == [False, False, False, True, False, False, False]  # invalid JSON is a problem, not a null
    last, _ = run({"op": "json_at", "of": "j", "index": -1})
    assert last[:3] == ["8", '{"k": 1}', None]


def test_json_last_takes_the_latest_present_value_and_skips_values_outside_between():
    values, flags = run({"op": "json_last", "of": "j", "key": "score"})
    assert values[-1] == "15" and values[0] is None and flags[3]
    bounded, _ = run({"op": "json_last", "of": "j", "key": "score", "between": [0, 10]})
    assert bounded[-1] == "7"


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"op": "json_at", "of": "j", "index": "1"}, "index must be an integer"),
        ({"op": "json_last", "of": "j", "key": 3}, "key must be text"),
        ({"op": "json_last", "of": "j", "key": "s", "between": [10, 0]}, "between must be"),
        ({"op": "json_last", "of": "j", "key": "s", "between": [0]}, "between must be"),
    ],
)
def test_bad_arguments_are_spec_errors(node: dict, message: str):
    with pytest.raises(SpecError, match=message):
        compile_expr(node, CTX)
