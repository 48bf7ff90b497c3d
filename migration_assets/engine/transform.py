"""Turn the raw extract of a source object into the staged rows of one destination object.

Pure Polars, no I/O: `stage_frame(loaded, obj_name, raw)` returns the rows to load, the rows
quarantined (with a reason each) and the rows excluded by the spec (with the rule's reason), such
that every source record lands in exactly one of the three.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import polars as pl

from migration_assets.engine import files, flags, lookup_targets, routing
from migration_assets.engine.custom_fields import CustomField, compiled_custom_columns
from migration_assets.engine.owners import resolve_column
from migration_assets.engine.problems import (
    EXPLODE_PROBLEM,
    FIELD,
    NOTES,
    PARTIAL,
    REASON,
    VALUE,
    ProblemPlan,
    per_record,
)
from migration_assets.errors import MigrationError
from migration_assets.spec.expressions import Compiled
from migration_assets.spec.json_values import loads_list
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap


def pl_text(value: str | None) -> Compiled:
    return Compiled(pl.lit(value, dtype=pl.String))


EXT, SRC, HASH = "_external_id", "_source_id", "_row_hash"
ITEM, INDEX = "_item", "_index"
DUP_KEY = "_dup_key"  # the object's dedupe.by value


@dataclass(frozen=True)
class StageInputs:
    """What staging needs beyond the spec: discovered custom fields and the owner map of the phase."""

    custom_fields: tuple[CustomField, ...] = ()
    owners: pl.DataFrame | None = None  # pipeline.owners.owner_map
    sources: Mapping[str, pl.DataFrame] = field(default_factory=dict)  # joined source objects by name
    required: frozenset[str] = frozenset()  # columns the destination requires (plan/schema_diff found them)


@dataclass(frozen=True)
class StageResult:
    staged: pl.DataFrame  # _external_id, _source_id, _row_hash, mapped columns, lookup columns
    quarantined: pl.DataFrame  # _external_id, _source_id, _reason, _row
    excluded: pl.DataFrame  # _external_id, _source_id, _reason
    source_rows: int  # raw source records read
    source: int  # records of this destination object (distinct external ids when collapsing)
    merged: int  # source rows folded into another by a many:1 collapse
    duplicates: pl.DataFrame = field(default_factory=pl.DataFrame)  # dedupe report: key, source ids
    truncated: dict[str, int] = field(default_factory=dict)  # column -> values cut to the column's length
    partial: pl.DataFrame = field(default_factory=pl.DataFrame)  # staged records loaded without a broken part
    notes: pl.DataFrame = field(default_factory=pl.DataFrame)  # substitutions made in staged records
    flags: dict[str, pl.DataFrame] = field(default_factory=dict)  # flag -> staged rows it lists (flags.py)
    hierarchy: pl.DataFrame = field(default_factory=pl.DataFrame)  # placeholders made, loops broken (hierarchy.py)

    def counts(self) -> dict[str, int]:
        return {
            "source": self.source,
            "staged": self.staged.height,
            "quarantined": self.quarantined.height,
            "excluded": self.excluded.height,
            "source_rows": self.source_rows,
            "merged": self.merged,
        }


def compiled_columns(loaded: LoadedSpec, obj_name: str, custom: tuple[CustomField, ...] = ()) -> dict[str, Compiled]:
    """Compiled expressions of every output column of an object (fields, discovered custom fields,
    lookups, then owners as source user ids)."""
    obj = loaded.spec.objects[obj_name]
    out = {c: loaded.compile(obj_name, f"fields.{c}", n) for c, n in obj.fields.items()}
    out |= compiled_custom_columns(loaded, obj_name, [f for f in custom if f.object == obj_name])
    out |= {c: loaded.compile(obj_name, f"lookups.{c}.value", lk.value) for c, lk in obj.lookups.items()}
    out |= lookup_targets.compiled_alternates(loaded, obj_name)  # hidden: further targets of polymorphic lookups
    out |= {c: loaded.compile(obj_name, f"owners.{c}.value", o.value) for c, o in obj.owners.items()}
    out |= files.file_columns(loaded, obj_name)  # kind: file - `_file_*` columns, never sent as fields
    return out


def field_columns(obj: ObjectMap, staged_columns: list[str]) -> list[str]:
    """The plain value columns of a staged frame: mapped fields, custom fields, owner text columns."""
    return [c for c in staged_columns if not c.startswith("_") and c not in obj.lookups and c not in obj.owners]


def _resolve_owners(obj: ObjectMap, frame: pl.DataFrame, owners: pl.DataFrame | None) -> pl.DataFrame:
    """Owner columns hold source user ids until here; make them destination user ids (+ text)."""
    if not obj.owners:
        return frame
    if owners is None:
        raise MigrationError("owners are mapped but plan/owners has not resolved the source users")
    for column, owner in obj.owners.items():
        ids, names = resolve_column(owners, frame[column], fallback=owner.fallback)
        frame = frame.with_columns(ids.alias(column))
        if owner.text_column:
            frame = frame.with_columns(pl.coalesce(frame[owner.text_column], names).alias(owner.text_column))
    return frame


def _row_hash(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    def digest(row: dict) -> str:
        return hashlib.sha1(json.dumps(row, default=str, sort_keys=True).encode()).hexdigest()[:16]

    return pl.Series(HASH, [digest(r) for r in frame.select(columns).iter_rows(named=True)], dtype=pl.String)


def stage_frame(
    loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame, inputs: StageInputs = StageInputs()
) -> StageResult:
    """Apply the spec of `obj_name` to the raw source rows."""
    obj = loaded.spec.objects[obj_name]
    id_field = loaded.source_catalog[obj.source].id_field
    columns = compiled_columns(loaded, obj_name, inputs.custom_fields)
    columns |= {t: pl_text(None) for o in obj.owners.values() if (t := o.text_column) and t not in columns}
    ext = loaded.compile(obj_name, "external_id.value", obj.external_id.value)
    if raw.height:  # explode first: a join may look up the list element (`by: _item`)
        raw = join_rows(loaded, obj_name, explode_rows(loaded, obj_name, raw), inputs.sources)
        raw = routing.routed_rows(loaded, obj_name, raw)  # a routed object keeps the rows sent to it
    if raw.height == 0:
        empty = pl.DataFrame(schema={EXT: pl.String, SRC: pl.String, REASON: pl.String})
        staged = pl.DataFrame(schema={EXT: pl.String, SRC: pl.String, HASH: pl.String})
        held = empty.with_columns(pl.lit(None, pl.String).alias(c) for c in (FIELD, VALUE, "_row"))
        return StageResult(staged, held, empty, 0, 0, 0)
    rules = [loaded.compile(obj_name, f"exclude[{i}].when", r.when) for i, r in enumerate(obj.exclude)]
    plan = ProblemPlan.of(loaded, obj_name, columns, ext, inputs.required)
    derived = [
        ext.expr.cast(pl.String).alias(EXT),
        pl.col(id_field).cast(pl.String).alias(SRC),
        *(c.expr.alias(name) for name, c in columns.items()),
        *plan.columns(),
        _exclusion_reason(obj.exclude, rules).alias("_excluded"),
        *flags.flag_columns(loaded, obj_name),
        *([_dedupe_key(loaded, obj_name).alias(DUP_KEY)] if obj.dedupe else []),
    ]
    frame = raw.sort(pl.col(id_field).cast(pl.String).str.zfill(20), maintain_order=True).with_columns(*derived)
    # past here only what was derived is read: the source fields (message bodies, joined fields)
    # would otherwise be copied by every filter below
    kept = {e.meta.output_name() for e in derived}
    frame = plan.blank_partial(frame).drop([c for c in raw.columns if c not in kept])
    frame = _resolve_owners(obj, _dedupe(loaded, obj_name, frame), inputs.owners)
    frame = files.stage_files(obj, frame)
    out_cols = list(columns)
    frame, truncated = _limit_lengths(loaded, obj_name, frame, out_cols)
    if obj.collapse:
        return _with_reports(_collapse(frame, out_cols, raw.height), frame, truncated)
    frame = _duplicate_reasons(frame, exploded=obj.explode is not None)
    excluded = frame.filter(pl.col("_excluded").is_not_null()).select(EXT, SRC, pl.col("_excluded").alias(REASON))
    rest = frame.filter(pl.col("_excluded").is_null())
    quarantined = _quarantine_rows(rest.filter(pl.col(REASON).is_not_null()), raw, id_field)
    good = rest.filter(pl.col(REASON).is_null()).select(EXT, SRC, *out_cols)
    staged = good.with_columns(_row_hash(good, out_cols))
    duplicates = _duplicates(loaded, obj_name, frame)
    listed = flags.flagged(obj, rest.filter(pl.col(REASON).is_null()))
    result = StageResult(staged, quarantined, excluded, raw.height, raw.height, 0, duplicates, flags=listed)
    return _with_reports(result, frame, truncated)


def _with_reports(result: StageResult, frame: pl.DataFrame, truncated: dict[str, int]) -> StageResult:
    """The stage result with what the staged records carry: partial parts, substitutions, cuts."""
    partial = per_record(frame, PARTIAL, result.staged)
    notes = per_record(frame, NOTES, result.staged)
    return replace(result, truncated=truncated, partial=partial, notes=notes)


def _limit_lengths(
    loaded: LoadedSpec, obj_name: str, frame: pl.DataFrame, out_cols: list[str]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Text longer than its column's declared `max_length`: cut to it (counted per column) or, with
    the object's `oversize: quarantine`, the row held back with the lengths in the reason."""
    obj = loaded.spec.objects[obj_name]
    table = loaded.spec.schema_.get(obj.table)
    limits = {c: col.max_length for c, col in (table.columns.items() if table else ()) if col.max_length}
    truncated: dict[str, int] = {}
    for column, limit in limits.items():
        if column not in out_cols or frame.schema.get(column) != pl.String:
            continue
        long = pl.col(column).str.len_chars() > limit
        count = frame.select(long.fill_null(False).sum()).item()
        if not count:
            continue
        if obj.oversize == "quarantine":
            reason = pl.format(
                "{} is {} characters, above its limit of {}",
                pl.lit(column),
                pl.col(column).str.len_chars(),
                pl.lit(limit),
            )
            frame = frame.with_columns(
                pl.when(long & pl.col(REASON).is_null()).then(reason).otherwise(pl.col(REASON)).alias(REASON)
            )
        else:
            frame = frame.with_columns(pl.col(column).str.slice(0, limit))
            truncated[column] = int(count)
    return frame, truncated


