"""Load one file object's staged rows for one phase: stream each file from the source into the
destination's document store, idempotent, resumable and audited like `loading.load_object`.

Per file: resolve the parent record through the ledger crosswalk of the parent lookup's object
(unresolved → quarantined with the reason), write a `pending` ledger row, stream
`source.download(...)` into `dest.upload_file(...)` (the bytes pass through in chunks, never the
whole file in memory), then write the outcome (the destination record is the store's file record,
e.g. a Dataverse sharepointdocumentlocation or a Salesforce ContentVersion). Files already
confirmed in this phase with the same content hash are skipped, so a killed run started again
uploads only what is missing. A download the source refuses (missing blob) or an upload the
destination refuses (e.g. its own size limit) quarantines that file with the reason; other files
go on. A destination that cannot take files yet (DestinationNotReady, e.g. no document site
provisioned) holds every file of the load: each is quarantined with a reason starting with
HELD_REASON, nothing is downloaded, and the next run of the phase uploads them (a held file has no
confirmed ledger row, so it is still to do).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from migration_assets.connectors.base import (
    DestinationConnector,
    FileUpload,
    SourceConnector,
    StoredFile,
    WriteResult,
)
from migration_assets.engine import files, lookup_targets
from migration_assets.engine.comparison import loaded_rows
from migration_assets.engine.loading import (
    LoadSummary,
    Missing,
    json_value,
    outcome_entry,
    pending_rows,
    quarantine_missing,
    quarantine_rows,
)
from migration_assets.engine.transform import EXT, HASH, SRC
from migration_assets.errors import (
    AuthError,
    BudgetExhausted,
    ConnectorError,
    DestinationNotReady,
    MigrationError,
    RateLimited,
)
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap
from migration_assets.staging import db, ledger
from migration_assets.staging.tables import stage_table

FATAL = (AuthError, RateLimited, BudgetExhausted)  # stop the run (resumable), never quarantine a file
HELD_REASON = "held for a later run"  # a quarantine reason's start for files the destination cannot take yet


KEPT_FILE = "_kept_file"  # marks the before-image of a file an earlier phase stored
REPLACED_FILE = "_replaced_file"  # the before-image of a file already in the store that an upload overwrote
INLINE_CHUNK = 64 * 1024  # bytes per chunk of a file whose content was in the source row


@dataclass(frozen=True)
class FileTarget:
    """Where one file goes: its parent record, and the file record already stored for it, if any."""

    parent_table: str
    parent_id: str
    before_id: str | None = None


@dataclass
class FileLoadSummary(LoadSummary):
    """A LoadSummary plus what the files weighed."""

    bytes_uploaded: int = 0
    bytes_streamed: int = 0  # bytes read from the source for files whose upload succeeded
    largest_chunk: int = 0  # biggest piece held at once on the way through (streaming evidence)
    failures: list[dict[str, Any]] = field(default_factory=list)  # quarantined files with reasons
    held: int = 0  # files the destination cannot take yet (HELD_REASON), uploaded by a later run
    not_ready: str | None = None  # why the destination cannot take files yet, once it said so


class _Meter:
    """Wraps a download so the loader knows how many bytes passed and the largest chunk held."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks, self.bytes, self.largest = chunks, 0, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            self.bytes += len(chunk)
            self.largest = max(self.largest, len(chunk))
            yield chunk

    async def close(self) -> None:
        closer = getattr(self.chunks, "aclose", None)
        if closer is not None:
            await closer()


async def load_files(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn: duckdb.DuckDBPyConnection,
    source: SourceConnector,
    dest: DestinationConnector,
    run_id: str,
    *,
    log: Callable[[str], None] = lambda _m: None,
) -> FileLoadSummary:
    """Upload the staged `phase` slice of file object `obj_name`.

    Args:
        loaded: the spec.
        obj_name: a `kind: file` object.
        phase: the phase (partition key).
        conn: the pair's staging connection (ledger, quarantine).
        source: where the bytes come from (`download`).
        dest: where they go (`upload_file`).
        run_id: the Dagster run id written to the ledger.
        log: progress messages.

    Returns:
        Counts, bytes and the quarantined files with their reasons.

    Raises:
        AuthError, RateLimited, BudgetExhausted: the run stops; started again it resumes.
    """
    started = asyncio.get_running_loop().time()
    staged, todo = pending_rows(conn, obj_name, phase)
    summary = FileLoadSummary(obj_name, staged=staged.height)
    rows = list(todo.iter_rows(named=True))
    summary.skipped = staged.height - len(rows)
    column = files.parent_lookup(loaded, obj_name)[0]
    lookup = loaded.spec.objects[obj_name].lookups[column]
    walks = lookup_targets.crosswalks(conn, loaded, obj_name)
    uploaded = ledger.crosswalk(conn, obj_name)  # files an earlier phase (or run) already stored
    ready, missing = [], []
    for row in rows:
        parent = lookup_targets.resolve(loaded, lookup, column, row, walks)
        if parent.destination_id is None or parent.table is None:
            target, target_ext = parent.named[0] if parent.named else (lookup.object, "")
            missing.append(Missing(row, column, target, target_ext))
        else:
            ready.append((row, FileTarget(parent.table, parent.destination_id, uploaded.get(str(row[EXT])))))
    summary.unresolved = len(missing)
    held = quarantine_missing(conn, phase, obj_name, run_id, missing)
    summary.failures += [_failure(r, why) for r, why in held]
    semaphore = asyncio.Semaphore(loaded.spec.options.load.concurrency)

    async def one(row: dict[str, Any], target: FileTarget) -> None:
        async with semaphore:
            await _upload(loaded, obj_name, phase, conn, source, dest, run_id, row, target, summary)
            summary.batches += 1
            if summary.batches % 25 == 0 or summary.batches == len(ready):
                log(f"{obj_name}: {summary.batches}/{len(ready)} files, {summary.bytes_uploaded} bytes uploaded")

    if ready:  # the first upload alone: connectors set up their store once (e.g. a key), then in parallel
        await one(*ready[0])
        await asyncio.gather(*(one(r, p) for r, p in ready[1:]))
    summary.seconds = asyncio.get_running_loop().time() - started
    return summary


