"""OData literal quoting for Dataverse key URLs and `$filter` expressions (real rules, reference §3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from migration_assets.connectors.dataverse.settings import KEY_FORBIDDEN_CHARS

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
_FORBIDDEN = re.compile("[" + re.escape("".join(sorted(KEY_FORBIDDEN_CHARS))) + "]")
_SEGMENT_SAFE = "'()=,-._~"  # left as they are in a key segment, besides ASCII letters and digits
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9" + re.escape(_SEGMENT_SAFE) + "]*")


def literal(value: object) -> str:
    """An OData literal: strings quoted with `'` doubled, numbers and booleans bare, None as null.

    Args:
        value: a Python scalar.

    Returns:
        The literal text, e.g. `'O''Brien'`, `42`, `true`, `null`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def key_problem(value: str) -> str | None:
    """Why `value` cannot be used in an alternate-key URL, or None when it can.

    Args:
        value: the external id.

    Returns:
        A sentence naming the forbidden characters, or None.
    """
    if not value:
        return "empty key value"
    if _FORBIDDEN.search(value):  # one scan in C: every row's key is checked
        bad = sorted({c for c in value if c in KEY_FORBIDDEN_CHARS})
        return (
            f"key value {value!r} contains {' '.join(bad)}, which Dataverse key URLs cannot carry "
            "(forbidden: / < > * % & : \\ ? +)"
        )
    return None


def key_segment(key: str, value: str) -> str:
    """The `(<key>='<value>')` segment of an upsert URL, percent-encoded for the request line.

    Args:
        key: alternate-key column logical name.
        value: key value (checked with `key_problem` first).

    Returns:
        e.g. `(cs_externalid='A%201')`.
    """
    segment = literal(value)
    if not _PLAIN_SEGMENT.fullmatch(segment):  # `quote` walks every row's key in Python; most need nothing
        segment = quote(segment, safe=_SEGMENT_SAFE)
    return "(" + key + "=" + segment + ")"


def id_segment(record_id: str) -> str:
    """The `(<guid>)` segment addressing a record by its primary id."""
    return f"({record_id})"


def in_filter(prop: str, values: Sequence[str]) -> str:
    """`Microsoft.Dynamics.CRM.In(PropertyName='prop',PropertyValues=['a','b'])`.

    Args:
        prop: column logical name.
        values: the values (rendered as strings).

    Returns:
        The `$filter` expression.
    """
    rendered = ",".join(literal(str(v)) for v in values)
    return f"Microsoft.Dynamics.CRM.In(PropertyName='{prop}',PropertyValues=[{rendered}])"


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def id_from_entity_url(url: str | None) -> str | None:
    """The guid in an `OData-EntityId` header (`.../accounts(<guid>)`), or None."""
    if not url:
        return None
    match = _ENTITY_ID.search(url)
    return match.group(1) if match else None
