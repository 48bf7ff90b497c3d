"""1:many routing: one source object split over several destination objects by the spec's rules.

A route (`routes:` of the spec) sends each source row to the object of its first rule whose
`when` holds, else to its `otherwise` object. Staging and sampling keep, for a routed object, only
the rows its route sends it (`routed_rows`), so the members partition the source: each member's
own counts add up (source = loaded + quarantined + excluded) and the route's summary adds the
members up to the source (`route_summary`). Members may share a destination table (e.g. tasks
regarding a matter or a contact): `shared_table_records` tells the reconciliation how many of a
table's records belong to the other objects writing it.

Example:
    routes:
      claims:
        rules: [{object: opportunity, when: {op: all, args: [...revenue rule...]}}]
        otherwise: claim
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import polars as pl

from migration_assets.spec.expressions import compile_expr
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import Route
from migration_assets.staging import ledger

TARGET = "_route_target"


def route_of(loaded: LoadedSpec, obj_name: str) -> tuple[str, Route] | None:
    """(route name, route) of a routed object, None for an object no route splits."""
    for name, route in loaded.spec.routes.items():
        if obj_name in route.members:
            return name, route
    return None


def target_expr(loaded: LoadedSpec, obj_name: str, name: str, route: Route) -> pl.Expr:
    """Per row: the member object the route sends it to, compiled in `obj_name`'s context."""
    expr = None
    for i, rule in enumerate(route.rules):
        ctx = loaded.context(obj_name, "route")
        ctx.path = f"routes.{name}.rules[{i}].when"
        when = compile_expr(rule.when, ctx).expr.fill_null(False)
        expr = pl.when(when).then(pl.lit(rule.object)) if expr is None else expr.when(when).then(pl.lit(rule.object))
    assert expr is not None  # a route has at least one rule (model)
    return expr.otherwise(pl.lit(route.otherwise))


def routed_rows(loaded: LoadedSpec, obj_name: str, raw: pl.DataFrame) -> pl.DataFrame:
    """The rows of `raw` (exploded and joined as for staging) that the object's route sends to it;
    every row for an object no route splits."""
    found = route_of(loaded, obj_name)
    if found is None or raw.height == 0:
        return raw
    name, route = found
    return raw.filter(target_expr(loaded, obj_name, name, route) == obj_name)


def sharing(loaded: LoadedSpec, obj_name: str) -> list[str]:
    """Other objects of the spec writing the same destination table under the same key column."""
    obj = loaded.spec.objects[obj_name]
    return [
        name
        for name, other in loaded.spec.objects.items()
        if name != obj_name and other.table == obj.table and other.external_id.column == obj.external_id.column
    ]


def shared_table_records(loaded: LoadedSpec, obj_name: str, conn: duckdb.DuckDBPyConnection) -> int:
    """Records of the object's table the ledger says the other objects sharing it hold now."""
    return sum(len(ledger.crosswalk(conn, other)) for other in sharing(loaded, obj_name))


def route_summary(loaded: LoadedSpec, obj_name: str, fates: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """How the object's route split its source over its members, from each member's fates counted
    ({loaded | quarantined | excluded: records}); {} for an object no route splits.

    Returns:
        {"route", "rules", "otherwise", "source", "members": {member: {source, loaded, quarantined, excluded}}}
        where source is the members' sources added up.
    """
    found = route_of(loaded, obj_name)
    if found is None:
        return {}
    name, route = found
    members = {}
    for member in route.members:
        tally = fates.get(member, {})
        counts = {k: tally.get(k, 0) for k in ("loaded", "quarantined", "excluded")}
        members[member] = {"source": sum(tally.values()), **counts}
    return {
        "route": name,
        "rules": [{"object": r.object, "when": r.when} for r in route.rules],
        "otherwise": route.otherwise,
        "source": sum(m["source"] for m in members.values()),
        "members": members,
    }
