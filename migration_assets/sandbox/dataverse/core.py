"""Request/response types and the error shape shared by every Dataverse emulator module.

Real: the error body `{"error":{"code":"0x...","message":"..."}}` (reference section 7).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migration_assets.sandbox.dataverse.model import Catalog
    from migration_assets.sandbox.dataverse.store import Options

API_PREFIX = "/api/data/v9.2"


class ODataError(Exception):
    """A refusal the emulator answers with `{"error":{"code","message"}}` and an HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def result(self) -> Result:
        return Result(self.status, {"error": {"code": self.code, "message": self.message}}, dict(self.headers))


@dataclass
class Call:
    """One data-API request, already split from HTTP (also built from `$batch` parts).

    Attributes:
        method: upper-case HTTP method.
        path: path below the API prefix, without leading slash ("accounts(…)").
        query: decoded query parameters.
        headers: header names in lower case.
        body: raw body bytes.
    """

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        if not self.body.strip():
            raise ODataError(400, "0x80048d19", "Request body is empty: a JSON payload is required.")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ODataError(400, "0x80048d19", f"Error identified in Payload provided by the user: {exc}") from None

    def prefers(self, token: str) -> bool:
        return token in self.headers.get("prefer", "")

    def prefer_value(self, name: str) -> str | None:
        for part in self.headers.get("prefer", "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == name:
                return value.strip().strip('"')
        return None


@dataclass
class Result:
    """An answer: a dict/list body is sent as JSON, str as text/plain, bytes as is."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str | None]:
        """The body bytes and their content type (None when there is no body)."""
        if self.body is None:
            return b"", None
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return json.dumps(self.body).encode(), "application/json; odata.metadata=minimal"


@dataclass
class Ctx:
    """What one request may use: its SQLite transaction, the table catalog and the options."""

    conn: sqlite3.Connection
    catalog: Catalog
    options: Options
    base_url: str  # host + API prefix, e.g. http://dataverse.sandbox/api/data/v9.2
    user_id: str  # systemuserid of the calling application user
    solution: str | None = None  # MSCRM.SolutionUniqueName of the request
    interleave: Callable[[], None] | None = None  # in a write: commit and let other writers go first

    def let_others_write(self) -> None:
        """Commit what ran so far and begin again after the writers waiting for the lock."""
        if self.interleave is not None:
            self.interleave()
        else:
            self.conn.execute("commit")
            self.conn.execute("begin immediate")

    def entity_url(self, entity_set: str, record_id: str) -> str:
        return f"{self.base_url}/{entity_set}({record_id})"


def not_found_segment(segment: str) -> ODataError:
    """Real 404 for an unknown (or mis-cased) path segment."""
    return ODataError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def unknown_property(name: str, type_name: str) -> ODataError:
    """Real 400 for an unknown `$select`/`$filter`/`$orderby` property."""
    return ODataError(
        400, "0x0", f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{type_name}'."
    )
