"""Rollback: bring the destination back to its state before the migration, from the ledger alone.

Every record the migration created is deleted (children before parents: reverse load order) and
every pre-existing record it updated gets its before-image back (first, so no restored record points
at a record about to be deleted). Each step is written to the ledger (phase `rollback`), so a killed
rollback run continues where it stopped, and a finished one does nothing when run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from migration_assets.connectors.base import DestinationConnector, WriteResult
from migration_assets.engine.file_loading import REPLACED_FILE
from migration_assets.spec.loader import LoadedSpec
from migration_assets.staging import ledger

CHUNK = 100


@dataclass
class RollbackSummary:
    phase: str | None
    deleted: dict[str, int] = field(default_factory=dict)
    restored: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)  # files an earlier phase stored
    schema_created: list[dict[str, Any]] = field(default_factory=list)  # custom schema the migration made
    schema_removed: list[str] = field(default_factory=list)
    schema_left: list[str] = field(default_factory=list)  # created schema still in place, and why
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase or "all",
            "deleted": self.deleted,
            "restored": self.restored,
            "kept": self.kept,
            "failed": self.failed,
            "schema_created": self.schema_created,
            "schema_removed": self.schema_removed,
            "schema_left": self.schema_left,
        }


def _image(loaded: LoadedSpec, obj_name: str, raw: str, destination_id: str | None, user_table: str) -> dict[str, Any]:
    """A before-image ready for `restore`: lookups and owners become {"table", "id"} references."""
    image = json.loads(raw)
    obj = loaded.spec.objects[obj_name]
    targets = {column: loaded.spec.objects[lookup.object].table for column, lookup in obj.lookups.items()}
    targets |= {column: user_table for column in obj.owners}
    for column, table in targets.items():
        if column in image:
            target = image[column]
            image[column] = {"table": table, "id": target} if target else None
    image["id"] = image.get("id") or destination_id
    return image


async def rollback(
    loaded: LoadedSpec,
    conn: duckdb.DuckDBPyConnection,
    dest: DestinationConnector,
    run_id: str,
    *,
    phase: str | None = None,
    log=lambda _m: None,
) -> RollbackSummary:
    summary = RollbackSummary(phase)
    plans = {name: ledger.first_writes(conn, name, phase) for name in loaded.load_order}
    for name in loaded.load_order:
        todo = [r for r in plans[name] if r["before_image"] and r["last_op"] not in ("restored",)]
        if loaded.spec.objects[name].kind == "file":
            # files an earlier phase stored stay (re-sent bytes of the same source file); the rollback
            # of the phase that first stored them deletes them; a file that overwrote one already in
            # the store is deleted and the overwritten file put back
            images = [{**json.loads(r["before_image"]), "id": r["destination_id"]} for r in todo]
            replaced = [(r, i) for r, i in zip(todo, images, strict=True) if REPLACED_FILE in i]
            summary.kept[name] = len(todo) - len(replaced)
            if replaced:
                table = loaded.spec.objects[name].table
                images = [{"id": i["id"], "replaced_file": i[REPLACED_FILE]} for _, i in replaced]
                results = await dest.restore_files(table, images)
                restored = [r for r, _ in replaced]
                summary.restored[name] = _record(conn, loaded, name, restored, results, "restored", run_id, summary)
                log(f"{name}: {summary.restored[name]} overwritten file(s) restored")
            continue
        images = [_image(loaded, name, r["before_image"], r["destination_id"], dest.user_table) for r in todo]
        results = []
        for i in range(0, len(images), CHUNK):
            results += await dest.restore(loaded.spec.objects[name].table, images[i : i + CHUNK])
        summary.restored[name] = _record(conn, loaded, name, todo, results, "restored", run_id, summary)
        log(f"{name}: {summary.restored[name]} restored")
    for name in reversed(loaded.load_order):
        await _find_unconfirmed(loaded, name, plans[name], dest)
        todo = [r for r in plans[name] if not r["before_image"] and r["destination_id"] and r["last_op"] != "deleted"]
        results = []
        for i in range(0, len(todo), CHUNK):
            ids = [r["destination_id"] for r in todo[i : i + CHUNK]]
            results += await dest.delete(loaded.spec.objects[name].table, ids)
        summary.deleted[name] = _record(conn, loaded, name, todo, results, "deleted", run_id, summary)
        log(f"{name}: {summary.deleted[name]} deleted")
    return summary


async def _find_unconfirmed(loaded: LoadedSpec, name: str, plan: list[dict], dest: DestinationConnector) -> None:
    """A run killed between a write and its ledger outcome leaves only the `pending` row: look such
    records up by external id, since they may exist in the destination."""
    missing = [r for r in plan if not r["before_image"] and not r["destination_id"]]
    obj = loaded.spec.objects[name]
    for i in range(0, len(missing), CHUNK):
        chunk = missing[i : i + CHUNK]
        found = await dest.read_back(obj.table, obj.external_id.column, [r["external_id"] for r in chunk], [])
        for row in chunk:
            if row["external_id"] in found:
                row["destination_id"] = found[row["external_id"]]["id"]


def _record(conn, loaded, name, todo, results: list[WriteResult], operation: str, run_id: str, summary) -> int:
    table = loaded.spec.objects[name].table
    entries = []
    for row, result in zip(todo, results, strict=True):
        entries.append(
            ledger.Entry(
                run_id,
                "rollback",
                name,
                table,
                None,
                row["external_id"],
                row["destination_id"],
                operation,
                "ok" if result.ok else "failed",
                result.error,
            )
        )
        if not result.ok:
            summary.failed.append({"object": name, "external_id": row["external_id"], "error": str(result.error)})
    ledger.record(conn, entries)
    return sum(1 for r in results if r.ok)
