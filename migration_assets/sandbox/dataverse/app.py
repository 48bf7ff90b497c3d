"""Starlette app of the Dataverse (Dynamics 365 Sales) strict emulator.

Routes: `POST /sandbox-tenant/oauth2/v2.0/token` (invented tenant path, real Entra shape),
`/api/data/v9.2/...` (the Web API: records, metadata, `$batch`, actions; see `api.py`), and the
SharePoint-like document store under `/graph/...` (see `documents.py`). Each request runs its
SQLite work in a worker thread inside one transaction, after authentication and the service
protection check (`limits.py`, counted per application user in the shared state). With the option
`server_model: realistic` each answer takes the modelled time of the real service and counts its
modelled server time (`server_model.py`).
The whole app is wrapped in the shared FaultInjection middleware (option `faults`, e.g.
`429:0.1,503:0.05,timeout:0.02,lost:0.05`): injected answers carry the Web API error body
`{"error":{"code","message"}}` (429: the real request-limit code and text with Retry-After;
500: 0x80040216 "An unexpected error occurred."; 502/503/504: code 0x0 and the gateway's reason,
our choice: the real front end's bodies for those are not documented).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import FaultInjection, ThreadConnections
from migration_assets.sandbox.dataverse import api, auth, batch, bootstrap, documents, store
from migration_assets.sandbox.dataverse.core import API_PREFIX, Call, Ctx, ODataError, Result
from migration_assets.sandbox.dataverse.limits import DOP_HINT, ServiceProtection
from migration_assets.sandbox.dataverse.model import Catalog, load_catalog
from migration_assets.sandbox.dataverse.server_model import ServerModel, records_read

ALL_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
log = logging.getLogger("migration_assets.sandbox.dataverse")


class Emulator:
    """State shared by the routes of one app: the SQLite file, the catalog cache, the limiter."""

    def __init__(self, state_path: Path) -> None:
        self.state = store.open_state(state_path)
        self.state_path = Path(state_path)
        self.connections = ThreadConnections(self.state_path)
        self.limits = ServiceProtection(self.state, self.connections)
        self._catalog: Catalog | None = None
        with self.state.connect() as conn:
            bootstrap.install(conn)

    def catalog(self, conn: Any) -> Catalog:
        self._catalog = load_catalog(conn, self._catalog)
        return self._catalog

    def context(self, conn: Any, request_base: str, headers: dict[str, str], client: str = store.CLIENT_ID) -> Ctx:
        return Ctx(
            conn=conn,
            catalog=self.catalog(conn),
            options=store.read_options(conn),
            base_url=request_base + API_PREFIX,
            user_id=bootstrap.app_user_id(client),
            solution=headers.get("mscrm.solutionuniquename"),
        )

    # ------------------------------------------------------------ sync work (thread pool)

    def authenticate(self, authorization: str | None) -> tuple[str, store.Options]:
        with self.connections.read() as conn:
            client = auth.caller(conn, authorization)
            return client, store.read_options(conn)

    def execute(self, call: Call, request_base: str, client: str = store.CLIENT_ID) -> Result:
        """Answer one data call: GETs in a read transaction (never queued behind the writer), any
        other method (and `$batch`) in one write transaction."""
        if call.path.startswith("sandbox/"):
            self.limits.flush()  # the environment view reports every counted operation
        try:
            if call.method == "GET":
                with self.connections.read() as conn:
                    if bootstrap.is_installed(conn):
                        return api.dispatch(self.context(conn, request_base, call.headers, client), call)
            with self.connections.write() as conn:
                bootstrap.install(conn)  # a reset from another process may have wiped the tables
                ctx = self.context(conn, request_base, call.headers, client)
                ctx.interleave = lambda: self.connections.interleave(conn)
                return batch.run(ctx, call) if call.path == "$batch" else api.dispatch(ctx, call)
        except ODataError as error:
            return error.result()
        except Exception:  # a sandbox bug must still answer in the Web API error shape
            log.exception("dataverse sandbox failed on %s %s", call.method, call.path)
            return ODataError(500, "0x80040216", "An unexpected error occurred.").result()

    def token(self, form: dict[str, str]) -> Result:
        with self.connections.write() as conn:
            expires_in = int(store.read_options(conn).get("token_expires_in"))
            return auth.issue_token(conn, form, expires_in)


def to_response(result: Result, extra: dict[str, str] | None = None) -> Response:
    body, media_type = result.encoded()
    headers = {**result.headers, **(extra or {})}
    headers.pop("content-type", None)
    if result.status in (204, 304):
        return Response(status_code=result.status, headers=headers)
    if media_type and media_type.startswith("application/json"):
        headers.setdefault("OData-Version", "4.0")
    return Response(body, status_code=result.status, headers=headers, media_type=media_type)


def base_of(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


FAULT_MESSAGES = {
    500: ("0x80040216", "An unexpected error occurred."),
    502: ("0x0", "Bad Gateway: the server received an invalid response from an upstream server."),
    503: ("0x0", "The service is temporarily unavailable. Please retry later."),
    504: ("0x0", "Gateway Timeout: the request did not complete in time."),
}


def fault_renderer(state: Any) -> Any:
    """`render(status) -> (body, headers)` for injected faults, in the Web API error shape."""

    def render(status: int) -> tuple[dict[str, Any], dict[str, str]]:
        if status == 429:
            limit = int(state.option("requests_per_window"))
            window = int(state.option("window_seconds"))
            message = f"Number of requests exceeded the limit of {limit} over time window of {window} seconds."
            return {"error": {"code": "0x80072322", "message": message}}, {}
        code, message = FAULT_MESSAGES.get(status, ("0x0", "The request failed."))
        return {"error": {"code": code, "message": message}}, {}

    return render


def create_app(state_path: Path) -> FaultInjection:
    """Build the emulator app over one SQLite file.

    Args:
        state_path: the SQLite file (created with the standard tables on first use).

    Returns:
        An ASGI app (Starlette inside FaultInjection) usable through `httpx.ASGITransport` or
        uvicorn; `.app.state.emulator` is the Emulator.
    """
    emulator = Emulator(Path(state_path))

    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        return to_response(await run_in_threadpool(emulator.token, form))

    async def data_api(request: Request) -> Response:
        body = await request.body()
        try:
            client, options = await run_in_threadpool(emulator.authenticate, request.headers.get("authorization"))
            remaining = await run_in_threadpool(emulator.limits.admit, client, options)
        except ODataError as error:
            return to_response(error.result())
        model = ServerModel.from_options(options)
        path = request.path_params["path"]
        started = time.monotonic()
        result: Result | None = None
        try:
            call = Call(
                method=request.method,
                path=path,
                query=dict(request.query_params),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
            result = await run_in_threadpool(emulator.execute, call, base_of(request), client)
        finally:
            elapsed = (time.monotonic() - started) * 1000
            if model is not None:  # the modelled server time is what counts, and what the caller waits
                elapsed = model.server_ms(request.method, path, body, records_read(result.body if result else None))
                await asyncio.sleep(max(0.0, (model.latency_ms + elapsed) / 1000 - (time.monotonic() - started)))
            operations = 0 if path == "$batch" else 1
            await run_in_threadpool(emulator.limits.release, client, elapsed, None, operations)
        extra = {"x-ms-dop-hint": str(DOP_HINT), "x-ms-ratelimit-burst-remaining-xrm-requests": str(remaining)}
        return to_response(result, extra)

    async def graph(request: Request) -> Response:
        return await documents.handle(docs, request, emulator.limits)

    docs = documents.DocumentStore(emulator.connections, emulator.state_path)
    routes = [
        Route("/sandbox-tenant/oauth2/v2.0/token", token, methods=["POST"]),
        Route(API_PREFIX + "/{path:path}", data_api, methods=ALL_METHODS),
        Route("/graph/{path:path}", graph, methods=["GET", "PUT", "POST", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return FaultInjection(app, emulator.state, fault_renderer(emulator.state))
