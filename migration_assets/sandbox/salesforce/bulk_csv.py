"""Bulk API 2.0 ingest data: CSV parsing, header columns, per-row processing and result CSVs.

Real (reference §9): header = field API names, relationship columns `Rel.ExtField`, custom `Rel__r.Field`,
polymorphic `Type:Rel.Field` (type required on polymorphic lookups, refused on others); empty cells are
ignored, `#N/A` sets null; RFC 4180 quoting; dates yyyy-MM-dd and datetimes with Z/offset; row errors
as `CODE:message:fields`; results `sf__Id,sf__Created` / `sf__Id,sf__Error` + original columns.
Real in wording: an unknown header column fails the job ("InvalidBatch : Field name not found : X"); a
line ending other than the job's fails it ("ClientInputError : LineEnding is invalid on user data...").
Invented: a row whose cell count differs from the header fails with `INVALID_ROW` (ours).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from migration_assets.sandbox._common import savepoint
from migration_assets.sandbox.salesforce import records
from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.records import Ctx
from migration_assets.sandbox.salesforce.schema import ObjectDef
from migration_assets.sandbox.salesforce.validate import resolve_foreign_key

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
NULL_MARKER = "#N/A"


class JobFailure(Exception):
    """A job-level error: the job ends Failed with this errorMessage and no row is processed."""


@dataclass(frozen=True)
class Column:
    """One header column: a plain field, or a lookup resolved through a parent's key field."""

    header: str
    field: str
    target: ObjectDef | None = None
    key: str | None = None


