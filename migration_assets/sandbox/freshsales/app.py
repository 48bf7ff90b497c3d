"""Starlette app of the Freshsales emulator: `create_app(state_path)`.

Routes (under `/crm/sales/api`, `Authorization: Token token=<key>`, every call counted):
- records (routes.py): `/<entity>` create (and the task, appointment and sales activity lists),
  `/<entity>/{id}` GET/PUT/DELETE, `/<entity>/upsert`, `/<entity>/bulk_destroy`, `/<entity>/filters`,
  `/<entity>/view/{id}`, `/<entity>/{id}/notes`, `/filtered_search/<name>`
- bulk (bulk.py): `/<entity>/bulk_upsert`, `/job_statuses/{id}`
- documents (documents.py): `/documents`, `/documents/{id}`, `/documents/{id}/download`,
  `/<entity>/{id}/document_associations`
- metadata (here): `/selector/<name>`, `/settings/<entity>/fields`
- admin (admin.py, ours): `/sandbox/field_plan`
Any other path under the API answers 404 in the errors envelope (and is counted).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from migration_assets.sandbox._common import FaultInjection, ok
from migration_assets.sandbox.freshsales import schema
from migration_assets.sandbox.freshsales.admin import field_plan_route
from migration_assets.sandbox.freshsales.api import PREFIX, Call, Service, endpoint
from migration_assets.sandbox.freshsales.bulk import bulk_routes
from migration_assets.sandbox.freshsales.documents import document_routes
from migration_assets.sandbox.freshsales.errors import FsError, not_found, render_fault
from migration_assets.sandbox.freshsales.limits import Meter
from migration_assets.sandbox.freshsales.model import ENTITIES
from migration_assets.sandbox.freshsales.routes import entity_routes
from migration_assets.sandbox.freshsales.store import open_state
from migration_assets.sandbox.freshsales.users import ensure_admin

EVERY = ["GET", "POST", "PUT", "DELETE", "PATCH"]


async def selector(request: Request, call: Call) -> Response:
    """`GET /selector/<name>`: `{"<plural key>": [...]}` (owners under `users`; a key without admin
    rights gets 403 there, as one source reports, while the other selectors still answer)."""
    name = request.path_params["name"]
    if name not in schema.SELECTORS:
        raise not_found("Selector")
    if name == "owners" and not call.user.get("is_admin"):
        raise FsError(403, "You are not authorised to perform this operation.")
    with call.tx() as conn:
        return ok({schema.SELECTOR_KEYS.get(name, name): schema.selector(conn, name)})


async def field_settings(request: Request, call: Call) -> Response:
    """`GET /settings/<contacts|sales_accounts|deals|sales_activities>/fields`."""
    ent = ENTITIES.get(request.path_params["entity"])
    if ent is None or not ent.custom_fields:
        raise not_found("Field settings")
    with call.tx() as conn:
        return ok({"fields": schema.field_settings(conn, ent)})


async def unknown(request: Request, call: Call) -> Response:
    raise not_found("Resource")


def create_app(state_path: Path) -> FaultInjection:
    """Build the emulator over the SQLite file `state_path` (created with the account when missing).

    Args:
        state_path: SQLite file shared by every process serving this sandbox.

    Returns:
        The ASGI app (the Starlette routes wrapped in fault injection; no lifespan needed).
    """
    state = open_state(Path(state_path))
    with state.connect() as conn:
        ensure_admin(conn)
        schema.ensure_defaults(conn)
    routes = [
        *bulk_routes(PREFIX),
        *document_routes(PREFIX),
        *entity_routes(PREFIX),
        Route(f"{PREFIX}/selector/{{name}}", endpoint(selector, allowed=("GET",)), methods=EVERY),
        Route(f"{PREFIX}/settings/{{entity}}/fields", endpoint(field_settings, allowed=("GET",)), methods=EVERY),
        Route(f"{PREFIX}/sandbox/field_plan", endpoint(field_plan_route, allowed=("POST",)), methods=EVERY),
        Route(f"{PREFIX}/{{rest:path}}", endpoint(unknown, allowed=tuple(EVERY)), methods=EVERY),
    ]
    app = Starlette(routes=routes)
    app.state.freshsales = Service(state, Path(state_path), Meter(state))
    return FaultInjection(app, state, render_fault)
