"""The Markdown + JSON pair most reports are written as (a person reads one, a program the other)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_markdown_and_json(
    folder: Path, stem: str, markdown: str, payload: Any, *, markdown_name: str | None = None
) -> tuple[Path, Path]:
    """Write `<folder>/<stem>.json` and `<folder>/<markdown_name or stem + '.md'>`.

    Returns:
        (markdown path, JSON path).
    """
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / (markdown_name or f"{stem}.md"), folder / f"{stem}.json"
    md_path.write_text(markdown, encoding="utf-8")
    json_path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return md_path, json_path
