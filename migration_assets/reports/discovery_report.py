"""HTML + JSON files of the discovery, profiling, estimate and plan reports.

Every report is one JSON document (the facts) and one HTML page rendering its sections as tables;
`write_report` returns both paths for the asset metadata, so the Dagster UI links to them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from migration_assets.reports import html

MAX_ROWS = 200  # rows of one HTML table; the JSON keeps everything


def _cell(value: Any) -> Any:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(_cell(v)) for v in value[:20]) + (" …" if len(value) > 20 else "")
    return value


def rows_html(rows: Sequence[Mapping[str, Any]]) -> str:
    flat = [{k: _cell(v) for k, v in row.items()} for row in rows[:MAX_ROWS]]
    columns = list(dict.fromkeys(k for row in flat for k in row))
    more = f"<p><em>{len(rows) - MAX_ROWS} more rows in the JSON file</em></p>" if len(rows) > MAX_ROWS else ""
    return html.table(flat, columns) + more


def write_report(
    folder: Path, name: str, title: str, data: Mapping[str, Any], sections: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Path]:
    """Write `<folder>/<name>.json` (data) and `<folder>/<name>.html` (one table per section).

    Returns:
        {"json": path, "html": path}.
    """
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / f"{name}.json", folder / f"{name}.html"
    json_path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    body = [f"<h1>{html.esc(title)}</h1>"]
    for heading, rows in sections.items():
        body.append(f"<h2>{html.esc(heading)}</h2>{rows_html(list(rows))}")
    nav = [("Index of reports", "../index.html")]  # every caller writes into a sub-folder of the pair's
    html_path.write_text(html.page(title, "".join(body), nav), encoding="utf-8")
    return {"json": json_path, "html": html_path}


def read_report(path: Path) -> dict[str, Any] | None:
    """A JSON report written earlier, or None when it does not exist yet."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
