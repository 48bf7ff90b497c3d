"""Pull raw source records into a Polars frame, losslessly.

Raw columns are all text: ids, numbers and booleans as the API rendered them, nested objects and
arrays as JSON. Typing happens in staging through the spec's expressions, so a malformed value is
quarantined with a reason there instead of breaking (or silently nulling) the extract.

Pages are turned into columns as they arrive, and columns into text series by Polars a chunk at a
time: a page whose records share one key order (as API pages do) is transposed in one pass
(`zip`), and only values that need it (nested JSON, mixed types, integers beyond 64 bits) are
rendered one by one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from migration_assets.connectors.base import SourceConnector

_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # one encoder, not one per value
_NONE = type(None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace("\x00", "")  # NUL bytes: no destination stores them, some refuse the record
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return _JSON(value).replace("\\u0000", "")
    return str(value)


def _column(values: Sequence[Any]) -> pl.Series:
    """One raw column as text, as `_text` renders each value: columns of only strings, only integers
    or only booleans (and nulls) are converted by Polars in one go, nested JSON by one encoder call
    per value; the others value by value."""
    kinds = set(map(type, values)) - {_NONE}
    if kinds == {str}:
        return _without_nul(pl.Series(values, dtype=pl.String), "\x00")
    if kinds == {int}:
        return pl.Series(values, dtype=pl.Int64, strict=False).cast(pl.String) if _fits(values) else _slow(values)
    if kinds == {bool}:
        return pl.Series(values, dtype=pl.Boolean).cast(pl.String)
    if kinds and kinds <= {dict, list}:
        return _without_nul(pl.Series([None if v is None else _JSON(v) for v in values], dtype=pl.String), "\\u0000")
    return _slow(values)


def _without_nul(series: pl.Series, nul: str) -> pl.Series:
    """`series` with every `nul` (the NUL character, or its JSON escape) removed."""
    return series.str.replace_all(nul, "", literal=True) if series.str.contains(nul, literal=True).any() else series


def _fits(values: Sequence[Any]) -> bool:
    """Whether every integer fits in 64 bits (Python's are unbounded)."""
    present = [v for v in values if v is not None]
    return not present or (min(present) >= -(2**63) and max(present) < 2**63)


def _slow(values: Sequence[Any]) -> pl.Series:
    return pl.Series([_text(v) for v in values], dtype=pl.String)


class _Columns:
    """Records gathered column by column: name -> values, in the order keys first appeared."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {}
        self.rows = 0

    def add(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        for name, column in _transpose(records):
            if name not in self.values:
                self.values[name] = [None] * self.rows
            self.values[name].extend(column)
        self.rows += len(records)
        for column in self.values.values():
            if len(column) < self.rows:  # a key this page's records lack
                column.extend([None] * (self.rows - len(column)))

    def frame(self, fields: Sequence[str]) -> pl.DataFrame:
        """Text frame with the catalog's fields first, then any extra keys the API returned."""
        columns = [*fields, *sorted(set(self.values) - set(fields))]
        if not self.rows:
            return pl.DataFrame(schema={c: pl.String for c in columns})
        missing = [None] * self.rows
        return pl.DataFrame([_column(self.values.get(c, missing)).alias(c) for c in columns])


def _transpose(records: Sequence[dict[str, Any]]) -> Iterable[tuple[str, Sequence[Any]]]:
    """(key, values) per key of `records`: in one pass when they all share one key order, else key
    by key (a record without a key gives None)."""
    orders = set(map(tuple, records))
    if len(orders) == 1:
        return zip(next(iter(orders)), zip(*map(dict.values, records), strict=True), strict=True)
    names = dict.fromkeys(k for order in orders for k in order)
    return ((name, [r.get(name) for r in records]) for name in names)


def records_to_frame(records: list[dict[str, Any]], fields: list[str]) -> pl.DataFrame:
    """Text frame with the catalog's fields first, then any extra keys the API returned."""
    columns = _Columns()
    columns.add(records)
    return columns.frame(fields)


CHUNK_RECORDS = 5000  # records held as Python values at once; the frame grows chunk by chunk


async def extract_all(source: SourceConnector, obj: str, *, since: str | None = None) -> pl.DataFrame:
    """Every record of `obj` (changed since `since` when given) as a text frame, built chunk by
    chunk as the pages arrive (never a whole-table list of records)."""
    fields = [f.name for f in source.catalog[obj].fields]
    frames: list[pl.DataFrame] = []
    chunk = _Columns()
    async for page in source.extract(obj, since=since):
        chunk.add(page)
        if chunk.rows >= CHUNK_RECORDS:
            frames.append(chunk.frame(fields))
            chunk = _Columns()
    frames.append(chunk.frame(fields))
    if len(frames) == 1:
        return frames[0]
    frame = pl.concat(frames, how="diagonal")
    return frame.select(*fields, *sorted(set(frame.columns) - set(fields)))
