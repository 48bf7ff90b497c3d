"""Read-back verification of file objects: what the document store holds against what was staged.

A file has no mapped fields to compare; what must hold is that the store has it under the staged
(safe) name, in the staged folder, with the staged size, linked to the record of its parent lookup.
The destination ids come from the ledger crosswalk and the files are read back through
`DestinationConnector.read_files`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from migration_assets.connectors.base import DestinationConnector
from migration_assets.engine import files, lookup_targets
from migration_assets.engine.diffing import ObjectDiff, loaded_rows, mismatch, same
from migration_assets.engine.transform import EXT
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import ledger

READ_CHUNK = 200
COMPARED = {"name": files.NAME, "folder": files.FOLDER, "size": files.SIZE}


async def remote_files(
    loaded: LoadedSpec, obj_name: str, conn: duckdb.DuckDBPyConnection, dest: DestinationConnector, ext_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The stored files of `ext_ids`, keyed by external id; the parent id is under the lookup column
    too, so linkage checks read files like records.

    Args:
        loaded: the spec.
        obj_name: the file object.
        conn: staging connection (ledger crosswalk).
        dest: the destination.
        ext_ids: external ids of files the ledger says were uploaded.

    Returns:
        `{external_id: {"id", "name", "folder", "size", "parent_id", <parent lookup column>}}`.
    """
    obj = loaded.spec.objects[obj_name]
    column = files.parent_lookup(loaded, obj_name)[0]
    crosswalk = ledger.crosswalk(conn, obj_name)
    by_id = {crosswalk[e]: e for e in ext_ids if e in crosswalk}
    ids = list(by_id)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), READ_CHUNK):
        found = await dest.read_files(obj.table, ids[start : start + READ_CHUNK])
        for dest_id, info in found.items():
            out[by_id[dest_id]] = {"id": dest_id, **info, column: info.get("parent_id")}
    return out


async def diff_files(
    loaded: LoadedSpec, obj_name: str, phase: str, conn: duckdb.DuckDBPyConnection, dest: DestinationConnector
) -> ObjectDiff:
    """Compare every file uploaded in `phase` with the store: name, folder, size and parent record.

    Returns:
        The ObjectDiff (a file missing from the store is a `*` mismatch).
    """
    column = files.parent_lookup(loaded, obj_name)[0]
    lookup = loaded.spec.objects[obj_name].lookups[column]
    rows = list(loaded_rows(conn, obj_name, phase).iter_rows(named=True))
    remote = await remote_files(loaded, obj_name, conn, dest, [str(r[EXT]) for r in rows])
    walks = lookup_targets.crosswalks(conn, loaded, obj_name)
    result = ObjectDiff(obj_name)
    for row in rows:
        ext = str(row[EXT])
        result.records_compared += 1
        got = remote.get(ext)
        if got is None:
            result.mismatches.append(mismatch(obj_name, ext, "*", "file", "missing"))
            continue
        expected = {key: row[col] for key, col in COMPARED.items()}
        expected[column] = lookup_targets.resolve(loaded, lookup, column, row, walks).destination_id
        for key, want in expected.items():
            if key == "folder" and got.get("folder") is None:
                continue  # the destination keeps no folder (e.g. an org without the folder field)
            result.fields_compared += 1
            if not same(want, got.get(key)):
                result.mismatches.append(mismatch(obj_name, ext, key, want, got.get(key)))
    return result
