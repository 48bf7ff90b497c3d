"""The request pipeline every route shares: API key, account limits, errors, the remaining header.

`endpoint(handler)` wraps `async (request, call) -> Response`: it answers 401 without a valid
`Authorization: Token token=<key>` (the key of an active user), counts the call against the
account's limits (403/429 past them), renders any `FsError` in the errors envelope and stamps
`X-RateLimit-Remaining` (our extra) on every counted answer.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import SqliteState
from migration_assets.sandbox.freshsales.errors import FsError, invalid
from migration_assets.sandbox.freshsales.limits import Meter, limits_of
from migration_assets.sandbox.freshsales.store import options
from migration_assets.sandbox.freshsales.users import by_key

PREFIX = "/crm/sales/api"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


@dataclass
class Service:
    """Per-app handles: the shared state and the limit counters."""

    state: SqliteState
    path: Path
    meter: Meter


@dataclass
class Call:
    """One authenticated, counted call."""

    service: Service
    request: Request
    user: dict[str, Any]

    @property
    def user_id(self) -> int:
        return int(self.user["id"])

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the state file."""
        with self.service.state.connect() as conn:
            yield conn

    async def json(self) -> Any:
        """The JSON body.

        Raises:
            FsError: 400 when the body is not JSON.
        """
        raw = await self.request.body()
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise invalid("The request body is not valid JSON") from None

    def paging(self, body: dict[str, Any] | None = None) -> tuple[int, int]:
        """(page, per_page) from the query string (or a search body).

        Raises:
            FsError: 400 for a page below 1 or per_page outside 1..100 (our choice: no clamping).
        """
        source = {
            **dict(self.request.query_params),
            **{k: v for k, v in (body or {}).items() if k in ("page", "per_page")},
        }
        try:
            page = int(source.get("page", 1))
            per_page = int(source.get("per_page", DEFAULT_PER_PAGE))
        except (TypeError, ValueError):
            raise invalid("page and per_page must be integers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise invalid(f"page must be 1 or more and per_page between 1 and {MAX_PER_PAGE}")
        return page, per_page

    def include(self) -> set[str]:
        return {part.strip() for part in self.request.query_params.get("include", "").split(",") if part.strip()}


Handler = Callable[[Request, Call], Awaitable[Response]]


def _api_key(header: str | None) -> str | None:
    """The key of `Token token=<key>` (the only accepted form)."""
    if not header or not header.startswith("Token token="):
        return None
    return header[len("Token token=") :].strip() or None


def endpoint(handler: Handler, *, allowed: tuple[str, ...]) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a route handler with the shared pipeline (see module docstring).

    Args:
        handler: `async (request, call) -> Response`.
        allowed: HTTP methods of the route; others answer 405 in the errors envelope.

    Returns:
        The Starlette endpoint (register it for every method so 405s keep the envelope).
    """

    async def run(request: Request) -> Response:
        service: Service = request.app.state.freshsales
        remaining: int | None = None
        try:
            key = _api_key(request.headers.get("authorization"))
            with service.state.connect() as conn:
                user = by_key(conn, key) if key else None
                limits = limits_of(options(conn))
            if user is None:
                raise FsError(401, "Invalid API key: send Authorization: Token token=<your API key>")
            remaining = service.meter.consume(limits)
            if request.method not in allowed:
                raise FsError(405, f"Method {request.method} is not allowed here (allowed: {', '.join(allowed)})")
            response = await handler(request, Call(service, request, user))
        except FsError as err:
            response = err.response()
        if remaining is not None:
            response.headers["X-RateLimit-Remaining"] = str(remaining)
        return response

    return run




def meta(total: int, per_page: int) -> dict[str, int]:
    """The `meta` block of a list: total records and pages (0 pages when empty)."""
    return {"total_pages": (total + per_page - 1) // per_page, "total": total}
