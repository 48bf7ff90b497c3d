"""Timestamps written in several forms by one source: epoch milliseconds (or seconds) and ISO 8601.

Legacy imports leave a text field holding `1700000000000`, `2023-11-14T22:13:20`,
`2023-11-14T17:13:20-05:00` or `2023-11-14` side by side. These transforms read all of them:

- `epoch_or_iso`: a UTC timestamp; digits (optionally signed) are epoch time in `unit` (ms by
  default, or s), anything else is read by the core `to_datetime` rules (ISO with or without an
  offset, no offset meaning UTC, or a date in a known format).
- `epoch_or_iso_date`: the calendar date of the same instant in UTC.

A value that is present but none of these, or outside the years the core vocabulary accepts
(expressions.MIN_YEAR..MAX_YEAR), is a problem of the row (quarantined with the value), never a
silent null.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import polars as pl

from migration_assets.spec.expressions import (
    MAX_YEAR,
    MIN_YEAR,
    Compiled,
    _label,
    _merge,
    _of,
    _parse_problem,
    _text_arg,
    parse_datetime,
    transform,
)

_EPOCH = re.compile(r"^[+-]?\d{1,16}$")
UNITS = {"ms": 1000.0, "s": 1.0}


def parse_epoch_or_iso(text: str | None, unit: str = "ms") -> datetime | None:
    """An aware UTC datetime from epoch digits (in `unit`) or an ISO 8601 / known date text.

    Args:
        text: the raw value.
        unit: "ms" or "s", the unit of epoch digits.

    Returns:
        The instant, or None when the text is neither form or falls outside MIN_YEAR..MAX_YEAR.
    """
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if _EPOCH.match(value):
        try:
            moment = datetime.fromtimestamp(int(value) / UNITS[unit], tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment if MIN_YEAR <= moment.year <= MAX_YEAR else None
    return parse_datetime(value)


def _unit(args, ctx) -> str:
    unit = _text_arg(args, ctx, "unit", default="ms")
    if unit not in UNITS:
        raise ctx.at("unit").fail(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    return unit


@transform("epoch_or_iso", ("of",), ("unit",), doc="a UTC timestamp from epoch digits (unit ms or s) or ISO 8601 text")
def _epoch_or_iso(args, ctx) -> Compiled:
    src = _of(args, ctx)
    unit = _unit(args, ctx)
    dtype = pl.Datetime("us", "UTC")
    out = src.expr.cast(pl.String).map_elements(
        lambda t: parse_epoch_or_iso(t, unit), return_dtype=dtype, skip_nulls=True
    )
    what = f"epoch {unit} or an ISO date/time in {MIN_YEAR}-{MAX_YEAR}"
    return _merge(out, src, problems=(_parse_problem(src, out, _label(args), what),), dtype=dtype)


def _as_date(text: str | None, unit: str) -> date | None:
    moment = parse_epoch_or_iso(text, unit)
    return moment.date() if moment else None


@transform("epoch_or_iso_date", ("of",), ("unit",), doc="the UTC calendar date of epoch digits or ISO 8601 text")
def _epoch_or_iso_date(args, ctx) -> Compiled:
    src = _of(args, ctx)
    unit = _unit(args, ctx)
    out = src.expr.cast(pl.String).map_elements(lambda t: _as_date(t, unit), return_dtype=pl.Date, skip_nulls=True)
    what = f"epoch {unit} or an ISO date in {MIN_YEAR}-{MAX_YEAR}"
    return _merge(out, src, problems=(_parse_problem(src, out, _label(args), what),), dtype=pl.Date)
