"""Multi-select choices: a list of labels to the destination's comma-separated option values.

`multi_select` reads a list of labels (a JSON array, or its text, e.g. `["Neck", "Back"]`), maps
each label through a named value map (compared like `value_map` labels: trimmed, case-blind,
'-'/'_' as spaces) and gives the values as text, ascending and without repeats
(`"100000000,100000002"`), the form destinations with integer choices write multi-select columns in. An empty
list gives null. A label the map lacks is never dropped silently: the row is quarantined with the
label named (`unknown: quarantine`, the default); `unknown: drop` loads the known labels instead
(a spec that chooses it says so, and a value that is no list at all is still quarantined).

`multi_select_expr` builds the same expression from a plain {label: value} table, for option sets
that come from a source's own inventory rather than from the spec (engine/custom_inventory.py).

Example:
    bd_injuries: {op: multi_select, of: {op: json_get, of: custom_fields, key: cf_12}, map: injuries}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from migration_assets.errors import known_values
from migration_assets.spec.expressions import (
    Compiled,
    Problem,
    _blank_to_null,
    _label,
    _merge,
    _of,
    _short,
    _text_arg,
    normalize_label,
    transform,
)
from migration_assets.spec.json_values import loads_list

UNKNOWN = ("quarantine", "drop")


def labels_of(value: Any) -> list[str] | None:
    """The labels of a JSON array (or its text, also encoded twice); None when it is no array."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        try:
            value = loads_list(text)
        except ValueError:
            return None
    if not isinstance(value, list):
        return None
    return [str(v).strip() for v in value if v is not None and str(v).strip()]


def _values(text: Any, table: Mapping[str, int]) -> str | None:
    labels = labels_of(text) or []
    found = sorted({table[k] for k in (normalize_label(lb) for lb in labels) if k in table})
    return ",".join(str(v) for v in found) or None


def _unknown(text: Any, table: Mapping[str, int]) -> str | None:
    labels = labels_of(text)
    if labels is None:
        return f"{str(text)[:60]} is not a list of labels"
    missing = [lb for lb in labels if normalize_label(lb) not in table]
    return ", ".join(repr(m) for m in missing) or None


def multi_select_expr(
    src: Compiled, table: Mapping[str, int], label: str, where: str, *, drop: bool = False
) -> Compiled:
    """The comma-separated option values of `src`'s labels, with a problem for unknown labels.

    Args:
        src: the compiled list of labels (JSON text or a JSON array).
        table: label -> option value; labels are normalized like value-map labels.
        label: the field named in problems.
        where: where the options come from (a value map, an inventory), named in problems.
        drop: unknown labels are left out instead of quarantining the row (a malformed list still is).

    Returns:
        The Compiled text expression.
    """
    keyed = {normalize_label(k): int(v) for k, v in table.items()}
    raw = _blank_to_null(src.expr.cast(pl.String))
    out = raw.map_elements(lambda t: _values(t, keyed), return_dtype=pl.String, skip_nulls=True)
    why = raw.map_elements(lambda t: _unknown(t, keyed), return_dtype=pl.String, skip_nulls=True)
    bad = why.is_not_null()
    if drop:
        bad = bad & why.str.ends_with("is not a list of labels")
    problem = Problem(
        bad=bad.fill_null(False),
        reason=pl.format("{}: {} not among the options of {}", pl.lit(label), why, pl.lit(where)),
    )
    return _merge(out, src, problems=(problem,), dtype=pl.String)


@transform(
    "multi_select",
    ("of", "map"),
    ("unknown",),
    doc="a list of labels as comma-separated option values of a value map (a multi-select choice)",
)
def _multi_select(args, ctx):
    name = _text_arg(args, ctx, "map")
    vmap = ctx.value_maps.get(name)
    if vmap is None:
        raise ctx.at("map").fail(f"unknown value map {name!r} {known_values(ctx.value_maps)}")
    if len(vmap.outputs) != 1 or not all(isinstance(v, int) and not isinstance(v, bool) for v in vmap.values.values()):
        raise ctx.at("map").fail(f"value map {name!r} must give one integer option value per label")
    unknown = _text_arg(args, ctx, "unknown", default="quarantine")
    if unknown not in UNKNOWN:
        raise ctx.at("unknown").fail(f"unknown must be one of {', '.join(UNKNOWN)}, not {_short(unknown)}")
    return multi_select_expr(_of(args, ctx), vmap.values, _label(args), f"value map {name}", drop=unknown == "drop")
