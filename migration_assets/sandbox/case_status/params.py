"""Strict query-string parsing for the Case Status emulator.

Real: `page[number]` counts from 1, `size` defaults to 10 (the Airbyte connector pages messages and
files by 10 without sending a size, and cases with `size=100`). Invented: `size` above 100 is
refused, every unknown or repeated parameter is refused with 400, and the filters `updated_since`
(ISO 8601, inclusive) and `case_id` exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.requests import Request

from migration_assets.sandbox._documents import optional_utc_z

DEFAULT_SIZE = 10
MAX_SIZE = 100
PAGING = frozenset({"page[number]", "size"})


class BadRequest(Exception):
    """A query the API refuses with 400; the message is the response's `detail`."""


@dataclass(frozen=True)
class ListQuery:
    number: int = 1
    size: int = DEFAULT_SIZE
    updated_since: str | None = None  # normalised to UTC Z form
    case_id: str | None = None
    since: str | None = None  # the deleted listing's required parameter


def _single(request: Request, allowed: Collection[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise BadRequest(f"Unknown query parameter: {name}")
        if name in params:
            raise BadRequest(f"Query parameter given more than once: {name}")
        params[name] = value
    return params


def _int(params: dict[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be {bound}, got {value}")
    return value


def _timestamp(params: dict[str, str], name: str) -> str | None:
    raw = params.get(name)
    return optional_utc_z(raw, lambda: BadRequest(f"{name} must be an ISO 8601 timestamp, got {raw!r}"))


def parse(request: Request, *, filters: Collection[str] = (), paging: bool = True) -> ListQuery:
    """Validate the query string against what the endpoint accepts.

    Args:
        request: the incoming request.
        filters: accepted filter names besides paging ("updated_since", "case_id", "since").
        paging: whether `page[number]` and `size` are accepted.

    Returns:
        The parsed query.

    Raises:
        BadRequest: an unknown, repeated or malformed parameter, or `size` above 100.
    """
    params = _single(request, (PAGING if paging else frozenset()) | set(filters))
    case_id = params.get("case_id")
    if case_id is not None and not case_id.isdigit():
        raise BadRequest(f"case_id must be an integer, got {case_id!r}")
    return ListQuery(
        number=_int(params, "page[number]", 1, 1),
        size=_int(params, "size", DEFAULT_SIZE, 1, MAX_SIZE),
        updated_since=_timestamp(params, "updated_since"),
        case_id=case_id,
        since=_timestamp(params, "since"),
    )
