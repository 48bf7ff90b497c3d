"""Every transform of the expression vocabulary, on a small frame: its values and its problems.

`test_every_transform_has_a_case` fails when a transform is added without a case here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from migration_assets.spec.expressions import TRANSFORMS, CompileContext, compile_expr
from migration_assets.spec.model import ValueMap

FIELDS = {"a": "str", "b": "str", "n": "str", "j": "str", "h": "str", "flag": "str"}
MAPS = {"status": ValueMap(outputs=["state", "code"], values={"On Hold": [0, 2], "Closed": [1, 5]})}
FRAME = pl.DataFrame(
    {
        "a": ["  Ada  ", "Lovelace, Ada", None, "ACME, L.L.C."],
        "b": ["x", "", "y", None],
        "n": ["$1,200.50", "7", "abc", None],
        "j": ['{"Referral Source": "web"}', '["9", "8"]', "{broken", None],
        "h": ["<p>Hi<br>there</p><script>x()</script>", "on-hold", "Closed", "<b>b</b>"],
        "flag": ["yes", "0", "maybe", None],
    }
)

BOTH = [{"op": "not_null", "of": "a"}, {"op": "not_null", "of": "b"}]
CASES: dict[str, tuple[Any, list[Any], int]] = {
    # op: (expression, expected values, rows with a problem)
    "field": ({"op": "field", "name": "b"}, ["x", "", "y", None], 0),
    "const": ({"op": "const", "value": "k"}, ["k"] * 4, 0),
    "lower": ({"op": "lower", "of": "a"}, ["ada", "lovelace, ada", None, "acme, l.l.c."], 0),
    "upper": ({"op": "upper", "of": "b"}, ["X", None, "Y", None], 0),
    "trim": ({"op": "trim", "of": "a"}, ["Ada", "Lovelace, Ada", None, "ACME, L.L.C."], 0),
    "truncate": ({"op": "truncate", "of": "a", "length": 3}, ["  A", "Lov", None, "ACM"], 0),
    "concat": ({"op": "concat", "args": ["b", {"const": "-"}, "b"]}, ["x-x", "-", "y-y", "-"], 0),
    "coalesce": ({"op": "coalesce", "args": ["b", {"const": "none"}]}, ["x", "none", "y", "none"], 0),
    "split_name": ({"op": "split_name", "of": "a", "part": "last"}, ["Ada", "Lovelace", None, "ACME"], 0),
    "company_key": ({"op": "company_key", "of": "a"}, ["ada", "lovelace ada", None, "acme llc"], 0),
    "value_map": ({"op": "value_map", "map": "status", "of": "h", "output": "code"}, [None, 2, 5, None], 2),
    "json_get": ({"op": "json_get", "of": "j", "key": "referral_source"}, ["web", None, None, None], 1),
    "json_first": ({"op": "json_first", "of": "j"}, [None, "9", None, None], 0),
    "to_datetime": ({"op": "to_datetime", "of": "b"}, [None, None, None, None], 2),
    "to_date": ({"op": "to_date", "of": {"const": "03/22/2021"}}, [date(2021, 3, 22)] * 4, 0),
    "to_decimal": ({"op": "to_decimal", "of": "n"}, [1200.5, 7.0, None, None], 1),
    "to_int": ({"op": "to_int", "of": "n"}, [None, 7, None, None], 2),
    "to_bool": ({"op": "to_bool", "of": "flag"}, [True, False, None, None], 1),
    "html_to_text": ({"op": "html_to_text", "of": "h"}, ["Hi\nthere", "on-hold", "Closed", "b"], 0),
    "sanitize_html": ({"op": "sanitize_html", "of": "h"}, ["<p>Hi<br>there</p>", "on-hold", "Closed", "<b>b</b>"], 0),
    "is_null": ({"op": "is_null", "of": "b"}, [False, True, False, True], 0),
    "not_null": ({"op": "not_null", "of": "b"}, [True, False, True, False], 0),
    "eq": ({"op": "eq", "of": "b", "value": "x"}, [True, False, False, False], 0),
    "equals": ({"op": "equals", "args": ["b", {"const": "y"}]}, [False, False, True, False], 0),
    "in": ({"op": "in", "of": "b", "values": ["x", "y"]}, [True, False, True, False], 0),
    "not": ({"op": "not", "of": {"op": "is_null", "of": "b"}}, [True, False, True, False], 0),
    "all": ({"op": "all", "args": BOTH}, [True, False, False, False], 0),
    "any": ({"op": "any", "args": BOTH}, [True, True, True, True], 0),
}


def _context() -> CompileContext:
    return CompileContext("t.yaml", "objects.x.fields.y", "s", FIELDS, value_maps=MAPS)


def test_every_core_transform_has_a_case() -> None:
    """Core transforms are tested here; each `spec/transforms/<topic>.py` has its own test file."""
    core = {name for name, t in TRANSFORMS.items() if t.build.__module__ == compile_expr.__module__}
    assert set(CASES) == core


@pytest.mark.parametrize("op", sorted(CASES))
def test_transform_values_and_problems(op: str) -> None:
    node, expected, problem_rows = CASES[op]
    compiled = compile_expr(node, _context())
    values = FRAME.with_columns(compiled.expr.alias("v"))["v"].to_list()
    assert values == expected
    bad = FRAME.with_columns([p.bad.fill_null(False).alias(f"p{i}") for i, p in enumerate(compiled.problems)])
    flags = bad.select([f"p{i}" for i in range(len(compiled.problems))])
    flagged = sum(any(row) for row in flags.iter_rows()) if compiled.problems else 0
    assert flagged == problem_rows


def test_to_datetime_reads_offsets_and_offsetless_values_as_utc() -> None:
    frame = pl.DataFrame({"b": ["2024-05-30T09:14:00Z", "2024-05-30T11:14:00+02:00", "2024-05-30 09:14:00"]})
    out = frame.select(compile_expr({"op": "to_datetime", "of": "b"}, _context()).expr.alias("v"))["v"].to_list()
    assert out == [datetime(2024, 5, 30, 9, 14, tzinfo=UTC)] * 3


def test_problem_reasons_name_the_field_and_the_value() -> None:
    compiled = compile_expr({"op": "to_decimal", "of": "n"}, _context())
    reasons = FRAME.select(compiled.problems[0].reason.alias("r"))["r"].to_list()
    assert reasons[2] == "n abc is not a finite number"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1e400", "1e16"])
def test_non_finite_or_out_of_range_numbers_are_problems_not_nulls(value: str) -> None:
    compiled = compile_expr({"op": "to_decimal", "of": "n"}, _context())
    out = pl.DataFrame({"n": [value]}).select(
        compiled.expr.is_null().alias("null"), compiled.problems[0].bad.alias("bad")
    )
    assert out.row(0) == (True, True)


@pytest.mark.parametrize("value", ["0001-01-01", "2999-12-31T00:00:00Z", "1700-06-01"])
def test_dates_outside_the_plausible_range_are_problems(value: str) -> None:
    compiled = compile_expr({"op": "to_datetime", "of": "b"}, _context())
    problem = compiled.problems[0]
    out = pl.DataFrame({"b": [value]}).select(problem.bad.alias("bad"), problem.reason.alias("reason"))
    assert out["bad"][0] and "1753-2100" in out["reason"][0]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('{"Referral Source": "web"}', "web"),
        ('"{\\"referral_source\\": \\"web\\"}"', "web"),  # encoded twice
        ('{"referral_source": 123456789012345678901234567890}', "123456789012345678901234567890"),  # > 64 bits
        ('{"referral_source": NaN}', "NaN"),  # what Python's JSON writer emits for a float NaN
    ],
)
def test_json_get_reads_what_any_json_reader_accepts(document: str, expected: str) -> None:
    compiled = compile_expr({"op": "json_get", "of": "j", "key": "referral_source"}, _context())
    out = pl.DataFrame({"j": [document]}).select(compiled.expr.alias("v"), compiled.problems[0].bad.alias("bad"))
    assert out.row(0) == (expected, False)
