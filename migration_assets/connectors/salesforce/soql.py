"""SOQL building, literal quoting and result paging.

Queries go through `GET /query?q=...`; results come in batches of up to 2,000 records and the next
batch is a plain GET of `nextRecordsUrl` until `done` is true. Long `IN (...)` lists are split so a
WHERE clause stays under Salesforce's 4,000-character limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from migration_assets.connectors.salesforce.client import SalesforceClient
from migration_assets.connectors.salesforce.settings import SOQL_IN_CHARS, SOQL_IN_VALUES

# SOQL string escapes (reference: SOQL "Quoted String Escape Sequences").
_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def quote(value: object) -> str:
    """A SOQL string literal for `value`: `'O\\'Brien'`.

    Args:
        value: any value; it is compared as text.

    Returns:
        The quoted, escaped literal.
    """
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in str(value)) + "'"


def unique_fields(fields: Sequence[str]) -> list[str]:
    """`fields` without repeats (case-insensitive, first spelling wins): SOQL rejects duplicates."""
    seen: set[str] = set()
    out = []
    for name in fields:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def select(fields: Sequence[str], sobject: str, where: str | None = None) -> str:
    """`SELECT f1, f2 FROM O [WHERE ...]` with duplicate fields removed."""
    soql = f"SELECT {', '.join(unique_fields(fields))} FROM {sobject}"
    return f"{soql} WHERE {where}" if where else soql


def in_chunks(values: Sequence[str]) -> Iterator[list[str]]:
    """Split values into lists whose quoted `IN (...)` text stays under the WHERE-clause limit."""
    chunk: list[str] = []
    size = 0
    for value in values:
        width = len(quote(value)) + 1
        if chunk and (size + width > SOQL_IN_CHARS or len(chunk) >= SOQL_IN_VALUES):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += width
    if chunk:
        yield chunk


def in_list(field: str, values: Sequence[str]) -> str:
    """`field IN ('a','b')` with every value quoted."""
    return f"{field} IN ({','.join(quote(v) for v in values)})"


async def query_pages(client: SalesforceClient, soql: str) -> AsyncIterator[dict[str, Any]]:
    """Yield every page of a query, following `nextRecordsUrl` until `done`.

    Args:
        client: the org client.
        soql: the query text.

    Yields:
        Each JSON page (`totalSize`, `done`, `records`, maybe `nextRecordsUrl`).
    """
    page = await client.json("GET", "/query", params={"q": soql})
    yield page
    while not page.get("done", True) and page.get("nextRecordsUrl"):
        page = await client.json("GET", page["nextRecordsUrl"])
        yield page


async def query_records(client: SalesforceClient, soql: str) -> list[dict[str, Any]]:
    """All records of a query, with the `attributes` entry removed from each."""
    records: list[dict[str, Any]] = []
    async for page in query_pages(client, soql):
        for record in page.get("records", []):
            records.append({k: v for k, v in record.items() if k != "attributes"})
    return records


async def count(client: SalesforceClient, soql: str) -> int:
    """`totalSize` of a `SELECT COUNT() ...` query."""
    page = await client.json("GET", "/query", params={"q": soql})
    return int(page["totalSize"])
