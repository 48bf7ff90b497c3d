"""File objects (`kind: file`): staged file columns, oversize exclusion, safe names, the files report.

A file object's rows describe files rather than records: stage computes each file's name, folder,
size and content type into `_file_*` columns (never sent as fields) and excludes files larger than
the spec's `file.max_bytes` with a reason naming the file, its size and the limit. The loader
(`file_loading.py`) streams the bytes; this module holds the pure pieces both sides share.

Folder layout: `<parent table>/<parent external id>/<file.folder>`, i.e. one folder per parent
record (e.g. `incident/42/Medical Records`), mirroring the source's per-case folders. Every segment
and the file name are made safe for any document store (SharePoint's forbidden characters, `..`,
control characters, trailing dots and spaces, length).
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from migration_assets.reports.writing import write_markdown_and_json
from migration_assets.spec.expressions import Compiled
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap

PREFIX = "_file_"
NAME, FOLDER, SIZE, CONTENT_TYPE = f"{PREFIX}name", f"{PREFIX}folder", f"{PREFIX}size", f"{PREFIX}content_type"
FILE_COLUMNS = (NAME, FOLDER, SIZE, CONTENT_TYPE)
# only when the spec sets file.content / file.created_at / file.download_id
CONTENT, CREATED_AT, DOWNLOAD_ID = f"{PREFIX}content", f"{PREFIX}created_at", f"{PREFIX}download_id"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_NAME = 200
_FORBIDDEN = re.compile(r'["*:<>?/\\|#%\x00-\x1f\x7f]')
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # direction marks: a name may not hide its extension
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)  # Windows device names


def safe_name(name: str | None, *, fallback: str = "file") -> str:
    """A file or folder name any document store accepts, extension kept.

    Forbidden characters (`" * : < > ? / \\ | # %` and control characters) become `_`, direction
    marks (which can disguise an extension) go, runs of dots collapse to one, leading/trailing
    spaces and dots go, reserved device names (CON, NUL, COM1...) get a leading `_`, and the stem is
    cut so the name stays within 200 characters, extension kept. A second pass changes nothing.

    Args:
        name: the original name (may be None or contain a path).
        fallback: used when nothing printable is left.

    Returns:
        The safe name.
    """
    cleaned = _FORBIDDEN.sub("_", _BIDI.sub("", unicodedata.normalize("NFC", name or "")))
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip(" .")
    if not cleaned or set(cleaned) <= {"_"}:
        cleaned = fallback
    if _RESERVED.match(cleaned):
        cleaned = "_" + cleaned
    stem, dot, ext = cleaned.rpartition(".")
    if not dot or not stem:
        return cleaned[:MAX_NAME].rstrip(" .") or fallback
    ext = ext[:20]
    return stem[: MAX_NAME - len(ext) - 1].rstrip(" .") + "." + ext


def safe_folder(*parts: str | None) -> str:
    """A `/`-joined folder path whose every segment is safe; empty, `.` and `..` segments are dropped.

    Args:
        parts: path pieces, each possibly holding several segments separated by `/` or `\\`.

    Returns:
        The safe relative path ('' when nothing is left).
    """
    segments = [s for part in parts if part for s in re.split(r"[/\\]+", str(part)) if s.strip(" .")]
    return "/".join(safe_name(s, fallback="folder") for s in segments)


def parent_lookup(loaded: LoadedSpec, obj_name: str) -> tuple[str, str, str]:
    """(lookup column, parent object, parent destination table) of a file object."""
    obj = loaded.spec.objects[obj_name]
    assert obj.file is not None, f"{obj_name} is not a file object"
    lookup = obj.lookups[obj.file.parent]
    return obj.file.parent, lookup.object, loaded.spec.objects[lookup.object].table


def file_columns(loaded: LoadedSpec, obj_name: str) -> dict[str, Compiled]:
    """Compiled expressions of the staged `_file_*` columns (empty for record objects).

    `_file_name` and `_file_folder` hold the safe name and the full safe folder (parent folder
    included), i.e. exactly what is uploaded and what the read-back must show; `_file_content`
    the id of the record whose bytes are downloaded, for an object with `file.content`.
    """
    obj = loaded.spec.objects[obj_name]
    if obj.file is None:
        return {}
    spec = obj.file
    column = parent_lookup(loaded, obj_name)[0]
    name = loaded.compile(obj_name, "file.name", spec.name)
    size = loaded.compile(obj_name, "file.size", spec.size)
    table, parent = _parent_folder(loaded, obj_name, column)
    folder = loaded.compile(obj_name, "file.folder", spec.folder) if spec.folder is not None else None
    ctype = loaded.compile(obj_name, "file.content_type", spec.content_type) if spec.content_type else None
    folder_expr = pl.struct(
        table.alias("t"),
        parent.expr.cast(pl.String).alias("p"),
        (folder.expr.cast(pl.String) if folder else pl.lit(None, pl.String)).alias("f"),
    ).map_elements(lambda r: safe_folder(r["t"], r["p"], r["f"]), return_dtype=pl.String)
    ctype_expr = ctype.expr.cast(pl.String) if ctype else pl.lit(None, pl.String)
    folder_problems = (*(folder.problems if folder else ()), *parent.problems)
    folder_sources = (folder.sources if folder else frozenset()) | parent.sources
    return _optional_file_columns(loaded, obj_name) | {
        NAME: Compiled(
            name.expr.cast(pl.String).map_elements(safe_name, return_dtype=pl.String, skip_nulls=False),
            name.problems,
            name.sources,
            pl.String,
        ),
        FOLDER: Compiled(folder_expr, folder_problems, folder_sources, pl.String),
        SIZE: Compiled(size.expr.cast(pl.Int64, strict=False), size.problems, size.sources, pl.Int64),
        CONTENT_TYPE: Compiled(
            ctype_expr.fill_null(DEFAULT_CONTENT_TYPE),
            ctype.problems if ctype else (),
            ctype.sources if ctype else frozenset(),
            pl.String,
        ),
    }


def _parent_folder(loaded: LoadedSpec, obj_name: str, column: str) -> tuple[pl.Expr, Compiled]:
    """(parent table, parent external id) a file's folder starts with: the lookup's target, or for a
    polymorphic parent lookup the first target the row names."""
    lookup = loaded.spec.objects[obj_name].lookups[column]
    tables = [
        loaded.spec.objects[lookup.object].table,
        *(loaded.spec.objects[t.object].table for t in lookup.otherwise),
    ]
    values = [loaded.compile(obj_name, f"lookups.{column}.value", lookup.value)]
    values += [
        loaded.compile(obj_name, f"lookups.{column}.otherwise[{i}].value", t.value)
        for i, t in enumerate(lookup.otherwise)
    ]
    if len(values) == 1:
        return pl.lit(tables[0], pl.String), values[0]
    present = [v.expr.cast(pl.String).is_not_null() for v in values]
    table = pl.coalesce([pl.when(p).then(pl.lit(t, pl.String)) for p, t in zip(present, tables, strict=True)])
    parent = pl.coalesce([v.expr.cast(pl.String) for v in values])
    problems = tuple(p for v in values for p in v.problems)
    return table, Compiled(parent, problems, frozenset().union(*(v.sources for v in values)), pl.String)


def _optional_file_columns(loaded: LoadedSpec, obj_name: str) -> dict[str, Compiled]:
    """`_file_content` (base64 bytes kept in the source row), `_file_created_at` (original upload
    time) and `_file_download_id` (the record the source streams), when the spec's `file:` sets them."""
    spec = loaded.spec.objects[obj_name].file
    assert spec is not None
    out = {}
    if spec.content is not None:
        content = loaded.compile(obj_name, "file.content", spec.content)
        out[CONTENT] = Compiled(content.expr.cast(pl.String), content.problems, content.sources, pl.String)
    if spec.created_at is not None:
        out[CREATED_AT] = loaded.compile(obj_name, "file.created_at", spec.created_at)
    if spec.download_id is not None:
        download = loaded.compile(obj_name, "file.download_id", spec.download_id)
        out[DOWNLOAD_ID] = Compiled(download.expr.cast(pl.String), download.problems, download.sources, pl.String)
    return out