def _duplicate_reasons(frame: pl.DataFrame, *, exploded: bool) -> pl.DataFrame:
    """One row never blocks the others: a source record the extract holds twice (it changed while
    the API was paged) loads its last copy, and two records that map to one external id load the
    first; every other copy is quarantined with the reason, instead of failing the uniqueness gate."""
    candidate = pl.col("_excluded").is_null() & pl.col(REASON).is_null()
    frame = frame.with_row_index("_pos")
    if not exploded:
        last = pl.col("_pos").filter(candidate).max().over(SRC)
        again = candidate & (pl.col("_pos") != last) & last.is_not_null()
        frame = frame.with_columns(
            pl.when(again)
            .then(
                pl.format(
                    "source record {} appears more than once in the extract; its last copy is loaded", pl.col(SRC)
                )
            )
            .otherwise(pl.col(REASON))
            .alias(REASON)
        )
        candidate = pl.col("_excluded").is_null() & pl.col(REASON).is_null()
    first = pl.col(SRC).filter(candidate).first().over(EXT)
    taken = candidate & (pl.col(SRC) != first) & first.is_not_null()
    return frame.with_columns(
        pl.when(taken)
        .then(pl.format("external id {} is also produced by source record {}, which is loaded", pl.col(EXT), first))
        .otherwise(pl.col(REASON))
        .alias(REASON)
    ).drop("_pos")


