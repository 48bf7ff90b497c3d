"""What the record diff (engine/diffing.py) and the file verification (engine/file_verify.py)
share: the result of one object's diff, the type-aware comparison of a staged and a read-back value,
the rows the ledger says were written, and the create-only columns of records that existed before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from migration_assets.engine.loading import json_value
from migration_assets.engine.transform import EXT
from migration_assets.spec.expressions import parse_datetime
from migration_assets.staging import db, ledger
from migration_assets.staging.tables import stage_table


@dataclass
class ObjectDiff:
    object: str
    records_compared: int = 0
    fields_compared: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)


def normalize(value: Any) -> Any:
    """A comparable form of a staged or read-back value."""
    if not filled(value):
        return None
    value = json_value(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if len(value) >= 19 and value[4] == "-" and value[10] == "T":
            parsed = parse_datetime(value)
            return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else value
        return value
    if isinstance(value, datetime | date):
        return json_value(value)
    return value


def filled(value: Any) -> bool:
    """Whether a value is there (None, "" and NaN or infinite floats are not), without formatting it."""
    if value is None or value == "":
        return False
    return not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))


def same(a: Any, b: Any) -> bool:
    if type(a) is type(b) and a == b:  # equal values normalize alike: most fields, without the parsing
        return True
    a, b = json_value(a), json_value(b)
    if type(a) is type(b) and a == b:  # a staged timestamp read back as it was sent: no parsing either
        return True
    a, b = normalize(a), normalize(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(a, str) and isinstance(b, str) and len(a) == 10 and b.startswith(a):
        return True  # a date read back as midnight UTC
    return a == b


@dataclass(frozen=True)
class CreateOnly:
    """Columns a destination sets only on create, and the records that existed before the
    migration: those records keep their own values there, which is not a mismatch."""

    columns: frozenset[str] = frozenset()
    preexisting: set[str] = field(default_factory=set)

    def skips(self, ext: str, column: str) -> bool:
        return column in self.columns and ext in self.preexisting


def loaded_rows(conn: duckdb.DuckDBPyConnection, obj_name: str, phase: str) -> pl.DataFrame:
    """The staged rows of `phase` that the ledger says were written."""
    staged = db.read_slice(conn, stage_table(obj_name), phase)
    if staged.height == 0:
        return staged
    return staged.filter(pl.col(EXT).is_in(ledger.written_ok(conn, obj_name, phase).implode()))


def mismatch(obj_name: str, ext: str, column: str, staged: Any, destination: Any) -> dict[str, Any]:
    return {
        "object": obj_name,
        "external_id": ext,
        "column": column,
        "staged": str(normalize(staged)),
        "destination": str(normalize(destination)),
    }
