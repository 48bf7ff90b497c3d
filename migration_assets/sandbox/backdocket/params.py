"""Strict query-string parsing and the opaque paging cursor of the BackDocket emulator.

All of it is our design (nothing public): `limit` from 1 to 200 (default 100), `cursor` as returned
in `next_cursor`, `updated_since` (ISO 8601, inclusive; offset-less is UTC). Unknown or repeated
parameters, a malformed value, or a cursor that was not issued for this resource and filter are
refused with 400. The cursor is base64url JSON of the last (updated_at, id) served plus the
resource and filter it belongs to, signed so that an edited cursor is refused, not misread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Collection
from dataclasses import dataclass

from starlette.requests import Request

from migration_assets.sandbox._documents import optional_utc_z
from migration_assets.sandbox.backdocket.render import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 200
LIST_PARAMS = frozenset({"limit", "cursor", "updated_since"})
_CURSOR_KEY = b"backdocket-sandbox-cursor-v1"  # signs cursors; not a credential


@dataclass(frozen=True)
class ListQuery:
    limit: int = DEFAULT_LIMIT
    updated_since: str | None = None  # normalised to UTC Z form
    after: tuple[str, str] | None = None  # keyset (updated_at, id) from the cursor


def bad(message: str, *, code: str = "invalid_request", param: str | None = None) -> ApiError:
    details = [{"param": param}] if param else []
    return ApiError(400, code, message, details)


def single(request: Request, allowed: Collection[str]) -> dict[str, str]:
    """The query parameters as a dict.

    Raises:
        ApiError: 400 for a parameter not in `allowed` or given twice.
    """
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise bad(f"Unknown query parameter '{name}'.", param=name)
        if name in params:
            raise bad(f"Query parameter '{name}' is given more than once.", param=name)
        params[name] = value
    return params


def timestamp(params: dict[str, str], name: str) -> str | None:
    raw = params.get(name)
    return optional_utc_z(raw, lambda: bad(f"'{name}' must be an ISO 8601 timestamp, got '{raw}'.", param=name))


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad(f"'limit' must be an integer from 1 to {MAX_LIMIT}, got '{raw}'.", param="limit")
    return int(raw)


def _sign(payload: bytes) -> str:
    return hmac.new(_CURSOR_KEY, payload, hashlib.sha256).hexdigest()[:16]


def encode_cursor(resource: str, updated_since: str | None, last: tuple[str, str]) -> str:
    """The `next_cursor` after a page whose last record had (updated_at, id) = `last`."""
    payload = json.dumps({"r": resource, "s": updated_since, "k": list(last)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(payload)


def decode_cursor(raw: str, resource: str, updated_since: str | None) -> tuple[str, str]:
    """The keyset of a cursor issued for `resource` with the same `updated_since`.

    Raises:
        ApiError: 400 `invalid_cursor` for anything else.
    """
    refused = bad("The cursor is not valid for this request.", code="invalid_cursor", param="cursor")
    encoded, _, signature = raw.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    if not hmac.compare_digest(signature, _sign(payload)) or not isinstance(data, dict):
        raise refused
    key = data.get("k")
    if data.get("r") != resource or data.get("s") != updated_since:
        raise refused
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise refused
    return key[0], key[1]


def parse_list(request: Request, resource: str) -> ListQuery:
    """The paging query of `GET /api/v1/<resource>`.

    Raises:
        ApiError: 400 for an unknown, repeated or malformed parameter or a foreign cursor.
    """
    params = single(request, LIST_PARAMS)
    since = timestamp(params, "updated_since")
    cursor = params.get("cursor")
    after = decode_cursor(cursor, resource, since) if cursor is not None else None
    return ListQuery(limit=_limit(params.get("limit")), updated_since=since, after=after)


def parse_since(request: Request) -> str:
    """The required `since` of `GET /api/v1/deleted`.

    Raises:
        ApiError: 400 when missing, malformed, or with any other parameter.
    """
    since = timestamp(single(request, {"since"}), "since")
    if since is None:
        raise bad("'since' is required.", param="since")
    return since


def parse_none(request: Request) -> None:
    """Endpoints that take no query parameters refuse any.

    Raises:
        ApiError: 400 for any parameter.
    """
    single(request, ())
