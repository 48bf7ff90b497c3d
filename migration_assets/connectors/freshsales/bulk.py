"""Bulk upsert of contacts, accounts and deals: submit ≤ 100 records, poll the job, read the report.

Wire format (reference section 7): `POST /<entity>/bulk_upsert` with `{"<entity>": [{<identifier>,
"data": {...}}]}` answers a `job_status_url`; the job is polled until `status` is `SUCCESS` and its
`data` (a JSON string) holds `record_status {succeeded, failed}` and `detailed_failure_report`. The
identifier is the external-id custom field, `{"custom_field": {"<key>": "<external id>"}}` (a unique
custom field as identifier is unconfirmed; the sandbox accepts it).

The report names failures only, so the ids of the records written are found afterwards: the
account's "All" view sorted by `updated_at` (newest first) holds them on its first pages, with their
custom fields, at one request per 100 records; a record not seen there is searched by its key alone.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migration_assets.connectors.base import WriteResult
from migration_assets.connectors.freshsales.client import FreshsalesClient
from migration_assets.connectors.freshsales.settings import BULK_MAX, PER_PAGE, SYSTEM, TableDef
from migration_assets.errors import ConnectorError


@dataclass(frozen=True)
class PollPolicy:
    interval: float = 1.0
    max_interval: float = 10.0
    timeout: float = 1800.0


def identifier(key: str, external_id: str) -> dict[str, Any]:
    """The identifying part of one bulk record (and of a single upsert's `unique_identifier`)."""
    return {"custom_field": {key: external_id}} if key.startswith("cf_") else {key: external_id}


def _identifier_value(item: Mapping[str, Any], key: str) -> str | None:
    found = item.get("identifier") or item.get("unique_identifier") or {}
    value = (found.get("custom_field") or {}).get(key) if key.startswith("cf_") else found.get(key)
    return None if value is None else str(value)


async def poll(client: FreshsalesClient, url: str, policy: PollPolicy) -> tuple[dict[str, Any], int]:
    """Poll a job status URL until SUCCESS.

    Returns:
        (the final job status, polls made).

    Raises:
        ConnectorError: the job failed or did not finish within `policy.timeout`.
    """
    delay, waited, polls = policy.interval, 0.0, 0
    while True:
        client.ensure(1, "a bulk job poll")
        status = await client.json("GET", url)
        polls += 1
        state = str((status or {}).get("status", "")).upper()
        if state == "SUCCESS":
            return status, polls
        if state in ("FAILED", "FAILURE", "ERROR"):
            raise ConnectorError(f"bulk job {url} ended {state}: {status}", system=SYSTEM)
        if waited >= policy.timeout:
            raise ConnectorError(f"bulk job {url} still {state or 'pending'} after {waited:.0f}s", system=SYSTEM)
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, policy.max_interval)


async def run_chunk(
    client: FreshsalesClient,
    tdef: TableDef,
    key: str,
    chunk: Sequence[tuple[str, dict[str, Any]]],
    policy: PollPolicy,
    pages: int,
) -> tuple[dict[str, list[str]], dict[str, str], int]:
    """Submit one chunk of (external id, body) and wait for it.

    Returns:
        (failures by external id, destination ids by external id of the rest, polls made).
    """
    payload = {tdef.entity: [{**identifier(key, ext), "data": body} for ext, body in chunk]}
    submitted = await client.json("POST", f"{tdef.entity}/bulk_upsert", json=payload)
    status, polls = await poll(client, submitted["job_status_url"], policy)
    report = json.loads(status.get("data") or "{}") if isinstance(status.get("data"), str) else status.get("data") or {}
    failures: dict[str, list[str]] = {}
    for item in report.get("detailed_failure_report") or []:
        ext = _identifier_value(item, key)
        if ext is None and isinstance(item.get("index"), int) and item["index"] < len(chunk):
            ext = chunk[item["index"]][0]
        failures[str(ext)] = [str(m) for m in item.get("errors") or item.get("message") or ["rejected"]]
    written = [ext for ext, _ in chunk if ext not in failures]
    ids = await find_written(client, tdef, key, written, pages)
    return failures, ids, polls


async def find_written(
    client: FreshsalesClient, tdef: TableDef, key: str, external_ids: Sequence[str], pages: int
) -> dict[str, str]:
    """Destination ids of just-written records: the newest-updated view pages, then one search per
    record not seen there."""
    wanted, found = set(external_ids), {}
    view = await all_view(client, tdef)
    for page in range(1, pages + 1):
        if not wanted - found.keys():
            break
        client.ensure(1, f"the {tdef.entity} view")
        params = {"page": page, "per_page": PER_PAGE, "sort": "updated_at", "sort_type": "desc"}
        body = await client.json("GET", f"{tdef.entity}/view/{view}", params=params)
        for record in (body or {}).get(tdef.entity) or []:
            ext = (record.get("custom_field") or {}).get(key) if key.startswith("cf_") else record.get(key)
            if ext is not None and str(ext) in wanted:
                found[str(ext)] = str(record["id"])
        if page >= int(((body or {}).get("meta") or {}).get("total_pages") or 0):
            break
    for ext in sorted(wanted - found.keys()):
        hits = await search(client, tdef, key, [ext])
        if len(hits) == 1:
            found[ext] = str(hits[0]["id"])
    return found


async def all_view(client: FreshsalesClient, tdef: TableDef) -> int:
    """The id of the view listing every record of the entity ("All ...", else the first one)."""
    cached = client.views.get(tdef.entity)
    if cached is None:
        client.ensure(1, f"the {tdef.entity} views")
        views = (await client.json("GET", f"{tdef.entity}/filters") or {}).get("filters") or []
        chosen = next(
            (v for v in views if str(v.get("name", "")).lower().startswith("all ")), views[0] if views else None
        )
        if chosen is None:
            raise ConnectorError(f"{tdef.entity} has no view to list records with", system=SYSTEM)
        cached = client.views[tdef.entity] = int(chosen["id"])
    return cached


async def search(client: FreshsalesClient, tdef: TableDef, attribute: str, values: Sequence[str]) -> list[dict]:
    """Thin records whose `attribute` is one of `values` (one page of at most 100 values)."""
    client.ensure(1, f"a {tdef.search} search")
    rule = {"attribute": attribute, "operator": "is_in", "value": list(values)}
    body = {"filter_rule": [rule], "page": 1, "per_page": PER_PAGE}
    answer = await client.json("POST", f"filtered_search/{tdef.search}", json=body)
    return list((answer or {}).get(tdef.entity) or [])


def results(
    rows: Sequence[tuple[str, Any]],
    failures: Mapping[str, list[str]],
    ids: Mapping[str, str],
    existing: set[str],
) -> list[WriteResult]:
    """One WriteResult per (external id, _) in order, from a job's failures and the found ids."""
    out = []
    for ext, _ in rows:
        if ext in failures:
            out.append(WriteResult(ext, False, error="; ".join(failures[ext])))
        elif ext in ids:
            operation = "updated" if ids[ext] in existing else "created"
            out.append(WriteResult(ext, True, ids[ext], operation))
        else:
            out.append(WriteResult(ext, False, error="written by the bulk job but not found afterwards"))
    return out


def view_pages(n_rows: int, concurrency: int) -> int:
    """View pages read to find `n_rows` just-written records (other chunks in flight share them)."""
    return math.ceil(n_rows / PER_PAGE) + max(concurrency - 1, 0)


def chunks(items: Sequence[Any], size: int = BULK_MAX) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
