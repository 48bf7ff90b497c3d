"""Field-level read-back diff: destination values against staged values, every mapped field.

Values are compared after a type-aware normalisation (UTC timestamps to the second, dates, numbers
within a relative tolerance, lookups as destination ids resolved through the ledger; see
engine/comparison.py, shared with the file verification). A record confirmed in the ledger but
absent from the destination is a mismatch too.
"""

from __future__ import annotations

from typing import Any

import duckdb

from migration_assets.connectors.base import DestinationConnector
from migration_assets.engine import lookup_targets, readback
from migration_assets.engine.comparison import CreateOnly, ObjectDiff, loaded_rows, mismatch, normalize, same
from migration_assets.engine.file_verify import diff_files
from migration_assets.engine.transform import EXT, field_columns
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import ledger

__all__ = ["CreateOnly", "ObjectDiff", "diff_object", "loaded_rows", "mismatch", "normalize", "same"]


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
