"""Authentication and the service-protection limit in front of every BackDocket data endpoint.

Our design (the reference's): 120 requests per minute per client identity (the owner of the bearer
token), counted with `SharedWindow` in the state file so every process and every token of one
client share the window; options `rate_limit` and `rate_window_seconds` are read per request. Over
the limit: 429, the error shape with code `rate_limited`, and an integer `Retry-After` (seconds
until the oldest counted request leaves the window, at least 1). Refused requests (401) are not
counted: they have no identity.
Ours too (BackDocket documents no headers; we follow the IETF RateLimit header fields draft, as
many APIs do): every admitted answer and every 429 carry `RateLimit-Policy: <limit>;w=<seconds>`,
`RateLimit-Limit`, `RateLimit-Remaining` (requests left in the window now) and `RateLimit-Reset`
(seconds until the oldest counted request leaves it).
"""

from __future__ import annotations

import math

from starlette.requests import Request

from migration_assets.sandbox._common import SharedWindow, SqliteState
from migration_assets.sandbox.backdocket import store
from migration_assets.sandbox.backdocket.auth import token_owner
from migration_assets.sandbox.backdocket.render import ApiError


class Guard:
    """Admits a request (returning its client identity) or raises the 401/429 ApiError."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.window = SharedWindow(state, "requests_per_minute")

    def admit(self, request: Request) -> tuple[str, dict[str, str]]:
        """The client id of an authenticated request that fits in the window, and the rate-limit
        headers its answer carries.

        Raises:
            ApiError: 401 (token missing, unknown or expired) or 429 (over the limit).
        """
        with self.state.connect() as conn:
            identity = token_owner(conn, request.headers.get("authorization"))
            opts = store.options(conn)
        limit, window = int(opts["rate_limit"]), float(opts["rate_window_seconds"])
        allowed, wait = self.window.hit(identity, limit, window)
        if not allowed:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"Rate limit of {limit} requests per {window:g} seconds exceeded; retry in {seconds} s.",
                [{"limit": limit, "window_seconds": window, "retry_after": seconds}],
                {"Retry-After": str(seconds), **rate_headers(limit, window, 0, seconds)},
            )
        used = self.window.used(identity, window)
        return identity, rate_headers(limit, window, max(0, limit - used), math.ceil(window))


def rate_headers(limit: int, window: float, remaining: int, reset: int) -> dict[str, str]:
    """The RateLimit header fields of one answer (see the module docstring)."""
    return {
        "RateLimit-Policy": f"{limit};w={window:g}",
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(reset),
    }
