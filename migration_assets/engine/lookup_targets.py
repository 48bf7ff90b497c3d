"""Lookups with several possible target objects: polymorphic columns such as an activity's
`regardingobjectid` (an opportunity, else a contact, else a lead, else an account).

A lookup's `otherwise` lists further targets, each with its own value expression. Staging keeps the
external id each candidate names: the lookup's own column for its `object`, a hidden column
`_<column>__or<n>` per further target (hidden columns are never sent as fields). Loading, the diff
and reconciliation resolve a row the same way: the first candidate whose external id is in that
object's crosswalk (the destination holds it) is linked. A plain lookup is the one-candidate case,
so every consumer calls `resolve` for every lookup.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import duckdb

from migration_assets.spec.expressions import Compiled
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import LookupMap
from migration_assets.staging import ledger


def alternate_column(column: str, index: int) -> str:
    """The hidden staged column of the `index`-th further target of lookup `column`."""
    return f"_{column}__or{index}"


def candidates(lookup: LookupMap, column: str) -> list[tuple[str, str]]:
    """(target object, staged column) of every target of a lookup, in the order they are tried."""
    return [(lookup.object, column), *((t.object, alternate_column(column, i)) for i, t in enumerate(lookup.otherwise))]


def every_target(loaded: LoadedSpec, obj_name: str) -> Iterator[tuple[str, LookupMap, str, str]]:
    """(lookup column, lookup, target object, staged column) of every candidate of every lookup."""
    for column, lookup in loaded.spec.objects[obj_name].lookups.items():
        for target, staged in candidates(lookup, column):
            yield column, lookup, target, staged


def compiled_alternates(loaded: LoadedSpec, obj_name: str) -> dict[str, Compiled]:
    """Compiled expressions of the hidden columns of the object's further lookup targets."""
    out: dict[str, Compiled] = {}
    for column, lookup in loaded.spec.objects[obj_name].lookups.items():
        for i, target in enumerate(lookup.otherwise):
            out[alternate_column(column, i)] = loaded.compile(
                obj_name, f"lookups.{column}.otherwise[{i}].value", target.value
            )
    return out


def crosswalks(conn: duckdb.DuckDBPyConnection, loaded: LoadedSpec, obj_name: str) -> dict[str, dict[str, str]]:
    """{target object: {external id: destination id}} for every object the object's lookups name."""
    targets = {target for _c, _lk, target, _s in every_target(loaded, obj_name)}
    return {target: ledger.crosswalk(conn, target) for target in sorted(targets)}


@dataclass(frozen=True)
class Resolved:
    """How one row's lookup resolves: the linked object, its table and destination id (all None when
    nothing is linked), and every (object, external id) the row names, in order."""

    object: str | None
    table: str | None
    destination_id: str | None
    named: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """The named targets as text: `contact 12` or `opportunity 3, contact 12 or account 7`."""
        parts = [f"{obj} {ext}" for obj, ext in self.named]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def resolve(
    loaded: LoadedSpec,
    lookup: LookupMap,
    column: str,
    row: Mapping[str, object],
    walks: Mapping[str, Mapping[str, str]],
) -> Resolved:
    """The first candidate of `lookup` whose external id (in `row`) the destination holds.

    Args:
        loaded: the spec (target tables).
        lookup: the lookup.
        column: its column (the staged column of its own target).
        row: a staged row.
        walks: crosswalks of every target object (`crosswalks`).

    Returns:
        The Resolved link (destination_id None when no named target is in the destination).
    """
    named = []
    # a plain lookup (no `otherwise`, the common case) skips building the candidate list per row
    tried = candidates(lookup, column) if lookup.otherwise else ((lookup.object, column),)
    for target, staged in tried:
        value = row.get(staged)
        if value is None or str(value).strip() == "":
            continue
        named.append((target, str(value)))
        dest_id = walks.get(target, {}).get(str(value))
        if dest_id is not None:
            return Resolved(target, loaded.spec.objects[target].table, dest_id, tuple(named))
    return Resolved(None, None, None, tuple(named))
