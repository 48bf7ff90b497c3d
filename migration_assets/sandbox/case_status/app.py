"""The Case Status emulator: a strict Starlette app over one SQLite file.

Real (public Airbyte connector for Case Status, see shared/reference/source-systems.md section 1):
- `Authorization: ApiKey <key>`;
- `GET /v1/api/messages` and `/v1/api/files`: bare JSON arrays, `page[number]` from 1, `size`
  defaulting to 10, the client stops on a short page;
- `GET /reporting/cases`: `{"results": [...]}` with spaced keys ("Internal ID", "Case Name", ...);
- the message and file fields (files carry `case_id` as a string, as the real API returns it).

Invented (nothing public):
- every other resource under `/v1/api/` (users, clients, practice-areas, cases, matters,
  case-events, calendar-events, tasks, notes, time-entries, nps-responses, automations) and
  `GET /v1/api/portal-config` (one JSON object);
- `GET /v1/api/<resource>/{id}` (404 when unknown or deleted);
- `GET /v1/api/files/{id}/content` streaming bytes with Content-Type, Content-Length and
  Content-Disposition (404 when the blob is missing);
- `GET /v1/api/deleted?since=<iso>` -> `[{"object", "id", "deleted_at"}]`;
- the filters `updated_since` (inclusive) and `case_id`; order by (updated_at, id);
- `size` above 100, unknown or repeated query parameters -> 400; error bodies `{"detail": "..."}`;
- 5 requests/s with bursts of 10 per key (options `rate_per_second`, `burst`) -> 429 with an
  integer `Retry-After` of at least 1 second, counted per key in the state file (see guard.py);
- fault injection (`FaultInjection`, options `faults`, `faults_seed`, `faults_retry_after`): 429,
  500, 502, 503 and 504 answered with the same `{"detail": ...}` body (429/503 with Retry-After),
  `timeout` and `lost` as the client would see them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from migration_assets.sandbox import _documents as documents
from migration_assets.sandbox._common import FaultInjection, SharedWindow, SqliteState
from migration_assets.sandbox.case_status import content, reporting, store
from migration_assets.sandbox.case_status.guard import WINDOW_NAME, check
from migration_assets.sandbox.case_status.params import BadRequest, parse
from migration_assets.sandbox.case_status.resources import (
    CASE_SCOPED,
    LIST_RESOURCES,
    SINGLETON,
)

Handler = Callable[[Request], Awaitable[Response]]


FAULT_DETAILS = {
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _detail(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def render_fault(status: int) -> tuple[dict[str, str], dict[str, str]]:
    """The body and headers of an injected fault (FaultInjection adds Retry-After to 429/503)."""
    return {"detail": FAULT_DETAILS.get(status, "Request failed")}, {}


class CaseStatusApi:
    """Request handlers bound to one state file (records, options and rate-limit counters)."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.window = SharedWindow(state, WINDOW_NAME)

    def guarded(self, handler: Handler) -> Handler:
        """Wrap `handler` with auth, rate limit and the 400 for a bad query."""

        async def endpoint(request: Request) -> Response:
            refused = await run_in_threadpool(check, request, self.state, self.window)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except BadRequest as exc:
                return _detail(400, str(exc))

        return endpoint

    async def list_records(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource == SINGLETON:
            return await self.portal_config(request)
        if resource not in LIST_RESOURCES:
            return _detail(404, f"Unknown resource: {resource}")
        filters = {"updated_since", "case_id"} if resource in CASE_SCOPED else {"updated_since"}
        query = parse(request, filters=filters)

        def read() -> bytes:
            with self.state.read() as conn:
                docs = store.page_text(
                    conn,
                    resource,
                    number=query.number,
                    size=query.size,
                    updated_since=query.updated_since,
                    case_id=query.case_id,
                    orders=self.state.memo(),
                )
            return store.public_array(docs)

        return Response(await run_in_threadpool(read), media_type="application/json")

    async def portal_config(self, request: Request) -> Response:
        parse(request, paging=False)
        doc = await run_in_threadpool(self._get, SINGLETON, 1)
        return JSONResponse(documents.public(doc)) if doc else _detail(404, "Portal configuration not found")

    async def get_record(self, request: Request) -> Response:
        resource, raw_id = request.path_params["resource"], request.path_params["id"]
        if resource not in LIST_RESOURCES:
            return _detail(404, f"Unknown resource: {resource}")
        parse(request, paging=False)
        doc = await run_in_threadpool(self._get, resource, int(raw_id)) if raw_id.isdigit() else None
        return JSONResponse(documents.public(doc)) if doc else _detail(404, f"{resource} {raw_id} not found")

    async def file_content(self, request: Request) -> Response:
        raw_id = request.path_params["id"]
        parse(request, paging=False)
        doc = await run_in_threadpool(self._get, "files", int(raw_id)) if raw_id.isdigit() else None
        if doc is None:
            return _detail(404, f"files {raw_id} not found")
        if doc.get("_blob") == "missing":
            return _detail(404, f"Content of file {raw_id} not found")
        size = int(doc.get("size") or 0)
        headers = {
            "Content-Length": str(size),
            "Content-Disposition": content.disposition(str(doc.get("file_name") or f"file-{raw_id}")),
        }
        media_type = doc.get("content_type") or "application/octet-stream"
        return StreamingResponse(content.stream(doc["id"], size), media_type=media_type, headers=headers)

    async def deleted(self, request: Request) -> Response:
        query = parse(request, filters={"since"}, paging=False)
        if query.since is None:
            raise BadRequest("since is required")

        def read() -> list[dict]:
            with self.state.connect() as conn:
                return documents.deletions(conn, query.since or "")

        return JSONResponse(await run_in_threadpool(read))

    def _get(self, resource: str, record_id: int) -> dict | None:
        with self.state.read() as conn:
            return documents.get(conn, resource, record_id)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _detail(exc.status_code, exc.detail)


def create_app(state_path: Path) -> FaultInjection:
    """The emulator over the SQLite file `state_path` (created when missing; shared by every process
    serving this sandbox): Starlette in FaultInjection, without lifespan events, so that
    `httpx.ASGITransport` can serve it."""
    state = store.open_state(state_path)
    api = CaseStatusApi(state)
    g = api.guarded
    routes = [
        Route("/v1/api/deleted", g(api.deleted), methods=["GET"]),
        Route("/v1/api/files/{id}/content", g(api.file_content), methods=["GET"]),
        Route("/v1/api/{resource}", g(api.list_records), methods=["GET"]),
        Route("/v1/api/{resource}/{id}", g(api.get_record), methods=["GET"]),
        *reporting.routes(api.state, g),  # /reporting/cases and /reporting/firm
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return FaultInjection(app, state, render_fault)
