"""Multi-select choices: a source value holding several labels (`estate_planning;probate`) mapped
label by label through a named value map.

- `multi_value_map`: the labels of `of`, split on `sep` (default `;`, as HubSpot joins multi-select
  values), each looked up in value map `map` (labels normalized as the map says), duplicates
  removed; the result is the mapped values sorted and joined with commas (`100000000,100000002`,
  the text form Dataverse takes for a multi-select column), null when no label is present. A label
  the map lacks (and no default) makes the row a problem naming it, never a guess.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from migration_assets.spec.expressions import (
    Compiled,
    Problem,
    _label,
    _merge,
    _of,
    _text_arg,
    normalize_label,
    transform,
    value_map_lookup,
)


def split_labels(text: str | None, sep: str) -> list[str]:
    """The non-blank labels of a multi-select value, trimmed, in order, without repeats."""
    if text is None:
        return []
    return list(dict.fromkeys(p.strip() for p in str(text).split(sep) if p.strip()))


@transform("multi_value_map", ("map", "of"), ("sep", "output"), doc="several labels, each through a value map")
def _multi_value_map(args, ctx) -> Compiled:
    name, vmap, table, default = value_map_lookup(args, ctx)
    sep = _text_arg(args, ctx, "sep", default=";")
    if not sep:
        raise ctx.at("sep").fail("sep must not be empty")

    def lookup(label: str) -> Any:
        return table.get(normalize_label(label) if vmap.normalize else label, default)

    def mapped(text: str | None) -> str | None:
        labels = split_labels(text, sep)
        values = [lookup(label) for label in labels]
        if not labels or any(v is None for v in values):
            return None
        return ",".join(str(v) for v in sorted(set(values), key=lambda v: (str(type(v)), v)))

    def missing(text: str | None) -> str | None:
        absent = [label for label in split_labels(text, sep) if lookup(label) is None]
        return ", ".join(absent) or None

    src = _of(args, ctx)
    raw = src.expr.cast(pl.String)
    absent = raw.map_elements(missing, return_dtype=pl.String, skip_nulls=True)
    problem = Problem(
        bad=absent.is_not_null(),
        reason=pl.format("{} label(s) {} have no entry in value map {}", pl.lit(_label(args)), absent, pl.lit(name)),
    )
    out = raw.map_elements(mapped, return_dtype=pl.String, skip_nulls=True)
    return _merge(out, src, problems=(problem,), dtype=pl.String)
