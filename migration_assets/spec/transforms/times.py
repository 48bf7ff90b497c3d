"""Transforms for moments in time that the source gives without a zone, or out of order.

`zoned_datetime` reads a timestamp as `to_datetime` does, except that a wall-clock time without an
offset is read in a time zone: the row's own zone (an IANA name in a field, e.g. `time_zone`), else
the spec's `default_zone` (the firm's zone). A timestamp with an offset or `Z` keeps it. An unknown
zone name quarantines the row with the name shown.

`not_before` passes a moment through unchanged, but quarantines the row when it is earlier than another
one (an appointment that ends before it starts), with both shown: nothing is swapped or guessed.

Example:
    scheduledstart: {op: zoned_datetime, of: start, zone: time_zone, default_zone: America/Chicago}
    scheduledend:
      op: not_before
      of: {op: zoned_datetime, of: end, zone: time_zone, default_zone: America/Chicago}
      start: {op: zoned_datetime, of: start, zone: time_zone, default_zone: America/Chicago}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from migration_assets.spec.expressions import (
    MAX_YEAR,
    MIN_YEAR,
    Problem,
    _label,
    _merge,
    _of,
    _parse_problem,
    _text_arg,
    compile_expr,
    parse_datetime,
    transform,
)

UTC_TYPE = pl.Datetime("us", "UTC")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zoned(text: str | None, zone: str | None, default_zone: str) -> datetime | None:
    """The UTC moment of `text`; a wall-clock time without offset is read in `zone` (else the default)."""
    parsed = parse_datetime(text)
    if parsed is None or _OFFSET.search(str(text).strip()) or "T" not in str(text):
        return parsed
    where = _zone(zone) if zone and zone.strip() else _zone(default_zone)
    if where is None:
        return None
    local = parsed.replace(tzinfo=None).replace(tzinfo=where)
    moment = local.astimezone(UTC)
    return moment if MIN_YEAR <= moment.year <= MAX_YEAR else None


@transform(
    "zoned_datetime",
    ("of", "default_zone"),
    ("zone",),
    doc="a UTC timestamp; a time without offset is read in the row's zone or the default zone",
)
def _zoned_datetime(args, ctx):
    src = _of(args, ctx)
    default_zone = _text_arg(args, ctx, "default_zone")
    if _zone(default_zone) is None:
        raise ctx.at("default_zone").fail(f"unknown time zone {default_zone!r} (an IANA name such as America/Chicago)")
    zone = compile_expr(args["zone"], ctx.at("zone")) if "zone" in args else None
    zone_expr = zone.expr.cast(pl.String) if zone else pl.lit(None, pl.String)
    out = pl.struct(src.expr.cast(pl.String).alias("t"), zone_expr.alias("z")).map_elements(
        lambda r: zoned(r["t"], r["z"], default_zone), return_dtype=UTC_TYPE
    )
    parts = (src, zone) if zone else (src,)
    what = f"a date/time in {MIN_YEAR}-{MAX_YEAR} in a known time zone"
    return _merge(out, *parts, problems=(_parse_problem(src, out, _label(args), what),), dtype=UTC_TYPE)


@transform("not_before", ("of", "start"), doc="the moment unchanged; the row is quarantined when it is before `start`")
def _not_before(args, ctx):
    end = _of(args, ctx)
    start = compile_expr(args["start"], ctx.at("start"))
    end_t, start_t = end.expr, start.expr
    name = args["of"] if isinstance(args["of"], str) else ctx.path.rsplit(".", 1)[-1]
    problem = Problem(
        bad=(end_t.is_not_null() & start_t.is_not_null() & (end_t < start_t)).fill_null(False),
        reason=pl.format("{} {} is before its start {}", pl.lit(name), end_t.cast(pl.String), start_t.cast(pl.String)),
        hold=True,  # an end before the start is a wrong record, not one wrong field
    )
    return _merge(end.expr, end, start, problems=(problem,), dtype=end.dtype)
