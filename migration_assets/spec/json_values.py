"""JSON lists held in text columns, as sources write them: sometimes encoded twice (a JSON string
whose content is the list)."""

from __future__ import annotations

from typing import Any

from migration_assets import json_text


def loads_list(text: str) -> list[Any]:
    """The JSON list in `text`, decoded a second time when the list was encoded twice.

    Raises:
        ValueError: `text` is not JSON (json.JSONDecodeError is one).
        ValueError: `text` is JSON but holds no list.
    """
    value = json_text.loads_twice(text)
    if not isinstance(value, list):
        raise ValueError("not a JSON list")
    return value
