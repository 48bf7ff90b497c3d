"""spec/transforms/times.py: zone-less wall-clock times read in a zone; ends before starts held back."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from migration_assets.errors import SpecError
from migration_assets.spec.expressions import CompileContext, compile_expr

FIELDS = {"start": "datetime", "end": "datetime", "time_zone": "str"}
ZONED = {"op": "zoned_datetime", "of": "start", "zone": "time_zone", "default_zone": "America/Chicago"}


def _context() -> CompileContext:
    return CompileContext("t.yaml", "objects.appointment.fields.scheduledend", "calendar_events", FIELDS)


def test_offsets_are_kept_and_wall_clock_times_read_in_the_row_or_default_zone() -> None:
    frame = pl.DataFrame(
        {
            "start": ["2026-06-01T15:00:00Z", "2026-06-01T10:00:00", "2026-06-01T10:00:00", "2026-06-01T10:00:00"],
            "time_zone": ["America/Denver", "America/New_York", None, "Mars/Olympus"],
        }
    )
    compiled = compile_expr(ZONED, _context())
    out = frame.select(compiled.expr.alias("v"), compiled.problems[0].bad.alias("bad"))
    assert out["v"].to_list()[:3] == [
        datetime(2026, 6, 1, 15, tzinfo=UTC),
        datetime(2026, 6, 1, 14, tzinfo=UTC),
        datetime(2026, 6, 1, 15, tzinfo=UTC),
    ]
    assert out["bad"].to_list() == [False, False, False, True]


def test_an_end_before_its_start_is_a_problem_with_both_moments() -> None:
    frame = pl.DataFrame(
        {
            "start": ["2026-06-01T10:00:00Z", "2026-06-01T10:00:00Z"],
            "end": ["2026-06-01T11:00:00Z", "2026-06-01T09:00:00Z"],
        }
    )
    node = {"op": "not_before", "of": {"op": "to_datetime", "of": "end"}, "start": {"op": "to_datetime", "of": "start"}}
    compiled = compile_expr(node, _context())
    problem = compiled.problems[-1]  # not_before's own, behind the parse problems of both moments
    out = frame.select(compiled.expr.alias("v"), problem.bad.alias("bad"), problem.reason.alias("why"))
    assert out["bad"].to_list() == [False, True]
    assert (
        out["why"][1].startswith("scheduledend 2026-06-01 09:00:00")
        and "before its start 2026-06-01 10:00:00" in out["why"][1]
    )
    assert out["v"][1] == datetime(2026, 6, 1, 9, tzinfo=UTC)  # passed through, never swapped


def test_unknown_default_zone_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="unknown time zone 'Nowhere/City'"):
        compile_expr({**ZONED, "default_zone": "Nowhere/City"}, _context())