def _duplicates(loaded: LoadedSpec, obj_name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Groups of source records sharing the dedupe key (what `action: report` reports)."""
    dedupe = loaded.spec.objects[obj_name].dedupe
    if dedupe is None:
        return pl.DataFrame()
    return (
        frame.select(pl.col(DUP_KEY).cast(pl.String).alias("key"), pl.col(SRC).alias("source_id"))
        .filter(pl.col("key").is_not_null() & (pl.col("key").str.strip_chars() != ""))
        .group_by("key")
        .agg(pl.col("source_id").sort(), pl.len().alias("records"))
        .filter(pl.col("records") > 1)
        .sort("key")
        .with_columns(pl.col("source_id").list.join(", ").alias("source_ids"))
        .select("key", "records", "source_ids")
    )


def _json_list(text: str | None) -> list[str | None] | str:
    """The elements of a JSON list as text (a list encoded twice too), or why the value is not one."""
    if text is None or not text.strip():
        return []
    try:
        value = loads_list(text)
    except json.JSONDecodeError:
        return f"explode: {text[:60]} is not valid JSON"
    except ValueError:
        return f"explode: {text[:60]} is not a JSON list"
    return [v if v is None or isinstance(v, str) else json.dumps(v) for v in value]


def join_rows(
    loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame, sources: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """Add the fields of every `join` of the object as '<alias>.<field>' columns (left join: one row
    out per row in; the last record per key wins when the joined source repeats a key)."""
    obj = loaded.spec.objects[obj_name]
    for alias, join in obj.join.items():
        if f"_join_{alias}" in raw.columns:
            continue  # joined already (sampling and staging share frames)
        other = sources.get(join.source)
        if other is None:
            raise MigrationError(f"{obj_name}: join {alias} needs the extract of {join.source}")
        on = loaded.compile(obj_name, f"join.{alias}.by", join.by).expr.cast(pl.String)
        named = loaded.joined_fields(obj_name, join.source, other.columns)
        right = (
            other.with_columns(pl.col(join.key).cast(pl.String).alias(f"_join_{alias}"))
            .unique(subset=[f"_join_{alias}"], keep="last", maintain_order=True)
            .select(f"_join_{alias}", *(pl.col(c).alias(f"{alias}.{c}") for c in named))
        )
        if other.height == 0:
            right = right.cast({c: pl.String for c in right.columns})
        raw = raw.with_columns(on.alias(f"_join_{alias}")).join(
            right, on=f"_join_{alias}", how="left", maintain_order="left"
        )
    return raw


def explode_rows(loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame) -> pl.DataFrame:
    """One row per element of the object's `explode` JSON list, with the element as text in `_item`
    and its 0-based position in `_index` (objects without `explode` are returned unchanged).

    An empty or null list gives no row; a value that is not a JSON list gives one row whose
    `_explode_problem` says why, so stage quarantines it instead of dropping it.
    """
    obj = loaded.spec.objects[obj_name]
    if obj.explode is None or ITEM in raw.columns:
        return raw
    values = raw.select(loaded.compile(obj_name, "explode", obj.explode).expr.cast(pl.String)).to_series()
    parsed = [_json_list(v) for v in values]
    frame = raw.with_columns(
        pl.Series(ITEM, [[None] if isinstance(p, str) else p for p in parsed], dtype=pl.List(pl.String)),
        pl.Series(EXPLODE_PROBLEM, [p if isinstance(p, str) else None for p in parsed], dtype=pl.String),
    ).filter(pl.col(ITEM).list.len() > 0)
    frame = frame.with_columns(pl.int_ranges(0, pl.col(ITEM).list.len(), dtype=pl.Int64).alias(INDEX))
    frame = frame.explode(ITEM, INDEX)
    return frame.with_columns(pl.when(pl.col(EXPLODE_PROBLEM).is_null()).then(pl.col(INDEX)).alias(INDEX))


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
    first = pl.col(SRC).first().over(DUP_KEY)
    is_dup = pl.col(DUP_KEY).is_not_null() & (pl.col(SRC) != first) & pl.col("_excluded").is_null()
    return frame.with_columns(
        pl.when(is_dup)
        .then(pl.format("duplicate of source record {} by {}", first, pl.lit(str(dedupe.by))))
        .otherwise(pl.col("_excluded"))
        .alias("_excluded")
    )


def _dedupe_key(loaded: LoadedSpec, obj_name: str) -> pl.Expr:
    """The object's `dedupe.by` over the source fields (derived with the columns, see stage_frame)."""
    return loaded.compile(obj_name, "dedupe.by", loaded.spec.objects[obj_name].dedupe.by).expr


def _quarantine_rows(bad: pl.DataFrame, raw: pl.DataFrame, id_field: str) -> pl.DataFrame:
    held = raw.filter(pl.col(id_field).cast(pl.String).is_in(bad[SRC].implode()))  # not a dict of every row
    raw_rows = {str(r[id_field]): r for r in held.iter_rows(named=True)}
    return bad.select(EXT, SRC, REASON, FIELD, VALUE).with_columns(
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
        best.filter(pl.col("_rank") == 1)
        .select(EXT, SRC, REASON, FIELD, VALUE)
        .with_columns(pl.lit(None, pl.String).alias("_row"))
    )
    excluded = best.filter(pl.col("_rank") == 2).select(EXT, SRC, pl.col("_excluded").alias(REASON))
    return StageResult(staged, quarantined, excluded, source_rows, best.height, source_rows - best.height)
