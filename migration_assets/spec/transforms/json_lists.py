"""Transforms that read one item out of a JSON list: by position, or the latest reading of a history.

    {op: json_at, of: client_ids, index: 1}            the second element (text), null past the end
    {op: json_last, of: nps.responses, key: score, between: [0, 10]}
                                                       `score` of the last object whose score is
                                                       present (and within `between`), as text

A list encoded twice is read too. A value that is not valid JSON is a problem of the row (quarantined
with the value), never a silent null; a valid value that is not a list gives null.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from migration_assets.spec.expressions import (
    Problem,
    _blank_to_null,
    _int_arg,
    _kind,
    _label,
    _merge,
    _of,
    transform,
)
from migration_assets.spec.json_values import loads_list

MAX_INDEX = 1_000_000


def _items(text: str | None) -> list[Any] | None:
    """The JSON list in `text` (decoded twice when it was encoded twice), or None."""
    if text is None:
        return None
    try:
        return loads_list(text)
    except ValueError:
        return None


def _valid(text: str | None) -> bool:
    if text is None:
        return True
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _as_text(value: Any) -> str | None:
    """An item as text: strings as they are, everything else as its JSON (true, 7, {"a": 1})."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _invalid(raw: pl.Expr, args: dict[str, Any]) -> Problem:
    valid = raw.map_elements(_valid, return_dtype=pl.Boolean, skip_nulls=True)
    return Problem(
        bad=raw.is_not_null() & ~valid.fill_null(True),
        reason=pl.format("{} is not valid JSON: {}", pl.lit(_label(args)), raw.str.slice(0, 60)),
    )


@transform("json_at", ("of", "index"), doc="the element of a JSON list at `index` (0-based, negative from the end)")
def _json_at(args, ctx):
    src = _of(args, ctx)
    index = _int_arg(args, ctx, "index", -MAX_INDEX, MAX_INDEX)

    def at(text: str | None) -> str | None:
        items = _items(text)
        if not items or not -len(items) <= index < len(items):
            return None
        return _as_text(items[index])

    raw = _blank_to_null(src.expr.cast(pl.String))
    out = raw.map_elements(at, return_dtype=pl.String, skip_nulls=True)
    return _merge(out, src, problems=(_invalid(raw, args),))


def _bounds(args: dict[str, Any], ctx) -> tuple[float, float] | None:
    between = args.get("between")
    if between is None:
        return None
    if (
        not isinstance(between, list)
        or len(between) != 2
        or any(isinstance(b, bool) or not isinstance(b, int | float) for b in between)
        or between[0] > between[1]
    ):
        raise ctx.at("between").fail(f"between must be [low, high] numbers with low <= high, not {_kind(between)}")
    return float(between[0]), float(between[1])


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@transform(
    "json_last",
    ("of", "key"),
    ("between",),
    doc="`key` of the last object of a JSON list that has it (a number within `between`, when given)",
)
def _json_last(args, ctx):
    src = _of(args, ctx)
    key = args["key"]
    if not isinstance(key, str):
        raise ctx.at("key").fail(f"key must be text, not {_kind(key)}")
    bounds = _bounds(args, ctx)

    def last(text: str | None) -> str | None:
        for item in reversed(_items(text) or []):
            value = item.get(key) if isinstance(item, dict) else None
            if value is None or value == "":
                continue
            if bounds is not None:
                number = _number(value)
                if number is None or not bounds[0] <= number <= bounds[1]:
                    continue
            return _as_text(value)
        return None

    raw = _blank_to_null(src.expr.cast(pl.String))
    out = raw.map_elements(last, return_dtype=pl.String, skip_nulls=True)
    return _merge(out, src, problems=(_invalid(raw, args),))
