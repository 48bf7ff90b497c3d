"""Bulk API 2.0 ingest jobs: create, upload, close/abort, poll, results, delete, list.

Real (reference §9): JobInfo shape; states Open -> UploadComplete -> InProgress -> JobComplete | Failed,
Aborted any time before completion; PUT `/batches` answers 201 with no body; results as CSV; DELETE only
for UploadComplete/JobComplete/Aborted/Failed; unknown job 404 NOT_FOUND; job create 200.
Invented: jobs are processed when polled (after `bulk_poll_until_complete` GETs of the job, default 1,
all rows are processed at once; `bulk_batch_records` is kept as an option for callers that size their
uploads by it, it does not split processing); one upload per job (a second PUT
is 409); job-creation errors use errorCode `INVALIDJOB` and state errors `INVALIDJOBSTATE` (the Bulk
error names, upper-cased as the REST API does); multipart job creation is not supported.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import no_content, ok
from migration_assets.sandbox.salesforce import bulk_csv
from migration_assets.sandbox.salesforce.api import ALL_METHODS, Call, endpoint
from migration_assets.sandbox.salesforce.describe import find_object
from migration_assets.sandbox.salesforce.faults import SfError, json_parser_error, method_not_allowed, not_found
from migration_assets.sandbox.salesforce.ids import next_counter, next_id
from migration_assets.sandbox.salesforce.records import Ctx, external_id_field
from migration_assets.sandbox.salesforce.store import now_iso, option

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")


def invalid_job(message: str) -> SfError:
    """400 INVALIDJOB for a job that cannot be created as asked."""
    return SfError("INVALIDJOB", message)


def invalid_state(message: str) -> SfError:
    """409 INVALIDJOBSTATE for an operation the job's state does not allow."""
    return SfError("INVALIDJOBSTATE", message, status=409)


