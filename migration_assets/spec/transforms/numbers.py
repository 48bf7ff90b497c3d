"""Arithmetic on source numbers: unit changes such as milliseconds to minutes or 0.2 to 20 %.

- `divide`: `of` (a number, or text the core `to_decimal` rules read: "1,200.50") divided by the
  constant `by`, rounded to `digits` decimals when given; `digits: 0` gives an integer. A value
  that is present but not a number is a problem of the row.
- `multiply`: the same with a product (e.g. a probability 0.85 to the percentage 85).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from migration_assets.spec.expressions import (
    Compiled,
    _int_arg,
    _label,
    _merge,
    _of,
    _parse_problem,
    parse_decimal,
    transform,
)


def _factor(args: dict[str, Any], ctx, key: str) -> float:
    value = args[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
        raise ctx.at(key).fail(f"{key} must be a non-zero number, not {value!r}")
    return float(value)


def _scaled(args, ctx, apply: Callable[[pl.Expr], pl.Expr]) -> Compiled:
    src = _of(args, ctx)
    digits = _int_arg(args, ctx, "digits", minimum=0, maximum=12) if "digits" in args else None
    number = src.expr.map_elements(parse_decimal, return_dtype=pl.Float64, skip_nulls=True)
    out = apply(number)
    if digits is not None:
        out = out.round(digits)
    dtype: pl.DataType = pl.Float64
    if digits == 0:
        out, dtype = out.cast(pl.Int64, strict=False), pl.Int64
    problem = _parse_problem(src, number, _label(args), "a finite number")
    return _merge(out, src, problems=(problem,), dtype=dtype)


@transform("divide", ("of", "by"), ("digits",), doc="a number divided by `by`, rounded to `digits` if given")
def _divide(args, ctx) -> Compiled:
    by = _factor(args, ctx, "by")
    return _scaled(args, ctx, lambda number: number / by)


@transform("multiply", ("of", "by"), ("digits",), doc="a number multiplied by `by`, rounded to `digits` if given")
def _multiply(args, ctx) -> Compiled:
    by = _factor(args, ctx, "by")
    return _scaled(args, ctx, lambda number: number * by)
