"""Validation of the spec sections that route, flag and type rows: `routes`, object `flags`, a file's
`content`, and a custom-field `inventory` (called by `loader.validate`).

Routes: every member is an object of the spec, in one route only, and the members of a route
share their source object; each rule compiles in the context of every member (explode and joins),
so the rows a member keeps are decided the same way whichever member is staged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_assets.errors import SpecError, known_values
from migration_assets.spec.expressions import compile_expr
from migration_assets.spec.model import ObjectMap

if TYPE_CHECKING:
    from migration_assets.spec.loader import LoadedSpec


def _fail(loaded: LoadedSpec, path: str, problem: str) -> SpecError:
    return SpecError(loaded.file, path, problem, loaded.line_of(path))


def _source(loaded: LoadedSpec, path: str, source_object: str) -> None:
    if source_object not in loaded.source_catalog:
        raise _fail(
            loaded,
            path,
            f"unknown source object {source_object!r} of {loaded.spec.source} {known_values(loaded.source_catalog)}",
        )


def validate_object(loaded: LoadedSpec, name: str, obj: ObjectMap) -> None:
    """Flags compile; a file's content source exists and its id compiles; an inventory's source exists.

    Raises:
        SpecError: naming the key and its line.
    """
    for flag, spec in obj.flags.items():
        loaded.compile(name, f"flags.{flag}.when", spec.when)
        if spec.show is not None:
            loaded.compile(name, f"flags.{flag}.show", spec.show)
    inventory = obj.custom_fields.inventory if obj.custom_fields else None
    if inventory is not None:
        _source(loaded, f"objects.{name}.custom_fields.inventory.source", inventory.source)


def validate_routes(loaded: LoadedSpec) -> None:
    """Every route's members exist, belong to it alone, share a source, and compile its rules.

    Raises:
        SpecError: naming the route key and its line.
    """
    spec = loaded.spec
    owner: dict[str, str] = {}
    for name, route in spec.routes.items():
        members = route.members
        for i, member in enumerate(members):
            path = f"routes.{name}.rules[{i}].object" if i < len(route.rules) else f"routes.{name}.otherwise"
            if member not in spec.objects:
                raise _fail(loaded, path, f"unknown object {member!r} {known_values(spec.objects)}")
            if member in owner:
                raise _fail(loaded, path, f"object {member!r} is routed by route {owner[member]!r} already")
            owner[member] = name
        sources = sorted({spec.objects[m].source for m in members})
        if len(sources) != 1:
            raise _fail(loaded, f"routes.{name}", f"the objects of a route share one source, not {sources}")
        for i, rule in enumerate(route.rules):
            for member in members:
                ctx = loaded.context(member, "route")
                ctx.path = f"routes.{name}.rules[{i}].when"
                compile_expr(rule.when, ctx)
