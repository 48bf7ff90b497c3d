"""Choose the sample phase's records: representative, deterministic, and closed under lookups.

The anchor object's rows are stratified by the spec's `stratify_by` expression (every stratum is
represented, including odd labels, so the sample shows how they are handled) and picked round-robin
in a stable hash order. Then the parents their lookups need are added, then the children of the
chosen rows (objects the anchor does not depend on, e.g. matters of a chosen case), then those
children's parents.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import polars as pl

from migration_assets.engine import lookup_targets, routing
from migration_assets.engine.transform import compiled_columns, explode_rows, join_rows
from migration_assets.spec.loader import LoadedSpec


def _keys(loaded: LoadedSpec, obj: str, raw_by_source: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """External id and lookup target ids of every raw row of `obj` (exploded, then joined, as in
    staging)."""
    spec_obj = loaded.spec.objects[obj]
    raw = explode_rows(loaded, obj, raw_by_source[spec_obj.source])
    raw = routing.routed_rows(loaded, obj, join_rows(loaded, obj, raw, raw_by_source))
    columns = compiled_columns(loaded, obj)
    ext = loaded.compile(obj, "external_id.value", spec_obj.external_id.value)
    staged = [s for _c, _lk, _t, s in lookup_targets.every_target(loaded, obj)]
    return raw.select(
        ext.expr.cast(pl.String).alias("_ext"), *(columns[s].expr.cast(pl.String).alias(s) for s in staged)
    )


def _stable_order(values: list[str], seed: int) -> list[str]:
    return sorted(values, key=lambda v: hashlib.sha1(f"{seed}:{v}".encode()).hexdigest())


def _pick_anchor(loaded: LoadedSpec, raw: pl.DataFrame) -> set[str]:
    opts = loaded.spec.options.sample
    anchor = opts.anchor
    ext = loaded.compile(anchor, "external_id.value", loaded.spec.objects[anchor].external_id.value)
    stratum = (
        loaded.compile(anchor, "options.sample.stratify_by", opts.stratify_by).expr.cast(pl.String)
        if opts.stratify_by is not None
        else pl.lit("all")
    )
    frame = raw.select(ext.expr.cast(pl.String).alias("_ext"), stratum.fill_null("(empty)").alias("_stratum"))
    frame = frame.filter(pl.col("_ext").is_not_null())
    groups = {
        s: _stable_order(g["_ext"].to_list(), opts.seed)
        for (s,), g in sorted(frame.group_by("_stratum"), key=lambda kv: str(kv[0][0]))
    }
    chosen: list[str] = []
    while len(chosen) < opts.size and any(groups.values()):
        for values in groups.values():
            if values and len(chosen) < opts.size:
                chosen.append(values.pop(0))
    return set(chosen)


def select_sample(loaded: LoadedSpec, raw_by_source: Mapping[str, pl.DataFrame]) -> dict[str, set[str]]:
    """{destination object: external ids in the sample}."""
    spec = loaded.spec
    keys = {obj: _keys(loaded, obj, raw_by_source) for obj in spec.objects}
    selected: dict[str, set[str]] = {obj: set() for obj in spec.objects}
    selected[spec.options.sample.anchor] = _pick_anchor(
        loaded, raw_by_source[spec.objects[spec.options.sample.anchor].source]
    )

    def add_parents() -> None:
        changed = True
        while changed:
            changed = False
            for obj in spec.objects:
                rows = keys[obj].filter(pl.col("_ext").is_in(list(selected[obj])))
                for _column, _lookup, target, staged in lookup_targets.every_target(loaded, obj):
                    targets = set(rows[staged].drop_nulls().to_list()) - selected[target]
                    if targets:
                        selected[target] |= targets
                        changed = True

    add_parents()
    ancestors = _ancestors(loaded, spec.options.sample.anchor)
    for obj in spec.objects:
        if obj in ancestors or obj == spec.options.sample.anchor:
            continue
        for _column, _lookup, target, staged in lookup_targets.every_target(loaded, obj):
            if target in ancestors or target == spec.options.sample.anchor or target == obj:
                hits = keys[obj].filter(pl.col(staged).is_in(list(selected[target])))
                selected[obj] |= set(hits["_ext"].drop_nulls().to_list())
    add_parents()
    return selected


def _ancestors(loaded: LoadedSpec, obj: str) -> set[str]:
    seen: set[str] = set()
    todo = [obj]
    while todo:
        for _column, _lookup, target, _staged in lookup_targets.every_target(loaded, todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    seen.discard(obj)
    return seen
