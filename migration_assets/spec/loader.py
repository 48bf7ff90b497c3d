"""Load a mapping spec file: parse YAML, validate the model, then validate it against the source
catalog, the destination catalog and itself. A file is either fully valid or rejected with a
SpecError naming file, line, YAML path and problem.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from migration_assets.errors import SpecError, known_values
from migration_assets.spec.catalogs import destination_catalog, destination_implied_columns, source_catalog
from migration_assets.spec.expressions import CompileContext, Compiled, compile_expr, normalize_label
from migration_assets.spec.model import ObjectMap, PairSpec

# Fields an object with `explode:` sees in its expressions: the list element and its 0-based position.
EXPLODE_FIELDS = {"_item": "str", "_index": "int"}


def _line_index(text: str) -> dict[str, int]:
    """Map every YAML path ('objects.contact.fields.email') to its 1-based line."""
    index: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                index[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    root = yaml.compose(text)
    if root is not None:
        walk(root, "")
    return index


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with what the pipeline derives from it."""

    spec: PairSpec
    file: str
    content_hash: str
    load_order: tuple[str, ...]
    lines: Mapping[str, int]
    variant: str | None = None  # the applied variant (None: the base spec)

    @property
    def pair(self) -> str:
        return self.spec.pair

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return None

    @cached_property
    def source_catalog(self):
        return source_catalog(self.spec.source)

    def context(self, obj_name: str, suffix: str) -> CompileContext:
        obj = self.spec.objects[obj_name]
        ctx = self.source_context(obj.source, f"objects.{obj_name}.{suffix}")
        if obj.explode is not None and suffix != "explode":
            # an exploded object's expressions also see the list element and its position
            ctx.source_fields = {**ctx.source_fields, **EXPLODE_FIELDS}
        for alias, join in obj.join.items():  # joined fields are '<alias>.<field>'
            if join.source in self.source_catalog:
                fields = self.source_catalog[join.source].fields
                ctx.source_fields = {**ctx.source_fields, **{f"{alias}.{f.name}": f.type for f in fields}}
        return ctx

    def source_context(self, source_object: str, path: str) -> CompileContext:
        source = self.source_catalog[source_object]
        return CompileContext(
            file=self.file,
            path=path,
            source_object=source_object,
            source_fields={f.name: f.type for f in source.fields},
            value_maps=self.spec.value_maps,
            line_of=self.line_of,
        )

    def compile(self, obj_name: str, suffix: str, node: Any) -> Compiled:
        return compile_expr(node, self.context(obj_name, suffix))

    def with_variant(self, name: str | None) -> LoadedSpec:
        """This spec with variant `name`'s overrides merged in and validated (None: unchanged)."""
        return self if name is None or name == self.variant else _variant(self, name)

    def pick_variant(self, facts: Mapping[str, Any]) -> str | None:
        """The first variant whose `when` facts all equal the destination's facts."""
        for name, variant in self.spec.variants.items():
            if all(facts.get(k) == v for k, v in variant.when.items()):
                return name
        return None


