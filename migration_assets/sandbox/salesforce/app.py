"""Starlette app of the Salesforce emulator: `create_app(state_path)`.

Routes (data routes under `/services/data/v{60,61,62}.0/`, Bearer session, each call counted 1):
- `POST /services/oauth2/token` (auth.py); `GET /services/data/` versions (no session, not counted)
- `GET /limits` (not counted), `GET /` resources
- sObjects: `/sobjects`, `/sobjects/<O>`, `/sobjects/<O>/describe`, `/sobjects/<O>/<id>`,
  `/sobjects/<O>/<ExtField>/<value>`, `/sobjects/ContentVersion/<id>/VersionData` (sobjects.py, files_api.py)
- SOQL: `/query?q=`, `/queryAll?q=`, `/query/<locator>-<n>`, `/tooling/query?q=` (query.py)
- Collections: `/composite/sobjects`, `/composite/sobjects/<O>`, `/composite/sobjects/<O>/<ExtField>`
- Bulk API 2.0 ingest: `/jobs/ingest[/<id>[/batches|/successfulResults|/failedResults|/unprocessedrecords]]`
- Tooling: `/tooling/sobjects/CustomObject`, `/tooling/sobjects/CustomField[/<id>]`,
  `/tooling/sobjects/StandardValueSet/<Name>` (tooling.py)

The whole app, token endpoint included, sits in `FaultInjection` (options `faults`, `faults_seed`,
`faults_retry_after`): injected 429/500/502/503/504 answer with the REST error array (faults.py),
`timeout` and `lost` as the client would see them (`lost` applies the write, then drops the answer).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from migration_assets.sandbox._common import FaultInjection, ok
from migration_assets.sandbox.salesforce import bulk, collections, limits, query, sobjects, tooling
from migration_assets.sandbox.salesforce.api import ALL_METHODS, VERSIONS, Call, Service, endpoint
from migration_assets.sandbox.salesforce.auth import token_endpoint
from migration_assets.sandbox.salesforce.faults import not_found, render_fault
from migration_assets.sandbox.salesforce.seed import ensure_org
from migration_assets.sandbox.salesforce.store import open_state

DATA = "/services/data/{version}"


async def versions(request: Request) -> Response:
    """`GET /services/data/`: the API versions (no session needed, not counted)."""
    return JSONResponse([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS])


async def resources(request: Request, call: Call) -> Response:
    """`GET /services/data/vXX.X/`: the resources of this version."""
    names = ["sobjects", "query", "queryAll", "composite", "jobs", "limits", "tooling"]
    return ok({n: call.url(n) for n in names})


async def limits_endpoint(request: Request, call: Call) -> Response:
    """`GET /limits` (not counted) with the invented `X-Sandbox-Usage-Resets-At` header."""
    with call.service.state.connect() as conn:
        body, resets = limits.limits_body(conn), limits.resets_at(conn)
    response = ok(body)
    response.headers["X-Sandbox-Usage-Resets-At"] = resets
    return response


async def unknown_resource(request: Request, call: Call) -> Response:
    """Any other path under the API: 404 NOT_FOUND with the real body."""
    raise not_found()


def _data_routes() -> list[Route]:
    table = [
        ("", endpoint(resources, allowed=("GET", "HEAD")), ALL_METHODS),
        ("/limits", endpoint(limits_endpoint, counts=False, allowed=("GET", "HEAD")), ALL_METHODS),
        *sobjects.ROUTES,
        *tooling.ROUTES,
        *query.ROUTES,
        *collections.ROUTES,
        *bulk.ROUTES,
        # Last: any other path under the API answers the real 404 body (and is counted).
        ("/{rest:path}", endpoint(unknown_resource), ALL_METHODS),
    ]
    return [Route(DATA + path, handler, methods=methods) for path, handler, methods in table]


def create_app(state_path: Path) -> FaultInjection:
    """Build the emulator over the SQLite file `state_path` (created with the org when missing).

    Args:
        state_path: SQLite file shared by every process serving this sandbox.

    Returns:
        The Starlette app wrapped in FaultInjection (works under `httpx.ASGITransport` and uvicorn;
        no lifespan needed).
    """
    state = open_state(Path(state_path))
    with state.connect() as conn:
        ensure_org(conn)
    routes = [
        Route("/services/oauth2/token", token_endpoint, methods=["POST"]),
        Route("/services/data/", versions, methods=["GET"]),
        Route("/services/data", versions, methods=["GET"]),
        *_data_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sf = Service(state, Path(state_path))
    return FaultInjection(app, state, render_fault)
