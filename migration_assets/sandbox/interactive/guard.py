"""Authentication, service-protection limits and error bodies of the Interactive emulator.

Real (HubSpot public docs and 429 bodies quoted in HubSpot's client issues):
- private-app bearer token (`Authorization: Bearer <token>`); without a valid one, 401
  `{"status":"error","message":"Authentication credentials not found. ...","correlationId",
  "category":"INVALID_AUTHENTICATION"}`;
- 100 requests per rolling 10 s per token (190 on Professional/Enterprise: option
  `ten_secondly_limit`), refused with 429 `{"status":"error","message":"You have reached your
  ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId","policyName":
  "TEN_SECONDLY_ROLLING","requestId"}`; a daily limit (250,000 on Free/Starter) with policy DAILY;
- the CRM search endpoints' own limit of about 4 requests/s per token, refused with 429
  `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT",
  "correlationId","policyName":"SECONDLY","requestId"}`;
- the headers X-HubSpot-RateLimit-Max, -Remaining, -Interval-Milliseconds, -Daily and
  -Daily-Remaining on the responses of the general API, but not on search responses (HubSpot's
  search responses carry no rate-limit headers; only X-HubSpot-Correlation-Id);
- other errors `{"status":"error","message","correlationId","category":"VALIDATION_ERROR"}`.

Ours: no Retry-After on a 429 (HubSpot's clients wait by policy name; none seen in public
examples), the daily day boundary in UTC (HubSpot uses the account's time zone), the bodies of
injected 5xx faults, and the sandbox token below (any token listed in the option `tokens` is
accepted too, each counted as its own identity).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from migration_assets.sandbox._common import SharedWindow, SqliteState
from migration_assets.sandbox.interactive import store

SANDBOX_TOKEN = "pat-na1-00000000-sandbox-interactive"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
    "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
TEN_SECONDLY = ("You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING")
SECONDLY = ("You have reached your secondly limit.", "SECONDLY")
DAILY = ("You have reached your daily limit.", "DAILY")


class ApiError(Exception):
    """A request the API refuses; rendered as HubSpot's error body."""

    def __init__(self, status: int, message: str, category: str = "VALIDATION_ERROR", **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.category, self.extra = status, message, category, extra


def _correlation() -> str:
    return str(uuid.uuid4())


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": _correlation(), "category": category, **extra}


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = error_body(error.message, error.category, **error.extra)
    extra = {"X-HubSpot-Correlation-Id": body["correlationId"], **(headers or {})}
    return JSONResponse(body, status_code=error.status, headers=extra)


def rate_limit_body(message: str, policy: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": _correlation(),
        "policyName": policy,
        "requestId": _correlation(),
    }


def render_fault(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The body of an injected fault, in HubSpot's shapes (for `FaultInjection`)."""
    if status == 429:
        body = rate_limit_body(*TEN_SECONDLY)
    else:
        message = {500: "internal error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        body = error_body(message.get(status, "error"), "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE")
    return body, {"X-HubSpot-Correlation-Id": body["correlationId"]}


def identity(request: Request, opts: dict[str, Any]) -> str | None:
    """A stable, non-secret identity for the request's bearer token, or None when it is not accepted."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    accepted = [SANDBOX_TOKEN, *(opts.get("tokens") or [])]
    if not any(hmac.compare_digest(token.encode(), a.encode()) for a in accepted):
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Limits:
    """The per-token windows of one emulator state (shared by every process through SQLite)."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.ten_secondly = SharedWindow(state, "ten_secondly")
        self.search = SharedWindow(state, "search_secondly")

    def check(self, who: str, opts: dict[str, Any], *, search: bool) -> tuple[Response | None, dict[str, str]]:
        """Count one request of `who` against the limits in `opts` (the state's options).

        Returns:
            (the 429 refusing it or None, the rate-limit headers its response carries).
        """
        limit = int(opts["ten_secondly_limit"])
        window = float(opts["ten_secondly_window"])
        daily_limit = int(opts["daily_limit"])
        allowed, _ = self.ten_secondly.hit(who, limit, window)
        with self.state.connect() as conn:
            daily = store.count_daily(conn, who, datetime.now(UTC).strftime("%Y-%m-%d"))
        headers = {
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, limit - self.ten_secondly.used(who, window))),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(window * 1000)),
            "X-HubSpot-RateLimit-Daily": str(daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, daily_limit - daily)),
        }
        if not allowed:
            return _too_many(TEN_SECONDLY, headers), headers
        if daily > daily_limit:
            return _too_many(DAILY, headers), headers
        if search:
            allowed, _ = self.search.hit(who, int(opts["search_per_second"]), float(opts["search_window"]))
            if not allowed:
                return _too_many(SECONDLY, {}), {}
            return None, {}
        return None, headers


def _too_many(policy: tuple[str, str], headers: dict[str, str]) -> JSONResponse:
    body = rate_limit_body(*policy)
    return JSONResponse(body, status_code=429, headers={**headers, "X-HubSpot-Correlation-Id": body["correlationId"]})