def inline_content(text: str | None) -> bytes:
    """The bytes of a `_file_content` value (base64 text; whitespace ignored).

    Raises:
        ValueError: the text is not valid base64.
    """
    return base64.b64decode(re.sub(r"\s+", "", text or ""), validate=True)


def oversize_reason(obj: ObjectMap) -> pl.Expr:
    """Per staged row: why the file is excluded as too large, else null (needs the `_file_*` columns)."""
    if obj.file is None:
        return pl.lit(None, pl.String)
    limit = obj.file.max_bytes
    return (
        pl.when(pl.col(SIZE) > limit)
        .then(
            pl.format(
                "file '{}' is {} bytes, above the {}-byte limit (file.max_bytes); skipped",
                pl.col(NAME),
                pl.col(SIZE),
                pl.lit(limit),
            )
        )
        .otherwise(None)
    )


def stage_files(obj: ObjectMap, frame: pl.DataFrame) -> pl.DataFrame:
    """File rows of a stage frame made loadable: one name per folder, oversize files excluded.

    Two files whose safe names collide in one folder would overwrite each other in the store, so
    every file after the first (by source id) gets ` (<source id>)` before its extension. A file
    larger than `file.max_bytes` is excluded with a reason naming file, size and limit (an earlier
    exclusion rule keeps its own reason).

    Args:
        obj: the object's spec (record objects are returned unchanged).
        frame: the stage frame with `_source_id`, `_excluded` and the `_file_*` columns.

    Returns:
        The frame with unique `_file_name` values per folder and oversize rows marked excluded.
    """
    if obj.file is None or frame.height == 0:
        return frame
    first = pl.col("_source_id").first().over(FOLDER, NAME)
    renamed = pl.struct(NAME, "_source_id").map_elements(
        lambda r: _with_suffix(r[NAME], r["_source_id"]), return_dtype=pl.String
    )
    frame = frame.with_columns(pl.when(pl.col("_source_id") != first).then(renamed).otherwise(pl.col(NAME)).alias(NAME))
    return frame.with_columns(pl.coalesce(pl.col("_excluded"), oversize_reason(obj)).alias("_excluded"))


