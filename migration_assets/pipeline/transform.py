"""Turn the raw extract of a source object into the staged rows of one destination object.

Pure Polars, no I/O: `stage_frame(loaded, obj_name, raw)` returns the rows to load, the rows
quarantined (with a reason each) and the rows excluded by the spec (with the rule's reason), such
that every source record lands in exactly one of the three.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import polars as pl

from migration_assets.spec.expressions import Compiled
from migration_assets.spec.loader import LoadedSpec

EXT, SRC, HASH, REASON = "_external_id", "_source_id", "_row_hash", "_reason"


@dataclass(frozen=True)
class StageResult:
    staged: pl.DataFrame  # _external_id, _source_id, _row_hash, mapped columns, lookup columns
    quarantined: pl.DataFrame  # _external_id, _source_id, _reason, _row
    excluded: pl.DataFrame  # _external_id, _source_id, _reason
    source_rows: int  # raw source records read
    source: int  # records of this destination object (distinct external ids when collapsing)
    merged: int  # source rows folded into another by a many:1 collapse

    def counts(self) -> dict[str, int]:
        return {
            "source": self.source,
            "staged": self.staged.height,
            "quarantined": self.quarantined.height,
            "excluded": self.excluded.height,
            "source_rows": self.source_rows,
            "merged": self.merged,
        }


def compiled_columns(loaded: LoadedSpec, obj_name: str) -> dict[str, Compiled]:
    """Compiled expressions of every output column of an object (fields, then lookups)."""
    obj = loaded.spec.objects[obj_name]
    out = {c: loaded.compile(obj_name, f"fields.{c}", n) for c, n in obj.fields.items()}
    out |= {c: loaded.compile(obj_name, f"lookups.{c}.value", lk.value) for c, lk in obj.lookups.items()}
    return out


def _row_hash(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    def digest(row: dict) -> str:
        return hashlib.sha1(json.dumps(row, default=str, sort_keys=True).encode()).hexdigest()[:16]

    return pl.Series(HASH, [digest(r) for r in frame.select(columns).iter_rows(named=True)], dtype=pl.String)


def stage_frame(loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame) -> StageResult:
    """Apply the spec of `obj_name` to the raw source rows."""
    obj = loaded.spec.objects[obj_name]
    id_field = loaded.source_catalog[obj.source].id_field
    columns = compiled_columns(loaded, obj_name)
    ext = loaded.compile(obj_name, "external_id.value", obj.external_id.value)
    if raw.height == 0:
        empty = pl.DataFrame(schema={EXT: pl.String, SRC: pl.String, REASON: pl.String})
        staged = pl.DataFrame(schema={EXT: pl.String, SRC: pl.String, HASH: pl.String})
        return StageResult(staged, empty.with_columns(pl.lit(None, pl.String).alias("_row")), empty, 0, 0, 0)
    rules = [loaded.compile(obj_name, f"exclude[{i}].when", r.when) for i, r in enumerate(obj.exclude)]
    frame = raw.sort(pl.col(id_field).cast(pl.String).str.zfill(20)).with_columns(
        ext.expr.cast(pl.String).alias(EXT),
        pl.col(id_field).cast(pl.String).alias(SRC),
        *(c.expr.alias(name) for name, c in columns.items()),
        _problem_reason(loaded, obj_name, columns, ext).alias(REASON),
        _exclusion_reason(obj.exclude, rules).alias("_excluded"),
    )
    frame = _dedupe(loaded, obj_name, frame)
    out_cols = list(columns)
    if obj.collapse:
        return _collapse(frame, out_cols, raw.height)
    excluded = frame.filter(pl.col("_excluded").is_not_null()).select(EXT, SRC, pl.col("_excluded").alias(REASON))
    rest = frame.filter(pl.col("_excluded").is_null())
    quarantined = _quarantine_rows(rest.filter(pl.col(REASON).is_not_null()), raw, id_field)
    good = rest.filter(pl.col(REASON).is_null()).select(EXT, SRC, *out_cols)
    staged = good.with_columns(_row_hash(good, out_cols))
    return StageResult(staged, quarantined, excluded, raw.height, raw.height, 0)


def _problem_reason(loaded: LoadedSpec, obj_name: str, columns: dict[str, Compiled], ext: Compiled) -> pl.Expr:
    obj = loaded.spec.objects[obj_name]
    reasons: list[pl.Expr] = [
        pl.when(ext.expr.cast(pl.String).str.strip_chars().fill_null("") == "").then(
            pl.lit(f"external id {obj.external_id.column} is empty")
        )
    ]
    for compiled in [ext, *columns.values()]:
        reasons += [pl.when(p.bad).then(p.reason) for p in compiled.problems]
    for column in obj.required:
        expr = columns[column].expr
        empty = expr.is_null() | (expr.cast(pl.String).str.strip_chars() == "")
        reasons.append(pl.when(empty).then(pl.lit(f"{column} is required but empty")))
    for column, lookup in obj.lookups.items():
        if lookup.required:
            reasons.append(
                pl.when(columns[column].expr.is_null()).then(pl.lit(f"{column}: no {lookup.object} to link to"))
            )
    # statecode and statuscode read one label: say its problem once
    joined = pl.concat_list(reasons).list.drop_nulls().list.unique(maintain_order=True).list.join("; ")
    return pl.when(joined == "").then(None).otherwise(joined)


def _exclusion_reason(rules, compiled: list[Compiled]) -> pl.Expr:
    if not rules:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(
        [pl.when(c.expr.fill_null(False)).then(pl.lit(r.reason)) for r, c in zip(rules, compiled, strict=True)]
    )


def _dedupe(loaded: LoadedSpec, obj_name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Exclude later duplicates when the spec says so (the first by source id is kept)."""
    dedupe = loaded.spec.objects[obj_name].dedupe
    if dedupe is None or dedupe.action != "exclude":
        return frame
    key = loaded.compile(obj_name, "dedupe.by", dedupe.by).expr
    frame = frame.with_columns(key.alias("_dup_key"))
    first = pl.col(SRC).first().over("_dup_key")
    is_dup = pl.col("_dup_key").is_not_null() & (pl.col(SRC) != first) & pl.col("_excluded").is_null()
    return frame.with_columns(
        pl.when(is_dup)
        .then(pl.format("duplicate of source record {} by {}", first, pl.lit(str(dedupe.by))))
        .otherwise(pl.col("_excluded"))
        .alias("_excluded")
    ).drop("_dup_key")


