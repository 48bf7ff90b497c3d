"""The request pipeline every data endpoint shares: version, session, budget, errors, limit header.

`endpoint(handler)` wraps a handler `async (request, call) -> Response`: it answers 404 for an unknown
API version, 401 for a bad session, 429 past the optional short-term limit (limits.py), 403 past the
daily budget, renders any `SfError` as the real error array, and stamps `Sforce-Limit-Info` on every
response. Handlers open their transaction with
`call.tx()`, which yields a records `Ctx` (schema loaded at request time).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import SharedWindow, SqliteState
from migration_assets.sandbox.salesforce import limits
from migration_assets.sandbox.salesforce.auth import check_session
from migration_assets.sandbox.salesforce.describe import load_schema
from migration_assets.sandbox.salesforce.faults import SfError, json_parser_error, method_not_allowed, not_found
from migration_assets.sandbox.salesforce.records import INTEGRATION_USERNAME, Ctx
from migration_assets.sandbox.salesforce.store import blob_dir, find_by_key

VERSIONS = ("60.0", "61.0", "62.0")


@dataclass
class Service:
    """Per-app handles: the shared SQLite state, its request window and the blob folder."""

    state: SqliteState
    path: Path

    def __post_init__(self) -> None:
        self.window = SharedWindow(self.state, limits.WINDOW_NAME)

    @property
    def blobs(self) -> Path:
        return blob_dir(self.path)

    def integration_user(self, conn: Any) -> str:
        """Id of the API user every call runs as (created by `seed.ensure_org`)."""
        return find_by_key(conn, "User", "Username", INTEGRATION_USERNAME)[0]


@dataclass
class Call:
    """One authenticated data call."""

    service: Service
    version: str
    request: Request

    @contextmanager
    def tx(self) -> Iterator[Ctx]:
        """A write transaction with the org schema as of now."""
        with self.service.state.connect() as conn:
            yield Ctx(conn, load_schema(conn), self.service.integration_user(conn), self.service.blobs)

    def url(self, path: str) -> str:
        return f"/services/data/v{self.version}/{path.lstrip('/')}"

    async def json(self) -> Any:
        """The JSON body.

        Raises:
            SfError: JSON_PARSER_ERROR when the body is not JSON.
        """
        raw = await self.request.body()
        try:
            return json.loads(raw or b"null")
        except ValueError as err:
            raise json_parser_error(f"Unexpected character in the request body: {err}") from None


Handler = Callable[[Request, Call], Awaitable[Response]]


ALL_METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]


def endpoint(
    handler: Handler, *, counts: bool = True, allowed: tuple[str, ...] | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a data handler with the shared pipeline (see module docstring).

    Args:
        handler: `async (request, call) -> Response`.
        counts: whether the call consumes the daily budget.
        allowed: methods accepted; others get 405 METHOD_NOT_ALLOWED (None: the handler checks).

    Returns:
        The Starlette endpoint; register it for ALL_METHODS so 405s keep the real error body.
    """

    async def run(request: Request) -> Response:
        service: Service = request.app.state.sf
        version = request.path_params.get("version", "").removeprefix("v")
        try:
            if version not in VERSIONS:
                raise not_found()
            with service.state.connect() as conn:
                check_session(conn, request.headers.get("authorization"))
                short = limits.short_window(conn)
            if short is not None:
                limits.admit(service.window, *short)
            with service.state.connect() as conn:
                used, limit = limits.consume(conn) if counts else limits.usage(conn)
            if allowed is not None and request.method not in allowed:
                raise method_not_allowed(request.method, ",".join(allowed))
            response = await handler(request, Call(service, version, request))
        except SfError as err:
            response = err.response()
            with service.state.connect() as conn:
                used, limit = limits.usage(conn)
        response.headers["Sforce-Limit-Info"] = limits.header(used, limit)
        return response

    return run