def spec_hash(spec: PairSpec) -> str:
    """A stable hash of the spec's meaning: comments and formatting do not change it."""
    canonical = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_spec(path: Path | str) -> LoadedSpec:
    """Load and fully validate one spec file.

    Raises:
        SpecError: the first problem found, with file, line and YAML path.
    """
    path = Path(path)
    file = path.name
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
        lines = _line_index(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError(file, "", f"invalid YAML: {exc}", mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise SpecError(file, "", "a spec must be a YAML mapping")
    try:
        spec = PairSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise SpecError(file, loc, err["msg"], lines.get(loc) or lines.get(loc.rsplit(".", 1)[0])) from None
    if path.stem != spec.pair:
        raise SpecError(file, "pair", f"pair {spec.pair!r} must match the file name {path.stem!r}", lines.get("pair"))
    loaded = LoadedSpec(spec, file, spec_hash(spec), (), lines)
    order = validate(loaded)
    loaded = LoadedSpec(spec, file, loaded.content_hash, order, lines)
    for name in spec.variants:
        loaded.with_variant(name)  # every variant must be valid on its own
    return loaded


def _merge(base: Any, over: Any) -> Any:
    """Key-by-key merge of a variant's overrides; a null override removes the key."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
        return {k: v for k, v in merged.items() if not (k in over and over[k] is None)}
    return over


_VARIANTS: dict[tuple[str, str], LoadedSpec] = {}


def _variant(loaded: LoadedSpec, name: str) -> LoadedSpec:
    """Merge a variant's overrides (objects, schema, value maps) key by key and re-validate."""
    cache_key = (loaded.content_hash, name)
    if cache_key in _VARIANTS:
        return _VARIANTS[cache_key]
    if name not in loaded.spec.variants:
        raise _fail(loaded, "variants", f"unknown variant {name!r} {known_values(loaded.spec.variants)}")
    variant = loaded.spec.variants[name]
    raw = loaded.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    raw["objects"] = _merge(raw["objects"], variant.objects)
    raw["schema"] = _merge(raw.get("schema", {}), variant.schema_)
    raw["value_maps"] = _merge(raw.get("value_maps", {}), variant.value_maps)
    try:
        spec = PairSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise _fail(loaded, f"variants.{name}", f"{loc}: {err['msg']}") from None
    merged = LoadedSpec(spec, loaded.file, loaded.content_hash, (), loaded.lines, name)
    order = validate(merged)
    if set(order) != set(loaded.load_order) or _graph(merged) != _graph(loaded):
        raise _fail(loaded, f"variants.{name}", "a variant may not add objects or change which objects link")
    _VARIANTS[cache_key] = LoadedSpec(spec, loaded.file, loaded.content_hash, loaded.load_order, loaded.lines, name)
    return _VARIANTS[cache_key]


def load_all(spec_dir: Path) -> list[LoadedSpec]:
    """Every spec file (`<source>__<destination>.yaml`) of `spec_dir`."""
    return [load_spec(p) for p in sorted(Path(spec_dir).glob("*__*.yaml"))]


# -- semantic validation ------------------------------------------------------------------------
def _fail(loaded: LoadedSpec, path: str, problem: str) -> SpecError:
    return SpecError(loaded.file, path, problem, loaded.line_of(path))


def validate(loaded: LoadedSpec) -> tuple[str, ...]:
    """Check the spec against catalogs and itself; return the load order."""
    spec = loaded.spec
    try:
        src_catalog = source_catalog(spec.source)
    except KeyError as exc:
        raise _fail(loaded, "source", str(exc.args[0])) from None
    try:
        dst_catalog = destination_catalog(spec.destination)
    except KeyError as exc:
        raise _fail(loaded, "destination", str(exc.args[0])) from None
    for name, obj in spec.objects.items():
        if "__" in name or "/" in name:
            raise _fail(loaded, f"objects.{name}", "object names may not contain '__' or '/'")
        _require_source(loaded, f"objects.{name}.source", obj.source)
        _validate_object(loaded, name, obj, dst_catalog)
    _validate_value_maps(loaded, src_catalog)
    _validate_users(loaded)
    for name, export in spec.exports.items():
        _require_source(loaded, f"exports.{name}.source", export.source)
    if spec.options.sample.anchor not in spec.objects:
        raise _fail(
            loaded,
            "options.sample.anchor",
            f"unknown object {spec.options.sample.anchor!r} {known_values(spec.objects)}",
        )
    return _load_order(loaded)


def _columns_of(loaded: LoadedSpec, table: str, dst_catalog: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    columns = dict(dst_catalog.get(table, {}))
    extra = loaded.spec.schema_.get(table)
    if extra and extra.custom:  # the columns the destination adds to every new (activity) table
        implied = destination_implied_columns(loaded.spec.destination, activity=extra.activity)
        columns.update({k: v for k, v in implied.items() if k not in columns})
    if extra:
        columns.update({name: col.type for name, col in extra.columns.items()})
    return columns


def _validate_object(loaded: LoadedSpec, name: str, obj: ObjectMap, dst_catalog) -> None:
    spec = loaded.spec
    table_custom = spec.schema_.get(obj.table, None)
    if obj.table not in dst_catalog and not (table_custom and table_custom.custom):
        raise _fail(
            loaded,
            f"objects.{name}.table",
            f"unknown destination table {obj.table!r} of {spec.destination}; declare it under "
            f"schema.{obj.table} with custom: true {known_values(dst_catalog)}",
        )
    columns = _columns_of(loaded, obj.table, dst_catalog)

    def check_column(column: str, path: str, lookup: bool = False) -> None:
        if column not in columns:
            raise _fail(
                loaded,
                path,
                f"unknown destination column {column!r} of {obj.table}; declare it under "
                f"schema.{obj.table}.columns {known_values(columns)}",
            )
        if lookup and columns[column] != "lookup":
            raise _fail(loaded, path, f"column {column!r} of {obj.table} is a {columns[column]}, not a lookup")

    if obj.explode is not None:
        loaded.compile(name, "explode", obj.explode)
    check_column(obj.external_id.column, f"objects.{name}.external_id.column")
    loaded.compile(name, "external_id.value", obj.external_id.value)
    for column, node in obj.fields.items():
        check_column(column, f"objects.{name}.fields.{column}")
        loaded.compile(name, f"fields.{column}", node)
    for column, lookup in obj.lookups.items():
        check_column(column, f"objects.{name}.lookups.{column}", lookup=True)
        if lookup.object not in spec.objects:
            raise _fail(
                loaded,
                f"objects.{name}.lookups.{column}.object",
                f"unknown object {lookup.object!r} {known_values(spec.objects)}",
            )
        loaded.compile(name, f"lookups.{column}.value", lookup.value)
    for alias, join in obj.join.items():
        _require_source(loaded, f"objects.{name}.join.{alias}.source", join.source)
        loaded.compile(name, f"join.{alias}.by", join.by)
    for column, owner in obj.owners.items():
        check_column(column, f"objects.{name}.owners.{column}", lookup=True)
        loaded.compile(name, f"owners.{column}.value", owner.value)
        if owner.text_column:
            check_column(owner.text_column, f"objects.{name}.owners.{column}.text_column")
    if obj.owners and spec.users is None:
        raise _fail(loaded, f"objects.{name}.owners", "owners need a top-level `users:` section (how people match)")
    if obj.custom_fields and loaded.source_catalog[obj.source].field(obj.custom_fields.source_field) is None:
        raise _fail(
            loaded,
            f"objects.{name}.custom_fields.source_field",
            f"unknown field {obj.custom_fields.source_field!r} of source object {obj.source}",
        )
    for i, rule in enumerate(obj.exclude):
        loaded.compile(name, f"exclude[{i}].when", rule.when)
    if obj.file is not None:
        _validate_file(loaded, name, obj)
    if obj.dedupe:
        loaded.compile(name, "dedupe.by", obj.dedupe.by)
    for i, column in enumerate(obj.required):
        if column not in obj.fields and column not in obj.lookups:
            raise _fail(
                loaded,
                f"objects.{name}.required[{i}]",
                f"required column {column!r} is not mapped {known_values([*obj.fields, *obj.lookups])}",
            )


def _validate_file(loaded: LoadedSpec, name: str, obj: ObjectMap) -> None:
    """A file object: its FileSpec expressions compile against the source object, and it maps no
    `fields:` of its own (the destination record is made by the upload, one per source row)."""
    assert obj.file is not None
    for part in ("name", "folder", "size", "content_type"):
        node = getattr(obj.file, part)
        if node is not None:
            loaded.compile(name, f"file.{part}", node)
    if obj.fields:
        raise _fail(
            loaded,
            f"objects.{name}.fields",
            "a file object has no `fields:`; its name, folder, size and content type go under `file:`",
        )
    if obj.collapse or obj.explode is not None:
        raise _fail(loaded, f"objects.{name}.kind", "a file object cannot collapse or explode rows (one file per row)")


def _require_source(loaded: LoadedSpec, path: str, source_object: str) -> None:
    catalog = loaded.source_catalog
    if source_object not in catalog:
        raise _fail(
            loaded,
            path,
            f"unknown source object {source_object!r} of {loaded.spec.source} {known_values(catalog)}",
        )


def _validate_users(loaded: LoadedSpec) -> None:
    users = loaded.spec.users
    if users is None:
        return
    _require_source(loaded, "users.source", users.source)
    compile_expr(users.email, loaded.source_context(users.source, "users.email"))
    compile_expr(users.name, loaded.source_context(users.source, "users.name"))
    if loaded.spec.options.fallback_owner is None:
        raise _fail(loaded, "options", "owners fall back to `options.fallback_owner`; set it (a destination user)")


def _graph(loaded: LoadedSpec) -> dict[str, set[str]]:
    return {
        name: {lk.object for lk in obj.lookups.values() if not lk.deferred and lk.object != name}
        for name, obj in loaded.spec.objects.items()
    }


def _validate_value_maps(loaded: LoadedSpec, src_catalog) -> None:
    """Every label the source declares for a value-mapped field must have an entry."""
    spec = loaded.spec
    for name, obj in spec.objects.items():
        source = src_catalog[obj.source]
        for column, node in obj.fields.items():
            if not (isinstance(node, dict) and node.get("op") == "value_map" and isinstance(node.get("of"), str)):
                continue
            vmap = spec.value_maps.get(node["map"])
            declared = source.field(node["of"]).values if source.field(node["of"]) else ()
            if vmap is None or not declared:
                continue
            have = {normalize_label(k) if vmap.normalize else k for k in vmap.values}
            for label in declared:
                key = normalize_label(label) if vmap.normalize else label
                if key not in have and vmap.default is None:
                    raise _fail(
                        loaded,
                        f"value_maps.{node['map']}.values",
                        f"value map {node['map']!r} has no entry for {label!r}, which the source declares "
                        f"for {obj.source}.{node['of']} (used by objects.{name}.fields.{column})",
                    )


def _load_order(loaded: LoadedSpec) -> tuple[str, ...]:
    graph = _graph(loaded)
    try:
        return tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise _fail(
            loaded,
            "objects",
            f"lookup cycle {cycle} with no patch pass: mark one of its lookups `deferred: true`",
        ) from None
