"""Transforms over JSON arrays of objects (attendees, phone lists, status histories).

`json_pluck` takes one key of every object of a JSON array, optionally only of the objects whose
keys equal given constants, and gives them as a list of text (for a destination column that takes
a list, such as an activity party list) or, with `sep`, as one text. An absent, empty or fully
filtered-out array gives null; a value that is not a JSON array of objects is quarantined with
the value shown.

Example:
    requiredattendees: {op: json_pluck, of: attendees, key: email}
    bd_reinvite: {op: json_pluck, of: attendees, key: email, where: {internal: false}, sep: "; "}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from migration_assets.spec.expressions import (
    Problem,
    _blank_to_null,
    _constant,
    _kind,
    _label,
    _merge,
    _of,
    _text_arg,
    transform,
)
from migration_assets.spec.json_values import loads_list

_NOT_A_LIST = object()


def _items(text: str | None) -> list[Any] | object:
    if text is None or not text.strip():
        return []
    try:
        value = loads_list(text)
    except ValueError:
        return _NOT_A_LIST
    if not all(isinstance(v, dict) for v in value):
        return _NOT_A_LIST
    return value


def pluck(text: str | None, key: str, where: Mapping[str, Any]) -> list[str] | None:
    """`key` of each object of the array in `text` that matches `where`, as text (None if none)."""
    items = _items(text)
    if items is _NOT_A_LIST:
        return None
    out = []
    for item in items:  # type: ignore[union-attr]
        if all(item.get(k) == v for k, v in where.items()) and item.get(key) not in (None, ""):
            value = item[key]
            out.append(value if isinstance(value, str) else json.dumps(value))
    return out or None


@transform(
    "json_pluck",
    ("of", "key"),
    ("where", "sep"),
    doc="one key of every object of a JSON array (optionally filtered), as a list or joined text",
)
def _json_pluck(args, ctx):
    src = _of(args, ctx)
    key = _text_arg(args, ctx, "key")
    where = args.get("where", {})
    if not isinstance(where, Mapping) or ("where" in args and not where):
        raise ctx.at("where").fail(f"where must be a mapping of keys to constants, not {_kind(where)}")
    where = {str(k): _constant(v, ctx.at(f"where.{k}")) for k, v in dict(where).items()}
    raw = _blank_to_null(src.expr.cast(pl.String))
    listed = raw.map_elements(lambda t: pluck(t, key, where), return_dtype=pl.List(pl.String), skip_nulls=True)
    valid = raw.map_elements(lambda t: _items(t) is not _NOT_A_LIST, return_dtype=pl.Boolean, skip_nulls=True)
    problem = Problem(
        bad=raw.is_not_null() & ~valid.fill_null(True),
        reason=pl.format("{} is not a JSON array of objects: {}", pl.lit(_label(args)), raw.str.slice(0, 60)),
    )
    if "sep" in args:
        joined = listed.list.join(_text_arg(args, ctx, "sep"))
        return _merge(joined, src, problems=(problem,), dtype=pl.String)
    return _merge(listed, src, problems=(problem,), dtype=pl.List(pl.String))
