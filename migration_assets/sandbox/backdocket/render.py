"""The BackDocket emulator's error answers: `{"error": {"code", "message", "details": []}}`.

One shape for every refusal of the data API (the reference's design; BackDocket publishes no REST
API). The token endpoint is the exception: it answers in the OAuth 2.0 form of RFC 6749 section 5.2
(`{"error": "invalid_client", "error_description": ...}`), as an OAuth server does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse

# status -> (code, message) of answers that carry no more specific reason (also the faults' bodies)
GENERIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is not valid."),
    401: ("unauthorized", "A valid bearer token is required."),
    404: ("not_found", "The requested resource does not exist."),
    405: ("method_not_allowed", "The method is not allowed on this resource."),
    409: ("not_available", "The resource is not available."),
    429: ("rate_limited", "Too many requests; retry after the number of seconds in Retry-After."),
    500: ("internal_error", "An unexpected error occurred."),
    502: ("bad_gateway", "The upstream service answered with an error."),
    503: ("service_unavailable", "The service is temporarily unavailable."),
    504: ("gateway_timeout", "The upstream service did not answer in time."),
}


class ApiError(Exception):
    """A refusal to answer with the error shape; raised anywhere below a route handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = list(details), dict(headers or {})


def body(code: str, message: str, details: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": [dict(d) for d in details]}}


def response(exc: ApiError) -> JSONResponse:
    """The JSON response of an ApiError (401s also carry `WWW-Authenticate: Bearer`)."""
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
    return JSONResponse(body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)


def generic(status: int, message: str | None = None) -> ApiError:
    code, default = GENERIC.get(status, ("error", "The request failed."))
    return ApiError(status, code, message or default)


def fault(status: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of an injected fault (FaultInjection adds Retry-After to 429/503)."""
    code, message = GENERIC.get(status, ("error", "The request failed."))
    return body(code, message), {}


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """An RFC 6749 error answer of the token endpoint."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="backdocket"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)
