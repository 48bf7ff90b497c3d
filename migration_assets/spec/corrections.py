"""Corrections: values a person fixed for held-back rows, kept beside the spec as reviewable text.

`migrate corrections import PAIR FILE.csv` takes the quarantine list (`migrate quarantine --csv`)
with `fix_value` filled in, checks every filled row and merges them into
`mapping_specs/corrections/<pair>.yaml`. The corrections are part of the spec's content hash (the
sample must be approved again), and staging applies them to the source records before the
mapping runs, so the corrected rows, and the children they held back, load on the next run.

File:
    # corrections/case_status__dynamics365.yaml
    corrections:
      - {source_object: clients, source_id: "123", field: last_name, value: Okafor, was: null,
         by: jane@firm.example, imported_at: "2026-12-02T14:00:00Z", note: "from the intake form"}
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from migration_assets.errors import SpecError

FOLDER = "corrections"


@dataclass(frozen=True)
class Correction:
    source_object: str
    source_id: str
    field: str
    value: str | None
    was: str | None = None
    by: str = ""
    imported_at: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_object, self.source_id, self.field)


def path_for(spec_dir: Path, pair: str) -> Path:
    return spec_dir / FOLDER / f"{pair}.yaml"


def load(spec_dir: Path, pair: str) -> tuple[Correction, ...]:
    """The corrections of `pair` (none when the file does not exist).

    Raises:
        SpecError: the file is not a list of corrections.
    """
    path = path_for(spec_dir, pair)
    if not path.exists():
        return ()
    name = f"{FOLDER}/{path.name}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = data.get("corrections") or []
        return tuple(
            Correction(
                **{k: (None if v is None else str(v)) if k in ("value", "was") else str(v) for k, v in i.items()}
            )
            for i in items
        )
    except (yaml.YAMLError, UnicodeDecodeError, TypeError, AttributeError) as exc:
        raise SpecError(name, "corrections", f"not a list of corrections: {exc}") from None


def digest(corrections: Iterable[Correction]) -> str:
    """What the corrections add to a spec's content hash (empty without corrections)."""
    items = sorted((c.source_object, c.source_id, c.field, c.value) for c in corrections)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16] if items else ""


def save(spec_dir: Path, pair: str, corrections: Iterable[Correction]) -> Path:
    path = path_for(spec_dir, pair)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "corrections": [
            {k: v for k, v in asdict(c).items() if v not in ("", None) or k == "value"} for c in corrections
        ]
    }
    header = (
        f"# Corrections of {pair}, imported with `migrate corrections import`: each replaces one source\n"
        "# value before staging. Part of the spec's hash: the sample must be approved again.\n"
    )
    path.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def merge(old: Iterable[Correction], new: Iterable[Correction]) -> list[Correction]:
    """`old` with `new` added; a new correction of the same value replaces the old one."""
    merged = {c.key: c for c in old}
    merged |= {c.key: c for c in new}
    return sorted(merged.values(), key=lambda c: c.key)


def apply(frame: pl.DataFrame, corrections: Iterable[Correction], source_object: str, id_field: str) -> pl.DataFrame:
    """The raw records of `source_object` with the corrections to them applied (text values)."""
    mine = [c for c in corrections if c.source_object == source_object]
    if not mine or frame.height == 0 or id_field not in frame.columns:
        return frame
    for field_name, items in _by_field(mine).items():
        values = {c.source_id: c.value for c in items}
        ids = pl.col(id_field).cast(pl.String)
        column = pl.col(field_name) if field_name in frame.columns else pl.lit(None, pl.String)
        frame = frame.with_columns(
            pl.when(ids.is_in(list(values)))
            .then(ids.replace_strict(values, default=None, return_dtype=pl.String))
            .otherwise(column.cast(pl.String))
            .alias(field_name)
        )
    return frame


def _by_field(corrections: list[Correction]) -> dict[str, list[Correction]]:
    out: dict[str, list[Correction]] = {}
    for c in corrections:
        out.setdefault(c.field, []).append(c)
    return out


@dataclass(frozen=True)
class CsvRow:
    line: int
    object: str
    source_object: str
    source_id: str
    field: str
    value: str | None
    fix_value: str


def read_csv(text: str, file: str) -> list[CsvRow]:
    """The rows of a quarantine CSV whose `fix_value` is filled in.

    Raises:
        SpecError: a column is missing (names the file and the header line).
    """
    reader = csv.DictReader(io.StringIO(text))
    needed = {"object", "source_object", "source_id", "field", "value", "fix_value"}
    missing = needed - set(reader.fieldnames or [])
    if missing:
        raise SpecError(file, "", f"the CSV lacks the column(s) {', '.join(sorted(missing))}", 1)
    rows = []
    for line, row in enumerate(reader, start=2):
        fix = (row.get("fix_value") or "").strip()
        if fix:
            rows.append(
                CsvRow(
                    line,
                    row["object"],
                    row["source_object"],
                    row["source_id"],
                    row["field"] or "",
                    row["value"] or None,
                    fix,
                )
            )
    return rows


def validate(rows: list[CsvRow], file: str, fields: Mapping[str, set[str]], known_ids: Mapping[str, set[str]]) -> None:
    """Every filled row names a source object, record and field that exist.

    Args:
        rows: the filled rows.
        file: the CSV's name (for errors).
        fields: source object -> its field names (the source catalog).
        known_ids: source object -> ids of its extracted records.

    Raises:
        SpecError: the first bad row, with its CSV line.
    """
    for row in rows:
        if row.source_object not in fields:
            raise SpecError(file, "source_object", f"unknown source object {row.source_object!r}", row.line)
        if not row.field:
            raise SpecError(
                file,
                "field",
                f"record {row.source_id} has no field to correct: it is held back by its parent; "
                "correct the root cause's row instead",
                row.line,
            )
        if row.field not in fields[row.source_object]:
            raise SpecError(file, "field", f"{row.source_object} has no field {row.field!r}", row.line)
        if row.source_id not in known_ids.get(row.source_object, set()):
            raise SpecError(
                file, "source_id", f"no {row.source_object} record {row.source_id!r} was extracted", row.line
            )


def from_rows(rows: list[CsvRow], by: str, note: str = "") -> list[Correction]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [Correction(r.source_object, r.source_id, r.field, r.fix_value, r.value, by, now, note) for r in rows]


def as_rows(corrections: Iterable[Correction]) -> list[dict[str, Any]]:
    return [asdict(c) for c in corrections]
