"""What staging does with a value it cannot use: hold the record back, or load it without that part.

A record is held back (quarantined, with the reason, the source field and its value) only for a
problem the migration cannot load around: its external id, a column the destination or the spec
requires, a lookup, a file column, a label a value map holds back (`unmapped: hold`), a list that
does not explode. Any other broken value (an unparseable custom-property JSON, a date that does not
parse in an optional column) leaves that column empty and the record loads with its valid fields:
a partial record, its broken parts reported per record. Substitutions (a fallback, a value map's
default) are reported per record too. Nothing is changed silently.

Example:
    plan = ProblemPlan.of(loaded, "contact", columns, ext, required={"lastname"})
    frame = frame.with_columns(*plan.columns())   # REASON, FIELD, VALUE, PARTIAL, NOTES
    frame = plan.blank_partial(frame)              # optional columns with a problem -> null
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from migration_assets.engine import lookup_targets
from migration_assets.spec.expressions import Compiled, Note, Problem
from migration_assets.spec.loader import LoadedSpec

REASON, FIELD, VALUE = "_reason", "_field", "_value"
PARTIAL, NOTES = "_partial", "_notes"  # lists of "column\treason" / "column\tnote"
EXPLODE_PROBLEM = "_explode_problem"
SEP = "\t"


@dataclass
class ProblemPlan:
    """Which problems hold a record back and which leave one column empty, for one object."""

    holding: list[tuple[str, pl.Expr, pl.Expr]] = field(default_factory=list)  # (source field, bad, reason)
    partial: dict[str, list[Problem]] = field(default_factory=dict)  # optional column -> its problems
    notes: list[tuple[str, Note]] = field(default_factory=list)

    @classmethod
    def of(
        cls, loaded: LoadedSpec, obj_name: str, columns: dict[str, Compiled], ext: Compiled, required: Iterable[str]
    ) -> ProblemPlan:
        obj = loaded.spec.objects[obj_name]
        must = {*obj.required, *required, *obj.lookups, *obj.owners} & set(columns)
        must |= {c for c in columns if c.startswith("_file_")}
        plan = cls()
        ext_empty = ext.expr.cast(pl.String).str.strip_chars().fill_null("") == ""
        plan.holding.append((_source(ext, "id"), ext_empty, pl.lit(f"external id {obj.external_id.column} is empty")))
        plan.holding += [(_source(ext, "id"), p.bad, p.reason) for p in ext.problems]
        if obj.explode is not None:
            plan.holding.append(("", pl.col(EXPLODE_PROBLEM).is_not_null(), pl.col(EXPLODE_PROBLEM)))
        for column, compiled in columns.items():
            for problem in compiled.problems:
                if problem.hold or column in must:
                    plan.holding.append((_source(compiled, column), problem.bad, problem.reason))
                else:
                    plan.partial.setdefault(column, []).append(problem)
            plan.notes += [(column, n) for n in compiled.notes]
        # owners are resolved after this (to the matched user, else the fallback owner): never empty here
        plan._required(obj, columns, ({*obj.required, *required} & set(columns)) - set(obj.owners))
        return plan

    def _required(self, obj, columns: dict[str, Compiled], required: set[str]) -> None:
        for column in sorted(required):
            expr = columns[column].expr
            empty = expr.is_null() | (expr.cast(pl.String).str.strip_chars() == "")
            self.holding.append((_source(columns[column], column), empty, pl.lit(f"{column} is required but empty")))
        for column, lookup in obj.lookups.items():
            if lookup.required and column in columns:
                # every target the lookup may point at (a polymorphic lookup's `otherwise` too) is empty
                targets = [(t, c) for t, c in lookup_targets.candidates(lookup, column) if c in columns]
                missing = pl.all_horizontal([columns[c].expr.is_null() for _t, c in targets])
                names = " or ".join(dict.fromkeys(t for t, _c in targets))
                reason = pl.lit(f"{column}: no {names} to link to")
                self.holding.append((_source(columns[column], column), missing, reason))

    def columns(self) -> list[pl.Expr]:
        """REASON (the holding problems, joined), FIELD and VALUE (the first one's source field and
        its raw value), PARTIAL and NOTES (per record lists)."""
        reasons = [pl.when(bad).then(reason) for _src, bad, reason in self.holding]
        # statecode and statuscode read one label: say its problem once
        joined = pl.concat_list(reasons).list.drop_nulls().list.unique(maintain_order=True).list.join("; ")
        located = [(src, bad) for src, bad, _reason in self.holding if src]
        first_field = pl.coalesce([pl.when(bad).then(pl.lit(src)) for src, bad in located] or [pl.lit(None)])
        first_value = pl.coalesce(
            [pl.when(bad).then(pl.col(src).cast(pl.String).str.slice(0, 500)) for src, bad in located] or [pl.lit(None)]
        )
        partial = [
            pl.when(p.bad).then(pl.format("{}" + SEP + "{}", pl.lit(column), p.reason))
            for column, problems in self.partial.items()
            for p in problems
        ]
        notes = [pl.when(n.used).then(pl.format("{}" + SEP + "{}", pl.lit(column), n.text)) for column, n in self.notes]
        return [
            pl.when(joined == "").then(None).otherwise(joined).alias(REASON),
            pl.when(joined == "").then(None).otherwise(first_field).cast(pl.String).alias(FIELD),
            pl.when(joined == "").then(None).otherwise(first_value).cast(pl.String).alias(VALUE),
            _list(partial).alias(PARTIAL),
            _list(notes).alias(NOTES),
        ]

    def blank_partial(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each optional column with a problem left empty in the records where it fires."""
        if not self.partial:
            return frame
        return frame.with_columns(
            pl.when(pl.any_horizontal([p.bad.fill_null(False) for p in problems]))
            .then(None)
            .otherwise(pl.col(column))
            .alias(column)
            for column, problems in self.partial.items()
        )


def _source(compiled: Compiled, default: str) -> str:
    """The source field a column reads (the first, by name), for the quarantine list."""
    return sorted(compiled.sources)[0] if compiled.sources else ""


def _list(items: list[pl.Expr]) -> pl.Expr:
    if not items:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(items).list.drop_nulls().list.unique(maintain_order=True)


def per_record(frame: pl.DataFrame, column: str, keep: pl.DataFrame) -> pl.DataFrame:
    """The PARTIAL or NOTES lists of the staged records `keep` (EXT, SRC) as rows:
    external id, source id, column, text."""
    if column not in frame.columns or frame.height == 0:
        return pl.DataFrame(
            schema={"_external_id": pl.String, "_source_id": pl.String, "column": pl.String, "text": pl.String}
        )
    rows = (
        frame.join(keep.select("_external_id", "_source_id"), on=["_external_id", "_source_id"], how="semi")
        .select("_external_id", "_source_id", pl.col(column).alias("_item"))
        .explode("_item")
        .drop_nulls("_item")
    )
    parts = rows["_item"].str.split_exact(SEP, 1)
    return rows.with_columns(
        parts.struct.field("field_0").alias("column"), parts.struct.field("field_1").alias("text")
    ).drop("_item")
