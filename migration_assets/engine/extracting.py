"""Pull raw source records into a Polars frame, losslessly.

Raw columns are all text: ids, numbers and booleans as the API rendered them, nested objects and
arrays as JSON. Typing happens in staging through the spec's expressions, so a malformed value is
quarantined with a reason there instead of breaking (or silently nulling) the extract.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from migration_assets.connectors.base import SourceConnector


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace("\x00", "")  # NUL bytes: no destination stores them, some refuse the record
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True).replace("\\u0000", "")
    return str(value)


def _column(values: list[Any]) -> pl.Series:
    """One raw column as text, as `_text` renders each value: columns of only strings, only integers
    or only booleans (and nulls) are converted by Polars in one go; the others value by value."""
    kinds = {type(v) for v in values} - {type(None)}
    if kinds == {str}:
        series = pl.Series(values, dtype=pl.String)
        return (
            series.str.replace_all("\x00", "", literal=True)
            if series.str.contains("\x00", literal=True).any()
            else series
        )
    if kinds == {int}:
        return pl.Series(values, dtype=pl.Int64, strict=False).cast(pl.String) if _fits(values) else _slow(values)
    if kinds == {bool}:
        return pl.Series(values, dtype=pl.Boolean).cast(pl.String)
    return _slow(values)


def _fits(values: list[Any]) -> bool:
    """Whether every integer fits in 64 bits (Python's are unbounded)."""
    present = [v for v in values if v is not None]
    return not present or (min(present) >= -(2**63) and max(present) < 2**63)


def _slow(values: list[Any]) -> pl.Series:
    return pl.Series([_text(v) for v in values], dtype=pl.String)


def records_to_frame(records: list[dict[str, Any]], fields: list[str]) -> pl.DataFrame:
    """Text frame with the catalog's fields first, then any extra keys the API returned."""
    extra = sorted({k for r in records for k in r} - set(fields))
    columns = [*fields, *extra]
    if not records:
        return pl.DataFrame(schema={c: pl.String for c in columns})
    return pl.DataFrame([_column([r.get(c) for r in records]).alias(c) for c in columns])


CHUNK_RECORDS = 5000  # records held as Python dicts at once; the frame grows chunk by chunk


async def extract_all(source: SourceConnector, obj: str, *, since: str | None = None) -> pl.DataFrame:
    """Every record of `obj` (changed since `since` when given) as a text frame, built chunk by
    chunk as the pages arrive (never a whole-table list of records)."""
    fields = [f.name for f in source.catalog[obj].fields]
    frames: list[pl.DataFrame] = []
    records: list[dict[str, Any]] = []
    async for page in source.extract(obj, since=since):
        records.extend(page)
        if len(records) >= CHUNK_RECORDS:
            frames.append(records_to_frame(records, fields))
            records = []
    frames.append(records_to_frame(records, fields))
    if len(frames) == 1:
        return frames[0]
    frame = pl.concat(frames, how="diagonal")
    return frame.select(*fields, *sorted(set(frame.columns) - set(fields)))