def parse_csv(text: str, delimiter: str, line_ending: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of an uploaded CSV.

    Raises:
        JobFailure: wrong line ending, unparsable quoting or an empty file.
    """
    crlf = "\r\n" in text
    bare_lf = text.replace("\r\n", "").count("\n") > 0
    if (line_ending == "LF" and crlf) or (line_ending == "CRLF" and bare_lf):
        raise JobFailure(
            f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {line_ending}"
        )
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[delimiter], strict=True))
    except csv.Error as err:
        raise JobFailure(f"ClientInputError : Failed to parse CSV: {err}") from None
    if not rows or not any(rows[0]):
        raise JobFailure("InvalidBatch : No data was found in the uploaded file")
    return rows[0], [r for r in rows[1:] if r != []]


def _column(ctx: Ctx, obj: ObjectDef, header: str) -> Column:
    if "." not in header:
        f = obj.field(header)
        if f is None:
            raise JobFailure(f"InvalidBatch : Field name not found : {header}")
        return Column(header, f.name)
    left, _, key = header.partition(".")
    type_name, _, rel_name = left.rpartition(":")
    rel = obj.relationship(rel_name)
    if rel is None or "." in key:
        raise JobFailure(f"InvalidBatch : Field name not found : {header}")
    if rel.polymorphic and not type_name:
        raise JobFailure(
            f"InvalidBatch : Field name not valid : {header} (polymorphic field {rel.name} needs "
            "ObjectType:RelationshipName.Field)"
        )
    if type_name and not rel.polymorphic:
        raise JobFailure(f"InvalidBatch : Field name not valid : {header} ({rel.name} is not polymorphic)")
    target = ctx.schema.get(type_name or rel.reference_to[0])
    if target is None or target.name not in rel.reference_to:
        raise JobFailure(f"InvalidBatch : Field name not valid : {header}")
    key_field = target.field(key)
    if key_field is None or not (key_field.is_key or key_field.type == "id"):
        raise JobFailure(
            f"InvalidBatch : Field name not valid : {header} ({key} is not an external id or "
            f"idLookup field of {target.name})"
        )
    return Column(header, rel.name, target, key_field.name)


def columns(ctx: Ctx, obj: ObjectDef, header: list[str]) -> list[Column]:
    """The header's columns, validated against the schema (duplicates refused)."""
    out = [_column(ctx, obj, h) for h in header]
    seen = [c.field.lower() for c in out]
    duplicates = {s for s in seen if seen.count(s) > 1}
    if duplicates:
        raise JobFailure(f"InvalidBatch : Duplicate field name(s): {', '.join(sorted(duplicates))}")
    return out


def row_values(ctx: Ctx, cols: list[Column], row: list[str]) -> dict[str, Any]:
    """Field values of one row: empty cells skipped, #N/A as null, lookups resolved."""
    if len(row) != len(cols):
        raise SfError("INVALID_ROW", f"Row has {len(row)} cells but the header has {len(cols)} columns")
    values: dict[str, Any] = {}
    for col, cell in zip(cols, row, strict=True):
        if cell == "":
            continue
        if cell == NULL_MARKER:
            values[col.field] = None
        elif col.target is not None and col.key is not None:
            values[col.field] = resolve_foreign_key(ctx.conn, col.target, col.key, cell)
        else:
            values[col.field] = cell
    return values


def apply_row(ctx: Ctx, job: dict[str, Any], obj: ObjectDef, values: dict[str, Any]) -> tuple[str, bool]:
    """Run the job's operation on one row; returns (id, created)."""
    operation = job["operation"]
    if operation == "insert":
        return records.insert(ctx, obj, values, source="csv"), True
    record_id = next((v for k, v in values.items() if k.lower() == "id"), None)
    if operation in ("update", "delete", "hardDelete") and not record_id:
        raise SfError("MISSING_ARGUMENT", f"Id not specified in an {operation} call", ["Id"])
    if operation == "update":
        return records.update(ctx, obj, str(record_id), values, source="csv"), False
    if operation in ("delete", "hardDelete"):
        if set(values) - {"Id"}:
            raise SfError("INVALID_FIELD", "Only the Id column is allowed in a delete job", ["Id"])
        return records.delete(ctx, obj, str(record_id), hard=operation == "hardDelete"), False
    ext = job["externalIdFieldName"]
    key = next((v for k, v in values.items() if k.lower() == ext.lower()), None)
    if key in (None, ""):
        raise SfError("MISSING_ARGUMENT", f"{ext} not specified", [ext])
    try:
        return records.upsert(ctx, obj, ext, key, values, source="csv")
    except SfError as err:
        if err.status == 300:
            raise SfError(
                "DUPLICATE_EXTERNAL_ID",
                f"{ext}: more than one record found for external id field: {key}",
                [ext],
            ) from None
        raise


def process(ctx: Ctx, job: dict[str, Any], text: str) -> tuple[int, int]:
    """Process every row of a job into `bulk_results`; returns (processed, failed).

    Raises:
        JobFailure: a job-level error (header, line ending, parsing).
    """
    obj = ctx.schema[job["object"]]
    header, rows = parse_csv(text, job["columnDelimiter"], job["lineEnding"])
    cols = columns(ctx, obj, header)
    failed = 0
    for seq, row in enumerate(rows):
        given_id = next((cell for col, cell in zip(cols, row, strict=False) if col.field == "Id"), "")
        try:
            with savepoint(ctx.conn, "bulkrow"):
                record_id, created = apply_row(ctx, job, obj, row_values(ctx, cols, row))
            _result(ctx, job["id"], seq, "success", record_id, created, None, row)
        except SfError as err:
            failed += 1
            _result(ctx, job["id"], seq, "failed", given_id, None, err.bulk_error(), row)
    return len(rows), failed


def store_unprocessed(ctx: Ctx, job_id: str, text: str, delimiter: str) -> None:
    """Keep every data row as unprocessed (job aborted or failed before processing)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[delimiter]))
    except csv.Error:
        return
    for seq, row in enumerate(rows[1:]):
        _result(ctx, job_id, seq, "unprocessed", None, None, None, row)


def _result(
    ctx: Ctx,
    job_id: str,
    seq: int,
    kind: str,
    sf_id: str | None,
    created: bool | None,
    error: str | None,
    row: list[str],
) -> None:
    ctx.conn.execute(
        "insert into bulk_results(job_id, seq, kind, sf_id, created, error, row) values (?, ?, ?, ?, ?, ?, ?)",
        (job_id, seq, kind, sf_id, created, error, json.dumps(row)),
    )


def results_csv(ctx: Ctx, job_id: str, kind: str, header: list[str], delimiter: str) -> str:
    """The successfulResults / failedResults / unprocessedrecords CSV of a job."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITERS[delimiter], quoting=csv.QUOTE_ALL, lineterminator="\n")
    extra = {"success": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"], "unprocessed": []}[kind]
    writer.writerow(extra + header)
    for r in ctx.conn.execute("select * from bulk_results where job_id = ? and kind = ? order by seq", (job_id, kind)):
        lead = {
            "success": [r["sf_id"], "true" if r["created"] else "false"],
            "failed": [r["sf_id"] or "", r["error"]],
            "unprocessed": [],
        }[kind]
        writer.writerow(lead + json.loads(r["row"]))
    return out.getvalue()
