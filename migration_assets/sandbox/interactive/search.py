"""`POST /crm/v3/objects/{type}/search` of the Interactive emulator: body validation and SQL.

Real (HubSpot "Search the CRM" docs): `filterGroups` (ORed) of `filters` (ANDed) with
`propertyName`, `operator` (EQ, NEQ, LT, LTE, GT, GTE, BETWEEN with `highValue`, IN/NOT_IN with
`values`, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN) and `value`; at most
5 groups, 6 filters per group and 18 filters in all; one sort (`{"propertyName", "direction":
"ASCENDING"|"DESCENDING"}` or the string form `"-name"`); `limit` at most 200 (default 10) and an
offset `after`; datetime values as epoch milliseconds or ISO 8601; archived records never match;
the response is `{"total", "results", "paging"?}` and results carry no associations; at most 10,000
results can be paged through (`after` at or beyond it is refused with 400).

Ours (unconfirmed): the 400 messages (an unknown property, an unknown body field, the paging cap),
cutting the last page at the cap (option `search_cap` lowers the cap for tests), tie-breaking
equal sort values by id, the default order (by id) and the free-text `query` matching a substring
of the type's default text properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migration_assets.sandbox.interactive.guard import ApiError
from migration_assets.sandbox.interactive.objects import ObjectType, Prop
from migration_assets.sandbox.interactive.store import stamp

MAX_LIMIT = 200
MAX_GROUPS, MAX_PER_GROUP, MAX_FILTERS = 5, 6, 18
BODY_FIELDS = frozenset({"filterGroups", "sorts", "query", "properties", "limit", "after"})
FILTER_FIELDS = frozenset({"propertyName", "operator", "value", "values", "highValue"})
COMPARE = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
OPERATORS = frozenset(
    {*COMPARE, "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
)


@dataclass
class SearchQuery:
    """A validated search: a WHERE clause over `objects`, its order and the page wanted."""

    where: str
    args: list[Any] = field(default_factory=list)
    order: str = "id"
    order_args: list[Any] = field(default_factory=list)
    limit: int = 10
    after: int = 0
    properties: list[str] | None = None


def _column(otype: ObjectType, prop: Prop) -> tuple[str, list[Any], str]:
    """(SQL expression, its arguments, value kind) of a property."""
    if prop.name == otype.modified:
        return "updated_at", [], "datetime"
    if prop.name == otype.created:
        return "created_at", [], "datetime"
    if prop.name == "hs_object_id":
        return "id", [], "integer"
    kind = {"datetime": "datetime", "number": "number"}.get(prop.type, "text")
    expr = "json_extract(props, ?)"
    if kind == "number":
        expr = f"cast({expr} as real)"
    return expr, [f'$."{prop.name}"'], kind


def _value(raw: Any, kind: str, name: str) -> Any:
    try:
        if kind == "datetime":
            return stamp(raw)
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except (TypeError, ValueError):
        raise ApiError(400, f"{raw!r} is not a valid value for property {name}") from None
    return str(raw)


def _prop(otype: ObjectType, name: Any) -> Prop:
    prop = otype.by_name.get(name) if isinstance(name, str) else None
    if prop is None:
        raise ApiError(400, f"Property {name!r} does not exist on object type {otype.type_id} ({otype.name})")
    return prop


def _filter(otype: ObjectType, spec: Any) -> tuple[str, list[Any]]:
    if not isinstance(spec, dict) or set(spec) - FILTER_FIELDS:
        raise ApiError(400, f"Invalid filter: {spec!r}")
    prop, operator = _prop(otype, spec.get("propertyName")), spec.get("operator")
    if operator not in OPERATORS:
        raise ApiError(400, f"Unknown filter operator {operator!r} (known: {', '.join(sorted(OPERATORS))})")
    expr, args, kind = _column(otype, prop)
    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return f"{expr} is {'not ' if operator == 'HAS_PROPERTY' else ''}null", args
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise ApiError(400, f"Operator {operator} needs a non-empty 'values' list")
        marks = ",".join("?" * len(values))
        negate = "not " if operator == "NOT_IN" else ""
        return f"{expr} {negate}in ({marks})", [*args, *(_value(v, kind, prop.name) for v in values)]
    if "value" not in spec:
        raise ApiError(400, f"Operator {operator} needs a 'value'")
    value = _value(spec["value"], kind, prop.name)
    if operator == "BETWEEN":
        if "highValue" not in spec:
            raise ApiError(400, "Operator BETWEEN needs a 'highValue'")
        return f"{expr} between ? and ?", [*args, value, *args, _value(spec["highValue"], kind, prop.name)]
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec["value"]).replace("*", "").lower()
        negate = "not " if operator.startswith("NOT") else ""
        return f"lower({expr}) {negate}like ?", [*args, f"%{token}%"]
    return f"{expr} {COMPARE[operator]} ?", [*args, value]


def _where(otype: ObjectType, groups: Any) -> tuple[str, list[Any]]:
    if groups is None or groups == []:
        return "1", []
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise ApiError(400, f"filterGroups must be a list of at most {MAX_GROUPS} groups")
    clauses, args, total = [], [], 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not filters or len(filters) > MAX_PER_GROUP:
            raise ApiError(400, f"each filter group needs 1 to {MAX_PER_GROUP} filters")
        total += len(filters)
        parts = [_filter(otype, f) for f in filters]
        clauses.append("(" + " and ".join(p for p, _ in parts) + ")")
        args += [a for _, part_args in parts for a in part_args]
    if total > MAX_FILTERS:
        raise ApiError(400, f"a search may have at most {MAX_FILTERS} filters, got {total}")
    return "(" + " or ".join(clauses) + ")", args


def _order(otype: ObjectType, sorts: Any) -> tuple[str, list[Any]]:
    if not sorts:
        return "id", []
    if not isinstance(sorts, list) or len(sorts) > 1:
        raise ApiError(400, "Only one sort is allowed")
    spec = sorts[0]
    if isinstance(spec, str):
        spec = {"propertyName": spec.lstrip("-"), "direction": "DESCENDING" if spec.startswith("-") else "ASCENDING"}
    direction = spec.get("direction", "ASCENDING") if isinstance(spec, dict) else None
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ApiError(400, f"Invalid sort: {sorts[0]!r}")
    expr, args, _ = _column(otype, _prop(otype, spec.get("propertyName")))
    return f"{expr} {'asc' if direction == 'ASCENDING' else 'desc'}, id", args


def _page(body: dict[str, Any], cap: int) -> tuple[int, int]:
    limit, after = body.get("limit", 10), body.get("after", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_LIMIT}, got {limit!r}")
    if isinstance(after, str) and after.isdigit():
        after = int(after)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ApiError(400, f"after must be a non-negative integer offset, got {after!r}")
    if after >= cap:
        raise ApiError(400, f"The search can page through at most {cap} results; got after={after}")
    return min(limit, cap - after), after


def _free_text(otype: ObjectType, query: Any) -> tuple[str, list[Any]]:
    if query in (None, ""):
        return "1", []
    if not isinstance(query, str):
        raise ApiError(400, f"query must be a string, got {query!r}")
    texts = [p for p in otype.defaults if otype.by_name[p].type == "string"] or ["hs_object_id"]
    clause = " or ".join("lower(json_extract(props, ?)) like ?" for _ in texts)
    args = [a for name in texts for a in (f'$."{name}"', f"%{query.lower()}%")]
    return f"({clause})", args


def parse(otype: ObjectType, body: Any, *, cap: int) -> SearchQuery:
    """Validate a search body.

    Args:
        otype: the searched type.
        body: the decoded JSON body.
        cap: how many results can be paged through (10,000 on HubSpot).

    Raises:
        ApiError: 400 for anything HubSpot refuses (module docstring).
    """
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid input JSON: expected an object")
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise ApiError(400, f"Invalid input JSON: Unrecognized field {unknown[0]!r}")
    where, args = _where(otype, body.get("filterGroups"))
    text, text_args = _free_text(otype, body.get("query"))
    order, order_args = _order(otype, body.get("sorts"))
    limit, after = _page(body, cap)
    props = body.get("properties")
    if props is not None and (not isinstance(props, list) or not all(isinstance(p, str) for p in props)):
        raise ApiError(400, "properties must be a list of property names")
    return SearchQuery(
        where=f"{where} and {text}",
        args=[*args, *text_args],
        order=order,
        order_args=order_args,
        limit=limit,
        after=after,
        properties=props,
    )