def _quarantine_rows(bad: pl.DataFrame, raw: pl.DataFrame, id_field: str) -> pl.DataFrame:
    raw_rows = {str(r[id_field]): r for r in raw.iter_rows(named=True)}
    return bad.select(EXT, SRC, REASON).with_columns(
        pl.Series("_row", [json.dumps(raw_rows.get(s), default=str) for s in bad[SRC]], dtype=pl.String)
    )


def _collapse(frame: pl.DataFrame, out_cols: list[str], source_rows: int) -> StageResult:
    """many:1 - one destination row per external id: the first valid source row wins."""
    keyed = frame.with_columns(
        pl.when(pl.col("_excluded").is_not_null())
        .then(2)
        .when(pl.col(REASON).is_not_null())
        .then(1)
        .otherwise(0)
        .alias("_rank")
    )
    best = keyed.sort("_rank", SRC).group_by(EXT, maintain_order=True).first()
    staged_rows = best.filter(pl.col("_rank") == 0).select(EXT, SRC, *out_cols)
    staged = staged_rows.with_columns(_row_hash(staged_rows, out_cols))
    quarantined = (
        best.filter(pl.col("_rank") == 1).select(EXT, SRC, REASON).with_columns(pl.lit(None, pl.String).alias("_row"))
    )
    excluded = best.filter(pl.col("_rank") == 2).select(EXT, SRC, pl.col("_excluded").alias(REASON))
    return StageResult(staged, quarantined, excluded, source_rows, best.height, source_rows - best.height)