def _with_suffix(name: str | None, source_id: str | None) -> str | None:
    if name is None:  # polars may probe the function with an empty row
        return None
    stem, dot, ext = name.rpartition(".")
    return safe_name(f"{stem} ({source_id}).{ext}" if dot and stem else f"{name} ({source_id})")


def destination_limit_reason(name: str, size: int, limit: int, system: str) -> str:
    """The exclusion reason of a file above the destination's own size limit."""
    return f"file '{name}' is {size} bytes, above the {limit}-byte limit of {system}; skipped"


def write_report(
    report_dir: Path,
    obj_name: str,
    phase: str,
    summary: Mapping[str, Any],
    skipped: Sequence[Mapping[str, Any]],
    failed: Sequence[Mapping[str, Any]],
    *,
    alone: bool = True,
) -> tuple[Path, Path]:
    """Write `files_<phase>.json` and `.md` (`files_<object>_<phase>` when the spec has several file
    objects): what was uploaded, what was skipped or failed and why.

    Args:
        report_dir: the pair's report folder.
        obj_name: the file object.
        phase: the phase (partition).
        summary: counts and bytes of the load.
        skipped: excluded files (oversize), each with external_id, source_id and reason.
        failed: quarantined files (download/upload refused, parent missing), with reasons.
        alone: the object is the spec's only file object.

    Returns:
        (json path, markdown path).
    """
    stem = f"files_{phase}" if alone else f"files_{obj_name}_{phase}"
    doc = {
        "object": obj_name,
        "phase": phase,
        "summary": dict(summary),
        "skipped": list(skipped),
        "failed": list(failed),
    }
    md_path, json_path = write_markdown_and_json(report_dir, stem, markdown(doc), doc)
    return json_path, md_path


def markdown(doc: Mapping[str, Any]) -> str:
    """The Markdown form of a files report."""
    lines = [f"# Files of {doc['object']} ({doc['phase']})", ""]
    lines += [f"- {k.replace('_', ' ')}: {v}" for k, v in doc["summary"].items()]
    for title, rows in (("Skipped", doc["skipped"]), ("Failed", doc["failed"])):
        lines += ["", f"## {title} ({len(rows)})", ""]
        if not rows:
            lines.append("none")
            continue
        lines += ["| source id | external id | reason |", "|---|---|---|"]
        lines += [f"| {r.get('source_id')} | {r.get('external_id')} | {_cell(r.get('reason'))} |" for r in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return str(value or "").replace("|", "\\|").replace("\n", " ")
