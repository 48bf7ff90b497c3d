"""Query-string parsing of the Interactive emulator's GET endpoints.

Real: `limit`, `after`, `properties` and `associations` (comma lists, or the parameter repeated),
`archived` (true/false, default false); unknown query parameters are ignored, as HubSpot's API
does; an unknown object type in `associations` is refused with "Unable to infer object type from:
<name>". Ours (unconfirmed): a `limit` above the endpoint's maximum, a non-numeric `after` and an
`archived` other than true/false are refused with 400 VALIDATION_ERROR instead of being clamped.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from migration_assets.sandbox.interactive.guard import ApiError
from migration_assets.sandbox.interactive.objects import ObjectType, resolve


@dataclass(frozen=True)
class ListQuery:
    limit: int
    after: int
    archived: bool
    properties: list[str] | None  # None: the type's default properties
    associations: list[ObjectType]


def _values(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.getlist(name)
    if not raw:
        return None
    return [v.strip() for item in raw for v in item.split(",") if v.strip()]


def integer(raw: str | None, name: str, default: int, high: int) -> int:
    """A bounded positive integer parameter.

    Raises:
        ApiError: 400 when it is not an integer between 1 (0 for `after`) and `high`.
    """
    if raw is None or raw == "":
        return default
    low = 0 if name == "after" else 1
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}, got {value}")
    return value


def archived_flag(request: Request) -> bool:
    raw = request.query_params.get("archived", "false").lower()
    if raw not in ("true", "false"):
        raise ApiError(400, f"archived must be true or false, got {raw!r}")
    return raw == "true"


def object_type(name: str) -> ObjectType:
    """The type a path or parameter names.

    Raises:
        ApiError: 400 "Unable to infer object type from: <name>" (HubSpot's message).
    """
    found = resolve(name)
    if found is None:
        raise ApiError(400, f"Unable to infer object type from: {name}")
    return found


def list_query(request: Request, *, max_limit: int = 100, default_limit: int = 10) -> ListQuery:
    """Parse a list or get-by-id query.

    Raises:
        ApiError: 400 for a bad `limit`, `after`, `archived` or association type.
    """
    return ListQuery(
        limit=integer(request.query_params.get("limit"), "limit", default_limit, max_limit),
        after=integer(request.query_params.get("after"), "after", 0, 2**62),
        archived=archived_flag(request),
        properties=_values(request, "properties"),
        associations=[object_type(n) for n in _values(request, "associations") or []],
    )
