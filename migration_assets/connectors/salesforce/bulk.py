"""Bulk API 2.0 ingest: CSV writing, the job lifecycle and result mapping.

Real shapes (reference section 9): `POST /jobs/ingest` creates an upsert job on an external-id
field, `PUT /jobs/ingest/<id>/batches` uploads one CSV (201), `PATCH {"state":"UploadComplete"}`
closes it, `GET /jobs/ingest/<id>` is polled with backoff until `JobComplete`, `Failed` or
`Aborted`, then `successfulResults/` (`sf__Id`, `sf__Created`, original columns), `failedResults/`
(`sf__Id`, `sf__Error`, original columns) and, only when rows are missing from both,
`unprocessedrecords/` are read and mapped back to the input rows by the key column.

CSV rules: RFC 4180 quoting (fields with a comma, quote or line break are quoted, quotes doubled),
LF line endings, UTF-8, booleans `true`/`false`, multipicklists `a;b`; an absent value is an empty
cell (ignored on update) and an explicit None is `#N/A` (sets null).

Lost answers. Creating a job (POST) is not idempotent: after a lost answer the org's jobs are listed
(`GET /jobs/ingest`) and an Open job of the same object, operation and external id field, created by
this user since just before the request and not used by this process, is taken as the one the lost
request made; only when there is none is another job created. Any such job is empty, so taking
another process's job by mistake costs nothing: its upload then answers 409 and a new job is made.
A lost upload (PUT) leaves the job's data unknown and a second upload is refused, so that job is
aborted and the rows go to a new job. A lost close (PATCH UploadComplete) is checked on the job
itself: still Open, it is closed again. The rows are only processed after the close, so none of
this can apply a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from migration_assets.connectors.base import UpsertRow, WriteResult
from migration_assets.connectors.salesforce.client import SalesforceClient
from migration_assets.connectors.salesforce.collections import json_value
from migration_assets.connectors.salesforce.settings import BULK_MAX_BYTES, BULK_MAX_ROWS, BULK_NULL
from migration_assets.errors import ConnectorError, LostResponse, RemoteRejected

TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
LOST_ANSWER_TRIES = 5  # tries of one step of a job when its answers keep getting lost
CLOCK_SKEW = timedelta(minutes=5)  # tolerance between our clock and the org's createdDate
# Jobs this process created or took over: never taken as "the job a lost request made".
# A job is known by its id and creation time: ids alone repeat across orgs (and sandboxes) in one process.
_CLAIMED_JOBS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class PollPolicy:
    """How a job is awaited: first wait, ceiling of the doubling wait, and overall timeout (s)."""

    interval: float = 0.5
    max_interval: float = 10.0
    timeout: float = 3600.0


def csv_cell(value: Any) -> str:
    """One CSV cell: None → `#N/A`, booleans lower-case, lists joined with `;`.

    Args:
        value: a field value.

    Returns:
        The text of the cell (quoting is the CSV writer's job).
    """
    if value is None or value == "":
        return BULK_NULL  # an empty cell would leave the old value in place on update
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(json_value(value))


def csv_columns(key: str, rows: Sequence[UpsertRow]) -> list[str]:
    """Header of a job: the key first, then every field and lookup column in first-seen order."""
    columns = {key: None}
    for row in rows:
        columns.update(dict.fromkeys(n for n in row.fields if n != key))
        columns.update(dict.fromkeys(row.lookups))
    return list(columns)


def csv_row(key: str, columns: Sequence[str], row: UpsertRow) -> list[str]:
    """The cells of one row; a column the row does not carry stays empty (left untouched)."""
    cells = []
    for name in columns:
        if name == key:
            cells.append(row.external_id)
        elif name in row.lookups:
            cells.append(csv_cell(row.lookups[name].id))
        elif name in row.fields:
            cells.append(csv_cell(row.fields[name]))
        else:
            cells.append("")
    return cells


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """RFC 4180 CSV in UTF-8 with LF line endings.

    Args:
        columns: header cells (field API names).
        rows: the data cells.

    Returns:
        The encoded CSV.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of a result CSV as dicts (a UTF-8 byte-order mark is ignored)."""
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def split_jobs(key: str, rows: Sequence[UpsertRow]) -> list[tuple[Sequence[UpsertRow], bytes]]:
    """Cut rows into jobs of ≤ 10,000 rows and ≤ 100 MB of CSV each.

    Args:
        key: the external-id field.
        rows: all rows of one upsert call.

    Returns:
        (rows of the job, its CSV upload) per job, in input order.
    """
    jobs: list[tuple[Sequence[UpsertRow], bytes]] = []
    start = 0
    while start < len(rows):
        end = min(start + BULK_MAX_ROWS, len(rows))
        data = job_csv(key, rows[start:end])
        while end - start > 1 and len(data) > BULK_MAX_BYTES:
            end = start + (end - start) // 2
            data = job_csv(key, rows[start:end])
        jobs.append((rows[start:end], data))
        start = end
    return jobs


def job_csv(key: str, rows: Sequence[UpsertRow]) -> bytes:
    """The CSV upload of one job."""
    columns = csv_columns(key, rows)
    return write_csv(columns, [csv_row(key, columns, row) for row in rows])


async def run_upsert_job(
    client: SalesforceClient,
    sobject: str,
    key: str,
    job: tuple[Sequence[UpsertRow], bytes],
    poll: PollPolicy,
) -> tuple[list[WriteResult], int]:
    """Run one Bulk 2.0 upsert job to its end and map the results back to `rows`.

    Args:
        client: the org client.
        sobject: object API name.
        key: external-id field (externalIdFieldName).
        job: (≤ 10,000 rows, their CSV) from `split_jobs`.
        poll: the waiting policy.

    Returns:
        (one WriteResult per row in order, number of polls made).

    Raises:
        RemoteRejected: the job could not be created or the upload was refused.
        ConnectorError: the job did not finish before the poll timeout.
    """
    spec = {
        "object": sobject,
        "operation": "upsert",
        "externalIdFieldName": key,
        "contentType": "CSV",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    rows, data = job
    path = await _loaded_job(client, spec, data)
    await _close(client, path)
    info, polls = await _await_job(client, path, poll)
    return await _job_results(client, path, key, rows, info), polls


async def _loaded_job(client: SalesforceClient, spec: dict[str, Any], data: bytes) -> str:
    """The path of an Open job holding `data`, surviving lost answers (see the module docstring)."""
    for _ in range(LOST_ANSWER_TRIES):
        path = await _create(client, spec)
        try:
            await client.send(
                "PUT", f"{path}/batches", content=data, headers={"Content-Type": "text/csv"}, idempotent=False
            )
            return path
        except LostResponse:
            await _abort(client, path)  # its data is unknown and cannot be uploaded twice
        except RemoteRejected as exc:
            if exc.status != 409:
                raise  # 409: a job taken over after a lost create already had an upload
    raise ConnectorError(f"Bulk job upload answer lost {LOST_ANSWER_TRIES} times", system="salesforce")


async def _create(client: SalesforceClient, spec: dict[str, Any]) -> str:
    for _ in range(LOST_ANSWER_TRIES):
        asked = datetime.now(UTC)
        try:
            job = await client.json("POST", "/jobs/ingest", json=spec)
        except LostResponse:
            found = await _job_made_by_lost_request(client, spec, asked)
            if found is None:
                continue
            job = found
        _CLAIMED_JOBS.add(_claim(job))
        return f"/jobs/ingest/{job['id']}"
    raise ConnectorError(f"Bulk job creation answer lost {LOST_ANSWER_TRIES} times", system="salesforce")


def _claim(job: dict[str, Any]) -> tuple[str, str]:
    return str(job["id"]), str(job.get("createdDate"))


async def _job_made_by_lost_request(
    client: SalesforceClient, spec: dict[str, Any], asked: datetime
) -> dict[str, Any] | None:
    """The newest unclaimed Open job matching `spec`, created by this user since `asked`, or None."""
    token = await client.session.token()
    user = str((token.extra if token else {}).get("id", "")).rsplit("/", 1)[-1]
    fields = ("object", "operation", "externalIdFieldName")
    candidates = []
    url: str | None = "/jobs/ingest?jobType=V2Ingest"
    while url:
        page = await client.json("GET", url)
        for job in page.get("records", []):
            same = all(job.get(f) == spec.get(f) for f in fields) and job.get("state") == "Open"
            mine = not user or job.get("createdById") == user
            if same and mine and _claim(job) not in _CLAIMED_JOBS and _created(job) >= asked - CLOCK_SKEW:
                candidates.append(job)
        url = None if page.get("done", True) else page.get("nextRecordsUrl")
    return max(candidates, key=_created) if candidates else None


def _created(job: dict[str, Any]) -> datetime:
    return datetime.strptime(str(job.get("createdDate")), "%Y-%m-%dT%H:%M:%S.%f%z")


async def _close(client: SalesforceClient, path: str) -> None:
    """Mark the upload complete; after a lost answer, only if the job is still Open."""
    for _ in range(LOST_ANSWER_TRIES):
        try:
            await client.json("PATCH", path, json={"state": "UploadComplete"}, idempotent=False)
            return
        except LostResponse:
            if (await client.json("GET", path))["state"] != "Open":
                return
    raise ConnectorError(f"Bulk job close answer lost {LOST_ANSWER_TRIES} times", system="salesforce")


async def _abort(client: SalesforceClient, path: str) -> None:
    """Abort a job we will not use; a lost answer or a job no longer Open is left as it is."""
    with contextlib.suppress(LostResponse, RemoteRejected):
        await client.json("PATCH", path, json={"state": "Aborted"}, idempotent=False)


async def _await_job(client: SalesforceClient, path: str, poll: PollPolicy) -> tuple[dict[str, Any], int]:
    deadline = time.monotonic() + poll.timeout
    wait, polls = poll.interval, 0
    while True:
        info = await client.json("GET", path)
        polls += 1
        if info["state"] in TERMINAL_STATES:
            return info, polls
        if time.monotonic() + wait > deadline:
            raise ConnectorError(
                f"Bulk job {path.rsplit('/', 1)[-1]} still {info['state']} after {poll.timeout:.0f}s",
                system="salesforce",
            )
        await asyncio.sleep(wait)
        wait = min(wait * 2, poll.max_interval)


async def _job_results(
    client: SalesforceClient, path: str, key: str, rows: Sequence[UpsertRow], info: dict[str, Any]
) -> list[WriteResult]:
    outcome: dict[str, deque[WriteResult]] = defaultdict(deque)
    for line in read_csv((await client.send("GET", f"{path}/successfulResults/")).text):
        created = line.get("sf__Created", "").lower() == "true"
        outcome[line[key]].append(
            WriteResult(line[key], True, line.get("sf__Id") or None, "created" if created else "updated")
        )
    for line in read_csv((await client.send("GET", f"{path}/failedResults/")).text):
        outcome[line[key]].append(
            WriteResult(line[key], False, line.get("sf__Id") or None, error=line.get("sf__Error") or "failed")
        )
    mapped = sum(len(v) for v in outcome.values())
    if mapped < len(rows):
        await _read_unprocessed(client, path, key, info, outcome)
    return [_take(outcome, row.external_id, info) for row in rows]


async def _read_unprocessed(
    client: SalesforceClient,
    path: str,
    key: str,
    info: dict[str, Any],
    outcome: dict[str, deque[WriteResult]],
) -> None:
    reason = f"unprocessed: job {info['state']}" + (f" ({info['errorMessage']})" if info.get("errorMessage") else "")
    for line in read_csv((await client.send("GET", f"{path}/unprocessedrecords/")).text):
        outcome[line[key]].append(WriteResult(line[key], False, error=reason))


def _take(outcome: dict[str, deque[WriteResult]], external_id: str, info: dict[str, Any]) -> WriteResult:
    results = outcome.get(external_id)
    if results:
        return results.popleft()
    return WriteResult(
        external_id, False, error=f"unprocessed: not in the results of job {info['id']} ({info['state']})"
    )
