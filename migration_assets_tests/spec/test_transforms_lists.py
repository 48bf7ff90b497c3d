"""spec/transforms/lists.py: one key of every object of a JSON array, filtered, as a list or text."""

from __future__ import annotations

import polars as pl
import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import CompileContext, compile_expr

FRAME = pl.DataFrame(
    {
        "attendees": [
            '[{"email": "a@firm.example", "internal": true}, {"email": "x@mail.example", "internal": false}]',
            '[{"email": "b@firm.example", "internal": true}]',
            "[]",
            '["not an object"]',
            None,
        ]
    }
)


def _context() -> CompileContext:
    return CompileContext("t.yaml", "objects.appointment.fields.x", "calendar_events", {"attendees": "json"})


def _run(node: dict) -> tuple[list, list]:
    compiled = compile_expr(node, _context())
    out = FRAME.select(compiled.expr.alias("v"), compiled.problems[0].bad.fill_null(False).alias("bad"))
    return out["v"].to_list(), out["bad"].to_list()


def test_every_email_as_a_list() -> None:
    values, bad = _run({"op": "json_pluck", "of": "attendees", "key": "email"})
    assert values == [["a@firm.example", "x@mail.example"], ["b@firm.example"], None, None, None]
    assert bad == [False, False, False, True, False]


def test_filtered_and_joined_as_text() -> None:
    node = {"op": "json_pluck", "of": "attendees", "key": "email", "where": {"internal": False}, "sep": "; "}
    values, _bad = _run(node)
    assert values == ["x@mail.example", None, None, None, None]


def test_where_must_be_a_mapping() -> None:
    with pytest.raises(SpecError, match="where must be a mapping"):
        compile_expr({"op": "json_pluck", "of": "attendees", "key": "email", "where": ["internal"]}, _context())