async def _upload(
    loaded: LoadedSpec,
    obj_name: str,
    phase: str,
    conn,
    source: SourceConnector,
    dest: DestinationConnector,
    run_id: str,
    row: dict[str, Any],
    target: FileTarget,
    summary: FileLoadSummary,
) -> None:
    obj = loaded.spec.objects[obj_name]
    ext, src = str(row[EXT]), str(row[SRC])
    if summary.not_ready is not None:  # the destination said it cannot take files yet: hold the rest
        _hold(conn, phase, obj_name, run_id, row, summary.not_ready, summary)
        return
    upload = FileUpload(
        external_id=ext,
        file_name=row[files.NAME],
        folder=row[files.FOLDER] or "",
        size=int(row[files.SIZE] or 0),
        content=_inline(None),  # replaced by the download once the before-image is kept
        content_type=row[files.CONTENT_TYPE] or files.DEFAULT_CONTENT_TYPE,
        parent_table=target.parent_table,
        parent_id=target.parent_id,
        key=loaded.spec.objects[obj_name].external_id.column,
        store=obj.file.store if obj.file else "auto",
        created_at=json_value(row.get(files.CREATED_AT)),
    )
    try:
        replaced = None if target.before_id else await dest.replaced_file(upload)
    except FATAL:
        raise
    except (ConnectorError, MigrationError) as exc:  # never overwrite a file whose bytes were not kept
        why = f"the file it would replace could not be read: {exc}"
        _refuse(conn, phase, obj_name, run_id, row, why, summary)
        return
    ledger.record(conn, [_pending(run_id, phase, obj_name, obj.table, row, target.before_id, replaced)])
    meter = _Meter(_content(source, obj, src, row))
    upload = dataclasses.replace(upload, content=aiter(meter))
    try:
        result = await dest.upload_file(upload)
    except FATAL:
        raise
    except DestinationNotReady as exc:  # nothing was written: the row stays to do for the next run
        summary.not_ready = str(exc)
        ledger.record(
            conn, [outcome_entry(run_id, phase, obj_name, obj.table, row, WriteResult(ext, False, error=str(exc)))]
        )
        _hold(conn, phase, obj_name, run_id, row, summary.not_ready, summary)
        return
    except (ConnectorError, MigrationError) as exc:  # the download (or the store) refused this one file
        result = WriteResult(ext, ok=False, error=f"transfer failed: {exc}")
    finally:
        await meter.close()  # an upload that stopped early must not leave the download open
    summary.largest_chunk = max(summary.largest_chunk, meter.largest)
    ledger.record(conn, [outcome_entry(run_id, phase, obj_name, obj.table, row, result)])
    if result.ok:
        summary.created += result.operation == "created"
        summary.updated += result.operation == "updated"
        summary.bytes_uploaded += upload.size
        summary.bytes_streamed += meter.bytes
        return
    _refuse(conn, phase, obj_name, run_id, row, f"not transferred to {dest.system}: {result.error}", summary)


def _refuse(conn, phase: str, obj_name: str, run_id: str, row: dict[str, Any], why: str, summary) -> None:
    """Quarantine one file that was not stored, with the reason."""
    ext = str(row[EXT])
    summary.failed += 1
    reason = f"{why} (file {str(row.get(files.NAME))!r})"  # the name last: like reasons group together
    quarantine_rows(conn, phase, obj_name, run_id, [(row, reason)])
    summary.failures.append(_failure(row, reason))
    if len(summary.errors) < 20:
        summary.errors.append({"external_id": ext, "error": reason})


