"""Asynchronous bulk upsert: `POST /<contacts|sales_accounts|deals>/bulk_upsert` and
`GET /job_statuses/{id}`.

Real (reference section 7, and a production script polling the job): the body lists at most 100
records, each with its identifying field at top level and its values under `data`; the answer has a
`job_status_url` (and a `message`); the job reaches `status: SUCCESS` and its `data` is a JSON-encoded
string holding `record_status: {succeeded, failed}` (counts) and `detailed_failure_report`.
Our choices (unconfirmed): 202 for the submission; `job_id` beside `job_status_url`; the pending status
`IN_PROGRESS` with `data: null`; the job is applied on the poll numbered by the option
`bulk_polls_until_done` (default 2: pending on the first poll, SUCCESS on the second; 0 applies it at
submission); each record is applied alone, so one failing record does not stop the others; each
failure report item is `{"index", "identifier", "errors": [messages]}`; a job whose records all
fail still ends in SUCCESS; a custom identifier is `{"custom_field": {"cf_x": value}}`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import ok, savepoint
from migration_assets.sandbox.freshsales import records
from migration_assets.sandbox.freshsales.api import Call, endpoint
from migration_assets.sandbox.freshsales.errors import FsError, invalid, not_found
from migration_assets.sandbox.freshsales.model import ENTITIES, EntityDef
from migration_assets.sandbox.freshsales.store import next_id, now_iso, option

MAX_RECORDS = 100
PENDING, DONE = "IN_PROGRESS", "SUCCESS"


def _check(ent: EntityDef, body: Any) -> list[dict[str, Any]]:
    items = body.get(ent.name) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise invalid(f'The body needs "{ent.name}": a list of records')
    if len(items) > MAX_RECORDS:
        raise invalid(f"At most {MAX_RECORDS} records can be upserted in one bulk request (got {len(items)})")
    for n, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise invalid(f'Record {n}: each record needs its values under "data"')
        if len([k for k in item if k != "data"]) != 1:
            raise invalid(f'Record {n}: each record needs exactly one identifying field beside "data"')
    return items


async def bulk_upsert(request: Request, call: Call, ent: EntityDef) -> Response:
    items = _check(ent, await call.json())
    with call.tx() as conn:
        job_id = next_id(conn)
        conn.execute(
            "insert into jobs(id, entity, payload, status, user_id, created_at) values (?, ?, ?, ?, ?, ?)",
            (job_id, ent.name, json.dumps(items), PENDING, call.user_id, now_iso(conn)),
        )
        if int(option(conn, "bulk_polls_until_done")) <= 0:
            _run(conn, job_id, ent, items, call.user_id)
    url = (
        str(request.base_url).rstrip("/") + f"{request.scope.get('root_path', '')}/crm/sales/api/job_statuses/{job_id}"
    )
    return ok({"message": "Your request is being processed", "job_id": job_id, "job_status_url": url}, 202)


def _run(conn, job_id: int, ent: EntityDef, items: list[dict[str, Any]], user_id: int) -> None:
    """Apply every record of a job, each in its own savepoint, and store the report."""
    failures, succeeded = [], 0
    for n, item in enumerate(items):
        identifier = {k: v for k, v in item.items() if k != "data"}
        try:
            with savepoint(conn, "bulk_record"):
                records.upsert(conn, ent, identifier, item["data"], user_id)
            succeeded += 1
        except FsError as err:
            failures.append({"index": n, "identifier": identifier, "errors": err.messages})
    report = {
        "record_status": {"succeeded": succeeded, "failed": len(failures)},
        "detailed_failure_report": failures,
    }
    conn.execute("update jobs set status = ?, result = ? where id = ?", (DONE, json.dumps(report), job_id))


async def job_status(request: Request, call: Call) -> Response:
    raw = request.path_params["job_id"]
    with call.tx() as conn:
        row = conn.execute("select * from jobs where id = ?", (int(raw),)).fetchone() if raw.isdigit() else None
        if row is None:
            raise not_found("Job")
        polls = int(row["polls"]) + 1
        conn.execute("update jobs set polls = ? where id = ?", (polls, row["id"]))
        if row["status"] == PENDING and polls >= int(option(conn, "bulk_polls_until_done")):
            _run(conn, int(row["id"]), ENTITIES[row["entity"]], json.loads(row["payload"]), int(row["user_id"]))
            row = conn.execute("select * from jobs where id = ?", (row["id"],)).fetchone()
    return ok({"id": row["id"], "status": row["status"], "data": row["result"], "created_at": row["created_at"]})


def bulk_routes(prefix: str) -> list[Route]:
    every = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes = [
        Route(
            f"{prefix}/{ent.name}/bulk_upsert",
            endpoint(functools.partial(bulk_upsert, ent=ent), allowed=("POST",)),
            methods=every,
        )
        for ent in ENTITIES.values()
        if ent.bulk
    ]
    routes.append(Route(f"{prefix}/job_statuses/{{job_id}}", endpoint(job_status, allowed=("GET",)), methods=every))
    return routes
