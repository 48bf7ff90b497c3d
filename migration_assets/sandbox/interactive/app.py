"""The Interactive emulator: a strict, HubSpot CRM v3 shaped Starlette app over one SQLite file.

Interactive (seed 004) is emulated with HubSpot's public API conventions (shared/reference/
source-systems.md section 3). What follows HubSpot's public docs and what is ours is listed in the
docstring of each module: `guard` (token, limits, error bodies), `params` (query strings), `render`
(record shape), `crm` (list, get, batch read), `search` (search), `meta` (properties, pipelines,
owners, schemas, associations v4, files, flows), `objects` (types, properties, association ids).

Routes (read-only; any other method on these paths is refused with 405):
    GET  /crm/v3/objects/{type}                       GET  /crm/v3/objects/{type}/{id}
    POST /crm/v3/objects/{type}/batch/read            POST /crm/v3/objects/{type}/search
    GET  /crm/v3/properties/{type}                    GET  /crm/v3/pipelines/{type}[/{id}]
    GET  /crm/v3/owners[/{id}]                        GET  /crm/v3/schemas[/{type}]
    GET  /crm/v4/objects/{from}/{id}/associations/{to}
    POST /crm/v4/associations/{from}/{to}/batch/read
    GET  /files/v3/files/search                       GET  /files/v3/files/{id}
    GET  /automation/v4/flows[/{id}]                  GET  /hubfs/{id}/{name}   (ours: file bytes)

Every route but `/hubfs` needs the bearer token and counts against the token's limits; fault
injection (option `faults`) wraps the whole app and answers with HubSpot's bodies.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import FaultInjection
from migration_assets.sandbox.interactive import store
from migration_assets.sandbox.interactive.crm import CrmEndpoints
from migration_assets.sandbox.interactive.guard import (
    AUTH_MESSAGE,
    ApiError,
    Limits,
    error_response,
    identity,
    render_fault,
)
from migration_assets.sandbox.interactive.meta import MetaEndpoints

Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def guarded(
    state: Any, limits: Limits, handler: Handler, *, search: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap `handler` with the token check, the limits, HubSpot's error bodies and headers."""

    async def endpoint(request: Request) -> Response:
        opts = await run_in_threadpool(store.options, state)
        who = identity(request, opts)
        if who is None:
            return error_response(ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION"))
        refused, headers = await run_in_threadpool(limits.check, who, opts, search=search)
        if refused is not None:
            return refused
        try:
            response = await handler(request, opts)
        except ApiError as exc:
            response = error_response(exc)
        response.headers.update(headers)
        if "x-hubspot-correlation-id" not in response.headers:
            response.headers["X-HubSpot-Correlation-Id"] = _correlation()
        return response

    return endpoint


def _correlation() -> str:
    return str(uuid.uuid4())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    category = "OBJECT_NOT_FOUND" if exc.status_code == 404 else "VALIDATION_ERROR"
    return error_response(ApiError(exc.status_code, str(exc.detail), category))


def create_app(state_path: Path) -> Any:
    """Build the emulator over the SQLite file `state_path` (created when missing).

    Args:
        state_path: state shared by every process serving this sandbox.

    Returns:
        The ASGI app (Starlette wrapped in fault injection); it needs no lifespan events, so
        `httpx.ASGITransport` can serve it.
    """
    state = store.open_state(Path(state_path))
    limits, crm, meta = Limits(state), CrmEndpoints(state), MetaEndpoints(state)

    def g(handler: Handler, **kw: Any) -> Callable[[Request], Awaitable[Response]]:
        return guarded(state, limits, handler, **kw)

    routes = [
        Route("/crm/v3/objects/{type}/batch/read", g(crm.batch_read), methods=["POST"]),
        Route("/crm/v3/objects/{type}/search", g(crm.search, search=True), methods=["POST"]),
        Route("/crm/v3/objects/{type}", g(crm.list_objects), methods=["GET"]),
        Route("/crm/v3/objects/{type}/{id}", g(crm.get_object), methods=["GET"]),
        Route("/crm/v3/properties/{type}", g(meta.properties), methods=["GET"]),
        Route("/crm/v3/pipelines/{type}", g(meta.pipelines), methods=["GET"]),
        Route("/crm/v3/pipelines/{type}/{id}", g(meta.pipeline), methods=["GET"]),
        Route("/crm/v3/owners", g(meta.owners), methods=["GET"]),
        Route("/crm/v3/owners/{id}", g(meta.owner), methods=["GET"]),
        Route("/crm/v3/schemas", g(meta.schemas), methods=["GET"]),
        Route("/crm/v3/schemas/{type}", g(meta.schema), methods=["GET"]),
        Route("/crm/v4/objects/{from}/{id}/associations/{to}", g(meta.associations), methods=["GET"]),
        Route("/crm/v4/associations/{from}/{to}/batch/read", g(meta.associations_batch), methods=["POST"]),
        Route("/files/v3/files/search", g(meta.files), methods=["GET"]),
        Route("/files/v3/files/{id}", g(meta.file), methods=["GET"]),
        Route("/automation/v4/flows", g(meta.flows), methods=["GET"]),
        Route("/automation/v4/flows/{id}", g(meta.flow), methods=["GET"]),
        Route("/hubfs/{id}/{name:path}", meta.content, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return FaultInjection(app, state, render_fault)