def _hold(conn, phase: str, obj_name: str, run_id: str, row: dict[str, Any], why: str, summary) -> None:
    """Quarantine a file the destination cannot take yet, with HELD_REASON and the destination's why."""
    reason = f"{HELD_REASON} (the destination is not ready: {why}) (file {str(row.get(files.NAME))!r})"
    quarantine_rows(conn, phase, obj_name, run_id, [(row, reason)])
    summary.held += 1
    summary.failures.append(_failure(row, reason))


def _content(source: SourceConnector, obj: ObjectMap, source_id: str, row: dict[str, Any]) -> AsyncIterator[bytes]:
    """The file's bytes: kept in the staged row (`file.content`, base64), or downloaded from the source
    (the record `file.download_id` of `file.download_from` names, else this row's own record)."""
    if files.CONTENT in row:
        return _inline(row[files.CONTENT])
    download_from = (obj.file.download_from if obj.file else None) or obj.source
    return source.download(download_from, str(row.get(files.DOWNLOAD_ID) or source_id))


async def _inline(text: str | None) -> AsyncIterator[bytes]:
    try:
        data = files.inline_content(text)
    except ValueError as exc:
        raise MigrationError(f"the file's inline content is not valid base64: {exc}") from None
    for start in range(0, len(data), INLINE_CHUNK):
        yield data[start : start + INLINE_CHUNK]


def _pending(
    run_id: str,
    phase: str,
    obj_name: str,
    table: str,
    row: dict[str, Any],
    before_id: str | None,
    replaced: StoredFile | None = None,
) -> ledger.Entry:
    # A file stored by an earlier phase gets a before-image that says so: rolling back this phase
    # keeps it (that phase's rollback deletes it); a file that overwrites one already in the store
    # keeps that file's bytes (rollback puts them back); a file new to the store has none and is deleted.
    before: dict[str, Any] | None = {"id": before_id, KEPT_FILE: True} if before_id else None
    if replaced is not None:
        kept = {
            "folder": replaced.folder,
            "name": replaced.name,
            "content_type": replaced.content_type,
            "content": base64.b64encode(replaced.content).decode(),
        }
        before = {"id": None, REPLACED_FILE: kept}
    return ledger.Entry(
        run_id,
        phase,
        obj_name,
        table,
        str(row[SRC]),
        str(row[EXT]),
        before_id,
        None,
        "pending",
        row_hash=row[HASH],
        before_image=before,
    )


def _failure(row: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "source_id": str(row[SRC]),
        "external_id": str(row[EXT]),
        "name": row.get(files.NAME),
        "size": row.get(files.SIZE),
        "reason": reason,
    }


def files_report(
    conn: duckdb.DuckDBPyConnection, paths, loaded: LoadedSpec, obj_name: str, phase: str, summary: LoadSummary
) -> tuple[dict[str, Any], Path, Path]:
    """Write `<reports>/<pair>/files_<phase>.{json,md}` (with several file objects
    `files_<object>_<phase>`); return (counts, json path, markdown path).

    The report covers the whole phase (files uploaded by earlier runs of it included): uploaded
    files and bytes, files skipped at stage (oversize) and files quarantined at load, with reasons.

    Args:
        conn: the staging connection.
        paths: the workbench Paths (report folder).
        loaded: the spec.
        obj_name: the file object.
        phase: the phase.
        summary: this run's load summary.

    Returns:
        (counts, json path, markdown path).
    """
    staged = db.read_slice(conn, stage_table(obj_name), phase)
    ok = loaded_rows(conn, obj_name, phase)
    skipped = conn.execute(
        "select source_id, external_id, reason from excluded where _phase = ? and object = ? order by source_id",
        [phase, obj_name],
    ).fetchall()
    quarantined = conn.execute(
        "select source_id, external_id, reason from quarantine where _phase = ? and object = ? "
        "and step = 'load' order by source_id",
        [phase, obj_name],
    ).fetchall()
    failed = [r for r in quarantined if HELD_REASON not in r[2]]
    held = [r for r in quarantined if HELD_REASON in r[2]]
    counts = {
        "staged": staged.height,
        "uploaded": ok.height,
        "bytes_uploaded": int(ok[files.SIZE].sum() or 0) if ok.height else 0,
        "uploaded_this_run": summary.written,
        "already_uploaded": summary.skipped,
        "skipped": len(skipped),
        "failed": len(failed),
        "held": len(held),
        "seconds": round(summary.seconds, 2),
        "largest_chunk_in_memory_bytes": summary.largest_chunk if isinstance(summary, FileLoadSummary) else 0,
    }
    as_rows = [dict(zip(("source_id", "external_id", "reason"), r, strict=True)) for r in skipped]
    failures = [dict(zip(("source_id", "external_id", "reason"), r, strict=True)) for r in [*failed, *held]]
    alone = [n for n, o in loaded.spec.objects.items() if o.kind == "file"] == [obj_name]
    json_path, md_path = files.write_report(
        paths.report_dir(loaded.pair), obj_name, phase, counts, as_rows, failures, alone=alone
    )
    return counts, json_path, md_path
