"""Helpers of the transform tests: compile one expression against text columns and evaluate it."""

from __future__ import annotations

from typing import Any

import polars as pl

from migration_assets.spec.expressions import CompileContext, compile_expr
from migration_assets.spec.model import ValueMap


def evaluate(node: Any, columns: dict[str, list[Any]], value_maps: dict[str, ValueMap] | None = None) -> list[dict]:
    """One dict per row: `value` (the expression's result) and `problem` (the first row problem, or None)."""
    frame = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    compiled = compile_expr(
        node, CompileContext("t.yaml", "fields.x", "obj", dict.fromkeys(columns, "str"), value_maps or {})
    )
    problems = [pl.when(p.bad).then(p.reason) for p in compiled.problems]
    problem = pl.coalesce(problems) if problems else pl.lit(None, pl.String)
    return frame.select(compiled.expr.alias("value"), problem.alias("problem")).to_dicts()


def context(fields: dict[str, str] | None = None, value_maps: dict[str, ValueMap] | None = None) -> CompileContext:
    return CompileContext("t.yaml", "fields.x", "obj", fields or {"a": "str"}, value_maps or {})
