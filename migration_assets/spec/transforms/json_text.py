"""JSON text built from several values of a row, for destination columns that hold structured text
(e.g. a process stage's `clientdata`).

- `json_object`: `{op: json_object, fields: {probability: stage_probability, closed: is_closed}}`
  gives `{"closed": "true", "probability": "0.2"}`: keys sorted, each value an expression (text,
  numbers, booleans and dates as JSON; null values kept as null), non-ASCII kept as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import polars as pl

from migration_assets.spec.expressions import Compiled, _merge, compile_expr, transform


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@transform("json_object", ("fields",), doc="a JSON object of named expressions (keys sorted)")
def _json_object(args, ctx) -> Compiled:
    fields = args["fields"]
    if not isinstance(fields, Mapping) or not fields:
        raise ctx.at("fields").fail("fields must be a non-empty mapping of key: expression")
    if not all(isinstance(k, str) and k for k in fields):
        raise ctx.at("fields").fail("every key of fields must be non-empty text")
    keys = sorted(fields)
    parts = [compile_expr(fields[k], ctx.at(f"fields.{k}")) for k in keys]
    struct = pl.struct([p.expr.alias(f"_{i}") for i, p in enumerate(parts)])
    out = struct.map_elements(
        lambda row: json.dumps(
            {k: _plain(row[f"_{i}"]) for i, k in enumerate(keys)}, ensure_ascii=False, sort_keys=True
        ),
        return_dtype=pl.String,
    )
    return _merge(out, *parts, dtype=pl.String)
