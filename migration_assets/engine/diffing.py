"""Field-level read-back diff: destination values against staged values, every mapped field.

Values are compared after a type-aware normalisation (UTC timestamps to the second, dates, numbers
within a relative tolerance, lookups as destination ids resolved through the ledger). A record
confirmed in the ledger but absent from the destination is a mismatch too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from migration_assets.connectors.base import DestinationConnector
from migration_assets.engine import lookup_targets, readback
from migration_assets.engine.loading import json_value
from migration_assets.engine.transform import EXT, field_columns
from migration_assets.spec.expressions import parse_datetime
from migration_assets.spec.loader import LoadedSpec
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
    value = json_value(value)
    if value is None or value == "":
        return None
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


def same(a: Any, b: Any) -> bool:
    a, b = normalize(a), normalize(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(a, str) and isinstance(b, str) and len(a) == 10 and b.startswith(a):
        return True  # a date read back as midnight UTC
    return a == b


async def diff_object(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    timer: readback.ReadTimer | None = None,
) -> ObjectDiff:
    """Read every record written in `phase` back (in bulk, kept in staging for the reconciliation,
    see engine/readback.py) and compare it field by field with staging."""
    obj = loaded.spec.objects[obj_name]
    if obj.kind == "file":  # files compare name, folder, size and parent, read from the store
        from migration_assets.engine.file_verify import diff_files

        return await diff_files(loaded, obj_name, phase, conn, dest, timer)
    written = loaded_rows(conn, obj_name, phase)
    crosswalks = lookup_targets.crosswalks(conn, loaded, obj_name)
    columns = [*field_columns(obj, written.columns), *obj.lookups, *obj.owners]
    result = ObjectDiff(obj_name)
    skip = CreateOnly(dest.create_only_columns(obj.table), ledger.preexisting(conn, obj_name))
    key = obj.external_id.column
    for chunk in written.iter_slices(readback.READ_GROUP):
        ids = [str(e) for e in chunk[EXT].to_list()]
        remote = await readback.read_and_keep(conn, dest, obj_name, obj.table, key, ids, columns, timer)
        for row in chunk.iter_rows(named=True):
            _compare_row(loaded, obj_name, row, remote.get(str(row[EXT])), crosswalks, result, skip)
    return result


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
    outcomes = ledger.phase_outcomes(conn, obj_name, phase)
    return staged.filter(pl.col(EXT).is_in([k for k, v in outcomes.items() if v == "ok"]))


def mismatch(obj_name: str, ext: str, column: str, staged: Any, destination: Any) -> dict[str, Any]:
    return {
        "object": obj_name,
        "external_id": ext,
        "column": column,
        "staged": str(normalize(staged)),
        "destination": str(normalize(destination)),
    }


def _compare_row(
    loaded, obj_name, row, remote, crosswalks, result: ObjectDiff, skip: CreateOnly = CreateOnly()
) -> None:
    obj = loaded.spec.objects[obj_name]
    ext = str(row[EXT])
    result.records_compared += 1
    if remote is None:
        result.mismatches.append(mismatch(obj_name, ext, "*", "record", "missing"))
        return
    expected: dict[str, Any] = {c: row[c] for c in field_columns(obj, list(row))}
    expected |= {c: row.get(c) for c in obj.owners}  # destination user ids, resolved at stage
    for column, lookup in obj.lookups.items():
        expected[column] = lookup_targets.resolve(loaded, lookup, column, row, crosswalks).destination_id
    for column, want in expected.items():
        if skip.skips(ext, column):
            continue
        result.fields_compared += 1
        got = remote.get(column)
        if not same(want, got):
            result.mismatches.append(mismatch(obj_name, ext, column, want, got))
