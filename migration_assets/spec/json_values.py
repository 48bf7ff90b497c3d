"""JSON lists held in text columns, as sources write them: sometimes encoded twice (a JSON string
whose content is the list)."""

from __future__ import annotations

import json
from typing import Any


def loads_list(text: str) -> list[Any]:
    """The JSON list in `text`, decoded a second time when the list was encoded twice.

    Raises:
        json.JSONDecodeError: `text` is not JSON.
        ValueError: `text` is JSON but holds no list.
    """
    value = json.loads(text)
    if isinstance(value, str) and value.strip()[:1] == "[":
        value = json.loads(value)
    if not isinstance(value, list):
        raise ValueError("not a JSON list")
    return value
