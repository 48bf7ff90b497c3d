"""Load a mapping spec file: read it within bounds (UTF-8 text of at most 5 MB; YAML at most 64
levels deep and 100,000 nodes with aliases expanded; no duplicate keys), validate the model, then
validate it against the source catalog, the destination catalog and itself. A file is either fully
valid or rejected with a SpecError naming file, line, YAML path and problem; no other exception
escapes `load_spec`, whatever the file holds.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import ConstructorError

from migration_assets.errors import SpecError, known_values
from migration_assets.spec import corrections, extensions
from migration_assets.spec.catalogs import destination_catalog, destination_implied_columns, source_catalog
from migration_assets.spec.corrections import Correction
from migration_assets.spec.expressions import CompileContext, Compiled, compile_expr, normalize_label
from migration_assets.spec.model import LookupMap, ObjectMap, PairSpec

# Fields an object with `explode:` sees in its expressions: the list element and its 0-based position.
EXPLODE_FIELDS = {"_item": "str", "_index": "int"}


# -- reading the file ----------------------------------------------------------------------------
# Bounds of a spec file. A real spec is ~16 KB, ~1,300 YAML nodes and 11 levels deep: the bounds
# leave ample room and keep a broken or hostile file (an alias bomb, a 3,000-deep expression) from
# exhausting memory or the stack. Every one is refused with a SpecError naming file and line.
MAX_FILE_BYTES = 5 * 1024 * 1024  # larger files are refused before parsing
MAX_DEPTH = 64  # nesting of YAML collections, so also of expressions (aliases expanded)
MAX_NODES = 100_000  # YAML nodes, every alias counted as the nodes it stands for
MAX_TEXT = MAX_FILE_BYTES  # characters of scalar text, every alias counted as the text it stands for

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SHOWN_SEGMENTS = 10  # path segments named when a document is too deep
_EMPTY = "the file is empty; a spec is a YAML mapping (pair:, source:, destination:, objects: ...)"
_ONLY_COMMENTS = "the file holds only comments; a spec is a YAML mapping (pair:, source:, destination:, objects: ...)"


class _Refused(Exception):
    """A bound or rule of the reader was broken; `load_spec` turns it into a SpecError."""

    def __init__(self, path: str, problem: str, line: int) -> None:
        super().__init__(problem)
        self.path, self.problem, self.line = path, problem, line


def _segment(parent: yaml.Node | None, index: Any) -> str:
    """The YAML path segment of a node the composer builds under `parent` at `index`."""
    if isinstance(parent, yaml.SequenceNode):
        return f"[{index}]"
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    return "" if parent is None else "?"  # the root, or a mapping key itself


def _join(segments: list[str]) -> str:
    path = ""
    for segment in segments:
        if segment:
            path += segment if segment.startswith("[") or not path else f".{segment}"
    return path


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SpecYamlLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with the bounds of a spec, checked while composing (before any value is
    built): depth and node count with aliases expanded (so an alias bomb stops after a few hundred
    nodes of real work), recursive aliases, and duplicate keys at any depth (PyYAML would keep the
    last one silently). Binary, set and ordered-map tags are no spec values.

    Composing pure-Python is slower than libyaml, which spec files (small, read once) can afford;
    libyaml's composer cannot be bounded this way.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._segments: list[str] = []
        self._depth = 0
        self._reach = 0  # the deepest level reached inside the node being composed
        self._nodes = 0  # nodes composed so far, an alias counted as the nodes it stands for
        self._text = 0  # characters of scalars so far, an alias counted as the text it stands for
        self._shape: dict[int, tuple[int, int, int]] = {}  # id(node) -> (nodes, levels, text) once composed
        self._keys: dict[int, dict[Any, yaml.Node]] = {}  # id(mapping) -> key -> its first key node

    def _path(self, shorten: bool = False) -> str:
        if shorten and len(self._segments) > _SHOWN_SEGMENTS:
            return _join(self._segments[:_SHOWN_SEGMENTS]) + ".…"
        return _join(self._segments)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._segments.append(_segment(parent, index))
        try:
            if isinstance(parent, yaml.MappingNode) and index is not None:
                self._check_key(parent, index)
            if self.check_event(yaml.AliasEvent):
                self._count_alias(self.peek_event())
                return super().compose_node(parent, index)
            return self._compose_counted(parent, index)
        finally:
            self._segments.pop()

    def _compose_counted(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self._depth >= MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise _Refused(self._path(shorten=True), f"nested deeper than {MAX_DEPTH} levels", line)
        outer_reach, first, first_text = self._reach, self._nodes, self._text
        self._depth += 1
        self._reach = self._depth
        node = super().compose_node(parent, index)
        levels = self._reach - self._depth + 1
        self._depth -= 1
        self._reach = max(outer_reach, self._reach)
        self._nodes += 1
        if isinstance(node, yaml.ScalarNode):
            self._text += len(node.value)  # never beyond MAX_TEXT without aliases: the file is smaller
        if self._nodes > MAX_NODES:
            raise _Refused(
                self._path(), f"the document has more than {MAX_NODES:,} YAML nodes", node.start_mark.line + 1
            )
        self._shape[id(node)] = (self._nodes - first, levels, self._text - first_text)
        return node

    def _count_alias(self, event: yaml.AliasEvent) -> None:
        node = self.anchors.get(event.anchor)
        if node is None:
            return  # an undefined alias: the composer reports it
        line = event.start_mark.line + 1
        if id(node) not in self._shape:
            raise _Refused(self._path(), f"alias *{event.anchor} refers to a node that contains it", line)
        nodes, levels, text = self._shape[id(node)]
        self._nodes += nodes
        self._text += text
        if self._nodes > MAX_NODES:
            raise _Refused(
                self._path(), f"alias *{event.anchor} expands the document beyond {MAX_NODES:,} YAML nodes", line
            )
        if self._text > MAX_TEXT:
            raise _Refused(
                self._path(), f"alias *{event.anchor} expands the document beyond {MAX_TEXT // 2**20} MB of text", line
            )
        if self._depth + levels > MAX_DEPTH:
            raise _Refused(
                self._path(shorten=True), f"alias *{event.anchor} nests deeper than {MAX_DEPTH} levels", line
            )
        self._reach = max(self._reach, self._depth + levels)

    def _check_key(self, mapping: yaml.MappingNode, key_node: yaml.Node) -> None:
        if not isinstance(key_node, yaml.ScalarNode):
            return  # a complex key: the constructor refuses it as unhashable
        seen = self._keys.setdefault(id(mapping), {})
        first = seen.setdefault(self._key_identity(key_node), key_node)
        if first is not key_node:
            raise _Refused(
                self._path(),
                f"duplicate key {key_node.value!r} (first at line {first.start_mark.line + 1})",
                key_node.start_mark.line + 1,
            )

    def _key_identity(self, key_node: yaml.ScalarNode) -> Any:
        """The key as the mapping will hold it, so `yes`/`true` or `1`/`0x1` count as one key."""
        if key_node.tag == _MERGE_TAG:
            return (_MERGE_TAG,)
        try:
            key = self.construct_object(key_node)
            hash(key)
        except (yaml.YAMLError, TypeError):
            return (key_node.tag, key_node.value)  # construction reports the problem later
        return key

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML raises a bare ValueError for an impossible date or a too-long integer."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            self.recursive_objects.pop(node, None)
            value = _short(node.value) if isinstance(node, yaml.ScalarNode) else node.tag
            raise ConstructorError(None, None, f"cannot read {value}: {exc}", node.start_mark) from None


def _not_a_spec_value(loader: SpecYamlLoader, node: yaml.Node) -> Any:
    raise ConstructorError(None, None, f"{node.tag} values have no place in a spec", node.start_mark)


for _tag in ("binary", "set", "omap", "pairs"):
    SpecYamlLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_a_spec_value)


def _read_text(path: Path, file: str) -> str:
    """The file's UTF-8 text, newlines as `Path.read_text` gives them.

    Raises:
        SpecError: unreadable, larger than MAX_FILE_BYTES, binary (NUL bytes) or not UTF-8.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError(file, "", f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(file, "", f"the file is larger than {MAX_FILE_BYTES // 2**20} MB, the bound for a spec")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError(file, "", "the file is UTF-16 text; save it as UTF-8", 1)
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise SpecError(file, "", f"a binary file, not YAML text (NUL byte at byte offset {nul})", line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            file,
            "",
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at byte offset {exc.start} ({exc.reason}); "
            "save the file as UTF-8",
            line,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == "tag:yaml.org,2002:null":
        return "null"
    return f"a single value ({_short(node.value)})"


def _error_line(exc: yaml.YAMLError, text: str) -> int | None:
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark else None


def _line_index(root: yaml.Node) -> dict[str, int]:
    """Map every YAML path ('objects.contact.fields.email') to its 1-based line."""
    index: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                sub = f"{path}.{name}" if path else name
                index[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    walk(root, "")  # bounded: the loader refused documents deeper than MAX_DEPTH
    return index


def _parse(text: str, file: str) -> tuple[Any, dict[str, int]]:
    """The YAML document of `text` and the line of each of its paths.

    Raises:
        SpecError: invalid YAML, a bound of SpecYamlLoader, a duplicate key, an empty document or
            one that is not a mapping.
    """
    loader = None
    try:
        loader = SpecYamlLoader(text)  # the reader refuses control characters right here
        root = loader.get_single_node()
        if root is None:
            raise SpecError(file, "", _EMPTY if not text.strip() else _ONLY_COMMENTS)
        if not isinstance(root, yaml.MappingNode):
            line = root.start_mark.line + 1
            raise SpecError(file, "", f"a spec is a YAML mapping (pair:, source:, ...), not {_kind(root)}", line)
        lines = _line_index(root)
        return loader.construct_document(root), lines
    except _Refused as exc:
        raise SpecError(file, exc.path, exc.problem, exc.line) from None
    except yaml.YAMLError as exc:
        raise SpecError(file, "", f"invalid YAML: {exc}", _error_line(exc, text)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _parent_path(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _nearest_line(lines: Mapping[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest ancestor that has one."""
    while path:
        if path in lines:
            return lines[path]
        path = _parent_path(path)
    return None


def _loc_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a YAML path: ('objects', 'a', 'exclude', 0) -> objects.a.exclude[0]."""
    return _join([f"[{part}]" if isinstance(part, int) else str(part) for part in loc])


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with what the pipeline derives from it."""

    spec: PairSpec
    file: str
    content_hash: str
    load_order: tuple[str, ...]
    lines: Mapping[str, int]
    variant: str | None = None  # the applied variant (None: the base spec)
    corrections: tuple[Correction, ...] = ()  # corrections/<pair>.yaml beside the spec (part of the hash)

    @property
    def pair(self) -> str:
        return self.spec.pair

    def line_of(self, path: str) -> int | None:
        return _nearest_line(self.lines, path)

    @cached_property
    def source_catalog(self):
        return source_catalog(self.spec.source)

    @cached_property
    def _text(self) -> str:
        return self.spec.model_dump_json()

    def joined_fields(self, obj_name: str, source: str, fields: Iterable[str]) -> list[str]:
        """The `fields` of `source` that the spec names through one of `obj_name`'s joins of it
        (`<alias>.<field>`, searched in the whole spec: a superset), and the joins' keys. A join
        repeats every joined column on each row that matches, so only these are read and joined."""
        aliases = [(a, j.key) for a, j in self.spec.objects[obj_name].join.items() if j.source == source]
        return [f for f in fields if any(f == key or f"{alias}.{f}" in self._text for alias, key in aliases)]

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

    The file is read within the bounds of `SpecYamlLoader` (MAX_FILE_BYTES, MAX_DEPTH, MAX_NODES);
    no other exception than SpecError escapes, whatever the file holds.

    Raises:
        SpecError: the first problem found, with file, line and YAML path.
    """
    path = Path(path)
    file = path.name
    raw, lines = _parse(_read_text(path, file), file)
    if not isinstance(raw, dict):
        raise SpecError(file, "", "a spec must be a YAML mapping")
    try:
        spec = PairSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _loc_path(err["loc"])
        raise SpecError(file, loc, err["msg"], _nearest_line(lines, loc)) from None
    if path.stem != spec.pair:
        raise SpecError(file, "pair", f"pair {spec.pair!r} must match the file name {path.stem!r}", lines.get("pair"))
    fixes = corrections.load(path.parent, spec.pair)
    content = spec_hash(spec)
    if fixes:  # a correction changes what loads: the sample must be approved again
        content = hashlib.sha256((content + corrections.digest(fixes)).encode()).hexdigest()[:16]
    loaded = LoadedSpec(spec, file, content, (), lines, corrections=fixes)
    order = validate(loaded)
    loaded = LoadedSpec(spec, file, content, order, lines, corrections=fixes)
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
        raise _variant_error(loaded, name, _loc_path(err["loc"]), err["msg"]) from None
    merged = LoadedSpec(spec, loaded.file, loaded.content_hash, (), loaded.lines, name, loaded.corrections)
    try:
        order = validate(merged)
    except SpecError as exc:
        raise _variant_error(loaded, name, exc.path, exc.problem) from None
    if set(order) != set(loaded.load_order) or _graph(merged) != _graph(loaded):
        raise _fail(loaded, f"variants.{name}", "a variant may not add objects or change which objects link")
    _VARIANTS[cache_key] = LoadedSpec(
        spec, loaded.file, loaded.content_hash, loaded.load_order, loaded.lines, name, loaded.corrections
    )
    return _VARIANTS[cache_key]


def _variant_error(loaded: LoadedSpec, name: str, path: str, problem: str) -> SpecError:
    """A problem of the spec merged with variant `name`, at the variant's own key when the variant
    sets `path` (variants.<name>.objects.incident.fields.x), else at the base spec's key."""
    variant = loaded.spec.variants[name]
    overrides: Any = {"objects": variant.objects, "schema": variant.schema_, "value_maps": variant.value_maps}
    for segment in path.replace("[", ".[").split("."):
        if not isinstance(overrides, dict):
            break  # the variant replaces a whole value (a list, an expression) that holds `path`
        if segment not in overrides:
            where = loaded.line_of(f"variants.{name}")
            return _fail(loaded, path, f"{problem} (with variant {name!r} at line {where})")
        overrides = overrides[segment]
    return _fail(loaded, f"variants.{name}.{path}", problem)


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
        extensions.validate_object(loaded, name, obj)
    extensions.validate_routes(loaded)
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
        try:
            implied = destination_implied_columns(
                loaded.spec.destination, activity=extra.activity, options=loaded.spec.destination_options
            )
        except KeyError as exc:
            raise _fail(
                loaded,
                "destination_options",
                f"a custom table of {loaded.spec.destination} needs destination_options.{exc.args[0]}",
            ) from None
        columns.update({k: v for k, v in implied.items() if k not in columns})
    if extra:
        columns.update({name: col.type for name, col in extra.columns.items()})
    return columns


def _validate_object(loaded: LoadedSpec, name: str, obj: ObjectMap, dst_catalog) -> None:
    spec = loaded.spec
    table_custom = spec.schema_.get(obj.table, None)
    if obj.table not in dst_catalog and not (table_custom and (table_custom.custom or table_custom.association)):
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
    if table_custom and table_custom.association:
        _validate_association(loaded, name, obj)
    else:
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
        _validate_lookup_extras(loaded, name, column, lookup)
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


def _validate_lookup_extras(loaded: LoadedSpec, name: str, column: str, lookup: LookupMap) -> None:
    """The further targets of a polymorphic lookup, its placeholders and its loop breaking."""
    spec = loaded.spec
    path = f"objects.{name}.lookups.{column}"
    for i, target in enumerate(lookup.otherwise):
        if target.object not in spec.objects:
            raise _fail(
                loaded,
                f"{path}.otherwise[{i}].object",
                f"unknown object {target.object!r} {known_values(spec.objects)}",
            )
        loaded.compile(name, f"lookups.{column}.otherwise[{i}].value", target.value)
    if lookup.break_loops and lookup.object != name:
        raise _fail(
            loaded, f"{path}.break_loops", f"break_loops is for a lookup of {name} to itself, not to {lookup.object}"
        )
    if lookup.placeholder is None:
        return
    target = spec.objects[lookup.object]
    fields = loaded.source_catalog[target.source]
    if not isinstance(target.external_id.value, str) or fields.field(target.external_id.value) is None:
        raise _fail(
            loaded,
            f"{path}.placeholder",
            f"placeholders of {lookup.object} need its external_id.value to be a source field of {target.source}",
        )
    named = [*lookup.placeholder.fields, *(f for by in lookup.placeholder.by_id.values() for f in by)]
    names = [f.name for f in fields.fields]
    for field_name in dict.fromkeys(named):
        if fields.field(field_name) is None:
            raise _fail(
                loaded,
                f"{path}.placeholder.fields.{field_name}",
                f"unknown source field {field_name!r} of {target.source} {known_values(names)}",
            )


def _validate_association(loaded: LoadedSpec, name: str, obj: ObjectMap) -> None:
    """An object loading a many-to-many relationship: its two lookups are the relationship's two
    columns, and its external_id.column names the external-id column of each side's object."""
    table = loaded.spec.schema_[obj.table]
    columns = list(table.columns)
    path = f"objects.{name}.external_id.column"
    if len(columns) != 2 or set(obj.lookups) != set(columns):
        raise _fail(
            loaded,
            f"objects.{name}.lookups",
            f"an association object has exactly the two lookups {columns} of {obj.table}",
        )
    first, sep, second = obj.external_id.column.partition("|")
    keys = (first, second if sep else first)
    for side, key in zip(columns, keys, strict=True):
        wanted = loaded.spec.objects[obj.lookups[side].object].external_id.column
        if key != wanted:
            raise _fail(
                loaded,
                path,
                f"side {side} of {obj.table} is found by {wanted!r} (the external id of "
                f"{obj.lookups[side].object}), not {key!r}; write '<first side key>|<second side key>'",
            )


def _validate_file(loaded: LoadedSpec, name: str, obj: ObjectMap) -> None:
    """A file object: its FileSpec expressions compile against the source object, and it maps no
    `fields:` of its own (the destination record is made by the upload, one per source row)."""
    assert obj.file is not None
    for part in ("name", "folder", "size", "content_type", "content", "created_at", "download_id"):
        node = getattr(obj.file, part)
        if node is not None:
            loaded.compile(name, f"file.{part}", node)
    if obj.fields:
        raise _fail(
            loaded,
            f"objects.{name}.fields",
            "a file object has no `fields:`; its name, folder, size and content type go under `file:`",
        )
    if obj.collapse:
        raise _fail(loaded, f"objects.{name}.kind", "a file object cannot collapse rows (one file per row)")
    if obj.explode is not None and obj.file.content is None and obj.file.download_id is None:
        raise _fail(
            loaded,
            f"objects.{name}.file",
            "an exploded file object names each row's bytes: set file.download_id (or file.content)",
        )
    if obj.file.download_from is not None:
        _require_source(loaded, f"objects.{name}.file.download_from", obj.file.download_from)


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
        name: {
            t for lk in obj.lookups.values() if not lk.deferred for t in (lk.object, *(o.object for o in lk.otherwise))
        }
        - {name}
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