def _validate_create(ctx: Ctx, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise json_parser_error("Job body must be a JSON object")
    obj = find_object(ctx.schema, str(body.get("object") or ""))
    if obj is None:
        raise invalid_job(f"InvalidJob : Invalid object: {body.get('object')}")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise invalid_job(f"InvalidJob : Invalid operation: {operation} (known: {', '.join(OPERATIONS)})")
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        if not ext:
            raise invalid_job(
                f"InvalidJob : External ID was blank for {obj.name}. An External ID must be specified for upsert."
            )
        try:
            ext = external_id_field(obj, str(ext)).name
        except SfError:
            raise invalid_job(f"InvalidJob : Field {ext} is not an external id field of {obj.name}") from None
    if body.get("contentType", "CSV") != "CSV":
        raise invalid_job(f"InvalidJob : Invalid contentType: {body.get('contentType')} (only CSV)")
    if body.get("lineEnding", "LF") not in ("LF", "CRLF"):
        raise invalid_job(f"InvalidJob : Invalid lineEnding: {body.get('lineEnding')}")
    if body.get("columnDelimiter", "COMMA") not in bulk_csv.DELIMITERS:
        raise invalid_job(f"InvalidJob : Invalid columnDelimiter: {body.get('columnDelimiter')}")
    return {
        "object": obj.name,
        "operation": operation,
        "externalIdFieldName": ext if operation == "upsert" else None,
        "lineEnding": body.get("lineEnding", "LF"),
        "columnDelimiter": body.get("columnDelimiter", "COMMA"),
    }


def _job_info(ctx: Ctx, call: Call, settings: dict[str, Any]) -> dict[str, Any]:
    job_id, now = next_id(ctx.conn, "750"), now_iso()
    info = {
        "id": job_id,
        "operation": settings["operation"],
        "object": settings["object"],
        "createdById": ctx.user_id,
        "createdDate": now,
        "systemModstamp": now,
        "state": "Open",
        "externalIdFieldName": settings["externalIdFieldName"],
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(call.version),
        "jobType": "V2Ingest",
        "contentUrl": f"services/data/v{call.version}/jobs/ingest/{job_id}/batches",
        "lineEnding": settings["lineEnding"],
        "columnDelimiter": settings["columnDelimiter"],
    }
    if info["externalIdFieldName"] is None:
        del info["externalIdFieldName"]
    return info


def _load(ctx: Ctx, job_id: str) -> tuple[dict[str, Any], str | None, int]:
    row = ctx.conn.execute("select info, csv, polls from bulk_jobs where id = ?", (job_id,)).fetchone()
    if row is None:
        raise not_found()
    return json.loads(row["info"]), row["csv"], int(row["polls"])


def _save(ctx: Ctx, info: dict[str, Any], **columns: Any) -> None:
    info["systemModstamp"] = now_iso()
    sets = ", ".join(["info = ?", *[f"{k} = ?" for k in columns]])
    ctx.conn.execute(
        f"update bulk_jobs set {sets} where id = ?",
        (json.dumps(info), *columns.values(), info["id"]),
    )


def _with_counts(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "numberRecordsProcessed": 0,
        "numberRecordsFailed": 0,
        "retries": 0,
        "totalProcessingTime": 0,
        "apiActiveProcessingTime": 0,
        "apexProcessingTime": 0,
    } | info


async def jobs(request: Request, call: Call) -> Response:
    """`POST /jobs/ingest` (create) and `GET /jobs/ingest` (list)."""
    if request.method == "GET":
        with call.tx() as ctx:
            rows = ctx.conn.execute("select info from bulk_jobs order by seq").fetchall()
        return ok({"done": True, "records": [json.loads(r["info"]) for r in rows], "nextRecordsUrl": None})
    if request.method != "POST":
        raise method_not_allowed(request.method, "GET,POST")
    body = await call.json()
    with call.tx() as ctx:
        info = _job_info(ctx, call, _validate_create(ctx, body))
        ctx.conn.execute(
            "insert into bulk_jobs(id, seq, info, polls) values (?, ?, ?, 0)",
            (info["id"], next_counter(ctx.conn, "bulk_job_seq"), json.dumps(info)),
        )
    return ok(info)


async def upload(request: Request, call: Call) -> Response:
    """`PUT /jobs/ingest/<id>/batches` with `Content-Type: text/csv`: 201, no body."""
    if request.method != "PUT":
        raise method_not_allowed(request.method, "PUT")
    data = (await request.body()).decode("utf-8", "replace")
    with call.tx() as ctx:
        info, existing, _ = _load(ctx, request.path_params["job_id"])
        if not request.headers.get("content-type", "").startswith("text/csv"):
            raise SfError("INVALIDJOB", "InvalidJob : Content-Type must be text/csv", status=400)
        if info["state"] != "Open":
            raise invalid_state(
                f"InvalidJobState : Job state {info['state']} does not allow data upload; the job must be Open"
            )
        if existing is not None:
            raise invalid_state("InvalidJobState : Job data has already been uploaded; send one file per job")
        _save(ctx, info, csv=data)
    return Response(status_code=201)


async def job(request: Request, call: Call) -> Response:
    """`GET` (poll, processing when due), `PATCH` (UploadComplete / Aborted), `DELETE` of one job."""
    job_id = request.path_params["job_id"]
    if request.method == "GET":
        with call.tx() as ctx:
            return ok(_with_counts(_poll(ctx, *_load(ctx, job_id))))
    if request.method == "DELETE":
        with call.tx() as ctx:
            info, _, _ = _load(ctx, job_id)
            if info["state"] not in ("UploadComplete", *TERMINAL):
                raise invalid_state(f"InvalidJobState : a job in state {info['state']} cannot be deleted")
            ctx.conn.execute("delete from bulk_jobs where id = ?", (job_id,))
            ctx.conn.execute("delete from bulk_results where job_id = ?", (job_id,))
        return no_content()
    if request.method != "PATCH":
        raise method_not_allowed(request.method, "GET,PATCH,DELETE")
    body = await call.json()
    target = body.get("state") if isinstance(body, dict) else None
    with call.tx() as ctx:
        info, data, _ = _load(ctx, job_id)
        _transition(ctx, info, data, target)
        return ok(_with_counts(info))


def _transition(ctx: Ctx, info: dict[str, Any], data: str | None, target: Any) -> None:
    if target == "UploadComplete":
        if info["state"] != "Open":
            raise invalid_state(f"InvalidJobState : cannot close a job in state {info['state']}")
    elif target == "Aborted":
        if info["state"] in TERMINAL:
            raise invalid_state(f"InvalidJobState : cannot abort a job in state {info['state']}")
        if data is not None:
            bulk_csv.store_unprocessed(ctx, info["id"], data, info["columnDelimiter"])
    else:
        raise SfError(
            "INVALIDJOBSTATE", f"InvalidJobState : state {target!r} cannot be set (UploadComplete or Aborted)"
        )
    info["state"] = target
    _save(ctx, info)


def _poll(ctx: Ctx, info: dict[str, Any], data: str | None, polls: int) -> dict[str, Any]:
    """Advance a closed job: InProgress until `bulk_poll_until_complete` polls, then process it all."""
    if info["state"] not in ("UploadComplete", "InProgress"):
        return info
    polls += 1
    if polls < int(option(ctx.conn, "bulk_poll_until_complete")):
        info["state"] = "InProgress"
        _save(ctx, info, polls=polls)
        return info
    try:
        if data is None:
            raise bulk_csv.JobFailure("InvalidBatch : No data was uploaded for this job")
        processed, failed = bulk_csv.process(ctx, info, data)
        info |= {"state": "JobComplete", "numberRecordsProcessed": processed, "numberRecordsFailed": failed}
    except bulk_csv.JobFailure as failure:
        if data is not None:
            bulk_csv.store_unprocessed(ctx, info["id"], data, info["columnDelimiter"])
        info |= {
            "state": "Failed",
            "errorMessage": str(failure),
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
        }
    _save(ctx, info, polls=polls)
    return info


def _results(kind: str):
    async def handler(request: Request, call: Call) -> Response:
        if request.method != "GET":
            raise method_not_allowed(request.method, "GET")
        with call.tx() as ctx:
            info, data, _ = _load(ctx, request.path_params["job_id"])
            header = _header(data, info["columnDelimiter"])
            body = bulk_csv.results_csv(ctx, info["id"], kind, header, info["columnDelimiter"])
        return Response(body, media_type="text/csv")

    return handler


def _header(data: str | None, delimiter: str) -> list[str]:
    if not data:
        return []
    first = data.splitlines()[0] if data.splitlines() else ""
    return next(iter(bulk_csv.csv.reader([first], delimiter=bulk_csv.DELIMITERS[delimiter])), [])


ROUTES = [
    ("/jobs/ingest", endpoint(jobs), ALL_METHODS),
    ("/jobs/ingest/{job_id}", endpoint(job), ALL_METHODS),
    ("/jobs/ingest/{job_id}/batches", endpoint(upload), ALL_METHODS),
    ("/jobs/ingest/{job_id}/successfulResults", endpoint(_results("success")), ALL_METHODS),
    ("/jobs/ingest/{job_id}/successfulResults/", endpoint(_results("success")), ALL_METHODS),
    ("/jobs/ingest/{job_id}/failedResults", endpoint(_results("failed")), ALL_METHODS),
    ("/jobs/ingest/{job_id}/failedResults/", endpoint(_results("failed")), ALL_METHODS),
    ("/jobs/ingest/{job_id}/unprocessedrecords", endpoint(_results("unprocessed")), ALL_METHODS),
    ("/jobs/ingest/{job_id}/unprocessedrecords/", endpoint(_results("unprocessed")), ALL_METHODS),
]
