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


def records_to_frame(records: list[dict[str, Any]], fields: list[str]) -> pl.DataFrame:
    """Text frame with the catalog's fields first, then any extra keys the API returned."""
    extra = sorted({k for r in records for k in r} - set(fields))
    columns = [*fields, *extra]
    data = {c: [_text(r.get(c)) for r in records] for c in columns}
    return pl.DataFrame(data, schema={c: pl.String for c in columns})


async def extract_all(source: SourceConnector, obj: str, *, since: str | None = None) -> pl.DataFrame:
    fields = [f.name for f in source.catalog[obj].fields]
    records: list[dict[str, Any]] = []
    async for page in source.extract(obj, since=since):
        records.extend(page)
    return records_to_frame(records, fields)
