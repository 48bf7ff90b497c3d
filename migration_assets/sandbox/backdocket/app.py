"""The BackDocket emulator: a strict Starlette app over one SQLite file.

BackDocket publishes no REST API (its only programmatic surface is an OAuth-protected MCP server),
so everything below is the design of shared/reference/source-systems.md sections 0 and 2, made
strict. Real, in the sense of following a public standard: the OAuth 2.0 client-credentials grant
and its error bodies (RFC 6749, see `auth`), bearer tokens (RFC 6750 `WWW-Authenticate`), and
Content-Disposition with an RFC 5987 UTF-8 name. Our choices (the reference's, or ours where it is
silent, marked *):
- `POST /oauth/token` -> `{"access_token", "token_type": "Bearer", "expires_in": 3600}`; an
  unknown or expired token -> 401 (`invalid_token` / `token_expired`);
- `GET /api/v1/<resource>?limit=&cursor=&updated_since=` -> `{"data": [...], "next_cursor": str|null}`
  ordered by (updated_at, id), `updated_since` inclusive, `limit` 1..200 (default 100), an opaque
  signed cursor*, `next_cursor` null on the last page even when it is full*;
- `GET /api/v1/<resource>/{id}` (404 when unknown or deleted), `GET /api/v1/deleted?since=` ->
  `[{"object", "id", "deleted_at"}]` (object = the resource's URL name*), not paged*;
- `GET /api/v1/documents/{id}/content` streams bytes with Content-Type, Content-Length and
  Content-Disposition; a document stored in the Onsite Data Warehouse -> 409 `not_available`*;
- unknown or repeated query parameters, a `limit` above 200, a malformed timestamp, a foreign or
  edited cursor -> 400; unknown paths 404, wrong methods 405*; every error as
  `{"error": {"code", "message", "details": []}}`;
- 120 requests per minute per client identity -> 429 + `Retry-After` (`guard`), and the IETF draft
  `RateLimit-*` header fields on every answer (ours);
- fault injection (`FaultInjection`, option `faults`) answering with the same error shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from migration_assets.sandbox import _documents as documents
from migration_assets.sandbox._common import FaultInjection, SqliteState
from migration_assets.sandbox.backdocket import auth, content, params, render, store
from migration_assets.sandbox.backdocket.guard import Guard
from migration_assets.sandbox.backdocket.render import ApiError
from migration_assets.sandbox.backdocket.resources import RESOURCES

API = "/api/v1"
Handler = Callable[[Request], Awaitable[Response]]


class BackDocketApi:
    """Request handlers bound to one state file."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.guard = Guard(state)

    def guarded(self, handler: Handler) -> Handler:
        """Wrap `handler` with auth and the rate limit; an ApiError becomes its error response."""

        async def endpoint(request: Request) -> Response:
            try:
                _identity, limits = await run_in_threadpool(self.guard.admit, request)
                response = await handler(request)
            except ApiError as exc:
                return render.response(exc)
            response.headers.update(limits)
            return response

        return endpoint

    async def token(self, request: Request) -> Response:
        raw = await request.body()
        headers = request.headers

        def run() -> dict[str, Any]:
            with self.state.connect() as conn:
                return auth.issue(conn, raw, headers.get("content-type", ""), headers.get("authorization", ""))

        try:
            granted = await run_in_threadpool(run)
        except auth.OAuthRefusal as exc:
            return render.oauth_error(exc.status, exc.error, exc.description)
        return JSONResponse(granted, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def list_records(self, request: Request) -> Response:
        resource = _resource(request)
        query = params.parse_list(request, resource)

        def read() -> list[dict[str, Any]]:
            with self.state.connect() as conn:
                return store.page(
                    conn, resource, limit=query.limit + 1, updated_since=query.updated_since, after=query.after
                )

        docs = await run_in_threadpool(read)
        next_cursor = None
        if len(docs) > query.limit:
            docs = docs[: query.limit]
            last = docs[-1]
            next_cursor = params.encode_cursor(
                resource, query.updated_since, (documents.utc_z(last["updated_at"]), str(last["id"]))
            )
        return JSONResponse({"data": [documents.public(d) for d in docs], "next_cursor": next_cursor})

    async def get_record(self, request: Request) -> Response:
        resource = _resource(request)
        params.parse_none(request)
        doc = await run_in_threadpool(self._get, resource, request.path_params["id"])
        return JSONResponse(documents.public(doc))

    async def deleted(self, request: Request) -> Response:
        since = params.parse_since(request)

        def read() -> list[dict[str, Any]]:
            with self.state.connect() as conn:
                return documents.deletions(conn, since)

        return JSONResponse(await run_in_threadpool(read))

    async def document_content(self, request: Request) -> Response:
        params.parse_none(request)
        record_id = request.path_params["id"]
        doc = await run_in_threadpool(self._get, "documents", record_id)
        if doc.get("storage") == "onsite_warehouse":
            raise ApiError(
                409,
                "not_available",
                f"Document {record_id} is held in the onsite data warehouse; its content cannot be read "
                "through the API.",
                [{"storage": "onsite_warehouse", "document_id": record_id}],
            )
        size = int(doc["size_bytes"])
        headers = {
            "Content-Length": str(size),
            "Content-Disposition": content.disposition(str(doc.get("file_name") or record_id)),
        }
        media_type = doc.get("mime_type") or "application/octet-stream"
        return StreamingResponse(content.stream(doc["_content"], size), media_type=media_type, headers=headers)

    def _get(self, resource: str, record_id: str) -> dict[str, Any]:
        with self.state.connect() as conn:
            doc = documents.get(conn, resource, record_id)
        if doc is None:
            raise ApiError(404, "not_found", f"No {resource} record with id '{record_id}'.")
        return doc


def _resource(request: Request) -> str:
    resource = request.path_params["resource"]
    if resource not in RESOURCES:
        raise ApiError(404, "not_found", f"Unknown resource '{resource}'.", [{"known": list(RESOURCES)}])
    return resource


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render.response(render.generic(exc.status_code))


def create_app(state_path: Path) -> Any:
    """The emulator over the SQLite file `state_path` (created when missing; shared by every process
    serving this sandbox): Starlette in FaultInjection, without lifespan events, so that
    `httpx.ASGITransport` can serve it."""
    state = store.open_state(Path(state_path))
    api = BackDocketApi(state)
    g = api.guarded
    routes = [
        Route("/oauth/token", api.token, methods=["POST"]),
        Route(f"{API}/deleted", g(api.deleted), methods=["GET"]),
        Route(f"{API}/documents/{{id}}/content", g(api.document_content), methods=["GET"]),
        Route(f"{API}/{{resource}}", g(api.list_records), methods=["GET"]),
        Route(f"{API}/{{resource}}/{{id}}", g(api.get_record), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return FaultInjection(app, state, render.fault)
