"""Salesforce error values: one exception type carrying the real error shape.

Non-collection calls answer with a JSON array `[{"message","errorCode","fields"}]`; sObject
Collections and Bulk results render the same error differently (`statusCode`, `CODE:message:fields`),
so handlers raise `SfError` and each surface formats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import JSONResponse


@dataclass
class SfError(Exception):
    """A rejection the real API would return.

    Attributes:
        code: the Salesforce errorCode / statusCode.
        message: the human message.
        fields: API names of the fields concerned (may be empty).
        status: HTTP status used when the error ends a whole request.
    """

    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    status: int = 400
    retry_after: int | None = None  # seconds, sent as Retry-After (throttling answers only)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def rest_body(self) -> list[dict]:
        """The error array of a non-collection REST response."""
        body: dict = {"message": self.message, "errorCode": self.code}
        if self.fields:
            body["fields"] = list(self.fields)
        return [body]

    def item_error(self) -> dict:
        """One per-item error of an sObject Collections result (uses `statusCode`)."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}

    def bulk_error(self) -> str:
        """The `sf__Error` cell of a Bulk API 2.0 failed-results row: `CODE:message:fields`."""
        return f"{self.code}:{self.message}:{','.join(self.fields) if self.fields else '--'}"

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return JSONResponse(self.rest_body(), status_code=self.status, headers=headers)


# Injected faults (FaultInjection) in the REST error shape. 500 UNKNOWN_EXCEPTION is the real code of
# an internal error; the others are our choice (Salesforce documents no code for them), 429 using the
# code of its other request limits.
FAULT_ERRORS = {
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests; retry after the Retry-After interval."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support."),
    502: ("BAD_GATEWAY", "The server received an invalid response from an upstream server."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
    504: ("REQUEST_RUNNING_TOO_LONG", "The request timed out at the gateway."),
}


def render_fault(status: int) -> tuple[list[dict], dict[str, str]]:
    """The body and headers of an injected fault (FaultInjection adds Retry-After to 429/503)."""
    code, message = FAULT_ERRORS.get(status, ("UNKNOWN_EXCEPTION", "The request failed."))
    return SfError(code, message, status=status).rest_body(), {}


def not_found() -> SfError:
    """The 404 the API returns for an unknown resource, object or record."""
    return SfError("NOT_FOUND", "The requested resource does not exist", status=404)


def method_not_allowed(method: str, allowed: str) -> SfError:
    """405 with the real body: "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD"."""
    return SfError("METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}", status=405)


def invalid_field(name: str, sobject: str) -> SfError:
    """INVALID_FIELD for a column that does not exist on `sobject`."""
    return SfError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
        "describe call for the appropriate names.",
        [name],
    )


def json_parser_error(detail: str) -> SfError:
    """JSON_PARSER_ERROR: the request body could not be read as the API expects."""
    return SfError("JSON_PARSER_ERROR", detail)
