"""The one error shape of the Freshsales API: `{"errors": {"code": <status>, "message": [...]}}`.

Real (reference section 11): the envelope, the status as an integer `code`, and messages such as
`Email is not unique`. The reference leaves the 401 body unconfirmed; we reuse the envelope for every
status (401, 403, 404, 405, 413, 429, 5xx), as the reference's emulator checklist suggests.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

FAULT_MESSAGES = {
    429: "Too many requests, please try again later",
    500: "Something went wrong. Please try again later",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


def envelope(status: int, messages: list[str]) -> dict:
    """The error body for `status` with `messages`."""
    return {"errors": {"code": status, "message": list(messages)}}


class FsError(Exception):
    """A rejection the real API would return, rendered in the errors envelope.

    Args:
        status: HTTP status.
        *messages: human messages (the `message` array).
        headers: extra response headers (Retry-After on 429).
    """

    def __init__(self, status: int, *messages: str, headers: Mapping[str, str] | None = None) -> None:
        self.status, self.messages, self.headers = status, list(messages), dict(headers or {})
        super().__init__(f"{status}: {'; '.join(messages)}")

    def body(self) -> dict:
        return envelope(self.status, self.messages)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid(*messages: str) -> FsError:
    """A 400 validation error."""
    return FsError(400, *messages)


def not_found(what: str = "Record") -> FsError:
    """The 404 of an unknown record or path."""
    return FsError(404, f"{what} not found")


def render_fault(status: int) -> tuple[dict, dict[str, str]]:
    """Body and headers of an injected fault (FaultInjection adds Retry-After on 429/503)."""
    return envelope(status, [FAULT_MESSAGES.get(status, "Error")]), {}
