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
from migration_assets.engine import files, lookup_targets, readback
from migration_assets.engine.comparison import ObjectDiff, loaded_rows, mismatch, same
from migration_assets.engine.transform import EXT
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import ledger

READ_CHUNK = 5000  # files per `read_files` call (the connector reads them in bulk)
COMPARED = {"name": files.NAME, "folder": files.FOLDER, "size": files.SIZE}


async def remote_files(
    loaded: LoadedSpec,
    obj_name: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    ext_ids: list[str],
    timer: readback.ReadTimer | None = None,
    *,
    reuse: bool = False,
) -> dict[str, dict[str, Any]]:
    """The stored files of `ext_ids`, keyed by external id; the parent id is under the lookup column
    too, so linkage checks read files like records. What was read is kept in staging
    (engine/readback.py); with `reuse`, copies read after the file's latest write are taken from there.

    Args:
        loaded: the spec.
        obj_name: the file object.
        conn: staging connection (ledger crosswalk).
        dest: the destination.
        ext_ids: external ids of files the ledger says were uploaded.
        timer: adds the seconds spent reading.
        reuse: take still-current copies from staging.

    Returns:
        `{external_id: {"id", "name", "folder", "size", "parent_id", <parent lookup column>}}`.
    """
    obj = loaded.spec.objects[obj_name]
    column = files.parent_lookup(loaded, obj_name)[0]
    crosswalk = ledger.crosswalk(conn, obj_name)
    wanted = [e for e in ext_ids if e in crosswalk]
    fields = ["id", "name", "folder", "size", "parent_id", column]
    kept = readback.reusable(conn, obj_name, wanted, fields) if reuse else {}
    if timer is not None:
        timer.reused += len(kept)

    async def read(group: list[str]) -> dict[str, dict[str, Any]]:
        by_id = {crosswalk[e]: e for e in group}
        found = await dest.read_files(obj.table, list(by_id))
        return {by_id[i]: {"id": i, **info, column: info.get("parent_id")} for i, info in found.items()}

    out = dict(kept)
    rest = [e for e in wanted if e not in kept]
    for start in range(0, len(rest), READ_CHUNK):
        out |= await readback.read_with(conn, obj_name, rest[start : start + READ_CHUNK], timer, read)
    return out


async def diff_files(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    timer: readback.ReadTimer | None = None,
) -> ObjectDiff:
    """Compare every file uploaded in `phase` with the store: name, folder, size and parent record.

    Returns:
        The ObjectDiff (a file missing from the store is a `*` mismatch).
    """
    column = files.parent_lookup(loaded, obj_name)[0]
    lookup = loaded.spec.objects[obj_name].lookups[column]
    rows = list(loaded_rows(conn, obj_name, phase).iter_rows(named=True))
    remote = await remote_files(loaded, obj_name, conn, dest, [str(r[EXT]) for r in rows], timer)
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
