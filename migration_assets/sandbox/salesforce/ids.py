"""Salesforce record ids: 18 characters, a 3-character key prefix, deterministic from a counter.

The 15-character body is `<prefix><"Hs0000"><6 base-62 digits of the counter>`; the last three
characters are the real case-safe checksum (one character per 5-character chunk, encoding which
characters are upper case), so 15-character forms convert to 18 exactly as in a real org.
"""

from __future__ import annotations

import sqlite3
import string

from migration_assets.sandbox._common import bump_counter

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_CHECKSUM = string.ascii_uppercase + "012345"

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Note": "002",
    "Contact": "003",
    "User": "005",
    "Profile": "00e",
    "Task": "00T",
    "Event": "00U",
    "CustomField": "00N",
    "CustomObject": "01I",
    "QueryLocator": "01g",
    "ContentVersion": "068",
    "ContentDocument": "069",
    "ContentDocumentLink": "06A",
    "AccountContactRelation": "07k",
    "Case": "500",
    "BulkJob": "750",
    "StandardValueSet": "0Ch",
}


def checksum(body15: str) -> str:
    """The 3-character suffix that turns a 15-character id into its 18-character form."""
    out = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(body15[chunk * 5 : chunk * 5 + 5]):
            if ch.isupper():
                bits |= 1 << i
        out += _CHECKSUM[bits]
    return out


def to18(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when `value` is not id-shaped."""
    if len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return None
    body = value[:15]
    full = body + checksum(body)
    return full if len(value) == 15 or value.lower() == full.lower() else None


def _base62(n: int, width: int) -> str:
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _BASE62[r] + digits
    return digits.rjust(width, "0")


def next_id(conn: sqlite3.Connection, prefix: str) -> str:
    """Allocate the next id for a key prefix (counter kept in the `counters` table)."""
    n = next_counter(conn, f"id:{prefix}")
    body = f"{prefix}Hs0000{_base62(n, 6)}"
    return body + checksum(body)


def next_counter(conn: sqlite3.Connection, name: str, start: int = 1) -> int:
    """Increment and return a named counter, starting at `start`."""
    return bump_counter(conn, name, start=start)
