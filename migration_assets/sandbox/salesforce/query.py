"""SOQL execution and the query resources: `/query`, `/queryAll`, `/query/<locator>`, `/tooling/query`.

Real: response `{totalSize, done, nextRecordsUrl?, records}` with `attributes` per record and nested
parent records for relationship paths; batches of up to 2,000 (`Sforce-Query-Options: batchSize=N`,
200-2000); `/queryAll` includes deleted rows; INVALID_TYPE for an unknown object, INVALID_FIELD for an
unknown column, MALFORMED_QUERY for syntax and for a quoted value on a date/number/boolean field;
text comparisons case-insensitive. Invented: the option `query_batch_size` (default 2000, no minimum,
for small pages in tests); cursors keep a snapshot of the result in SQLite until read to the end;
Tooling queries cover only CustomObject and CustomField (TableEnumOrId is the object name for standard
objects and the CustomObject id for custom ones, as in a real org).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from migration_assets.sandbox._common import ok
from migration_assets.sandbox.salesforce.api import ALL_METHODS, Call, endpoint
from migration_assets.sandbox.salesforce.describe import find_object
from migration_assets.sandbox.salesforce.faults import SfError, invalid_field
from migration_assets.sandbox.salesforce.ids import next_id, to18
from migration_assets.sandbox.salesforce.records import Ctx
from migration_assets.sandbox.salesforce.render import attributes, field_value
from migration_assets.sandbox.salesforce.schema import NUMBER_TYPES, F, FieldDef, ObjectDef
from migration_assets.sandbox.salesforce.soql import BoolOp, Compare, Literal, Query, malformed, parse
from migration_assets.sandbox.salesforce.store import get_record, live_records, option
from migration_assets.sandbox.salesforce.validate import normalize_datetime

Lookup = Callable[[str], tuple[ObjectDef, dict[str, Any]] | None]


class Resolver:
    """Resolves field paths (`Name`, `Account.Name`, `What.Name`) against an object and its parents."""

    def __init__(self, schema: dict[str, ObjectDef], lookup: Lookup) -> None:
        self.schema, self.lookup = schema, lookup

    def check(self, obj: ObjectDef, path: str) -> FieldDef:
        """The field at the end of `path`, validating every step.

        Raises:
            SfError: INVALID_FIELD for an unknown column or relationship.
        """
        head, _, rest = path.partition(".")
        if not rest:
            f = obj.field(head)
            if f is None:
                raise invalid_field(head, obj.name)
            return f
        rel = obj.relationship(head)
        if rel is None:
            raise SfError(
                "INVALID_FIELD",
                f"Didn't understand relationship '{head}' in field path. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the appropriate "
                "names.",
                [path],
            )
        targets = [self.schema[t] for t in rel.reference_to if t in self.schema]
        errors = []
        for target in targets:
            try:
                return self.check(target, rest)
            except SfError as err:
                errors.append(err)
        raise errors[0] if errors else invalid_field(path, obj.name)

    def value(self, obj: ObjectDef, record: dict[str, Any], path: str) -> Any:
        """The value of `path` for one record (None when a parent is missing)."""
        head, _, rest = path.partition(".")
        if not rest:
            f = obj.field(head)
            return record.get(f.name) if f else None
        rel = obj.relationship(head)
        parent = self.lookup(record.get(rel.name)) if rel and record.get(rel.name) else None
        return self.value(parent[0], parent[1], rest) if parent else None

    def render(self, obj: ObjectDef, record: dict[str, Any], paths: list[str], version: str) -> dict[str, Any]:
        """One result record with nested parent records for relationship paths."""
        out: dict[str, Any] = {"attributes": attributes(obj.name, record.get("Id"), version)}
        nested: dict[str, list[str]] = {}
        for path in paths:
            head, _, rest = path.partition(".")
            if rest:
                nested.setdefault(head, []).append(rest)
            elif (f := obj.field(head)) is not None:
                out[f.name] = field_value(obj, f.name, record, version) if record.get("Id") else record.get(f.name)
        for head, rests in nested.items():
            rel = obj.relationship(head)
            parent = self.lookup(record.get(rel.name)) if rel and record.get(rel.name) else None
            out[rel.relationship_name if rel else head] = (
                self.render(parent[0], parent[1], rests, version) if parent else None
            )
        return out


def _text(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _literal_value(f: FieldDef, lit: Literal) -> Any:
    """The comparable form of a literal for field `f`; MALFORMED_QUERY when its kind does not fit."""
    if lit.kind == "null":
        return None
    typed = {"date": "date", "datetime": "datetime", "boolean": "boolean"}
    expected = typed.get(f.type) or ("number" if f.type in NUMBER_TYPES else "string")
    if expected != lit.kind:
        quoted = "should not be enclosed in quotes" if lit.kind == "string" else "must be quoted"
        raise malformed(f"value of filter criterion for field '{f.name}' must be of type {expected} and {quoted}")
    if f.type == "datetime" and lit.kind == "datetime":
        return normalize_datetime(lit.value)
    if f.type in ("id", "reference") and isinstance(lit.value, str):
        return _text(to18(lit.value) or lit.value)
    return _text(lit.value)


def _like(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, str(value).lower(), re.DOTALL) is not None


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        return False
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def compile_where(node: Any, obj: ObjectDef, resolver: Resolver) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records for a parsed WHERE tree (fields checked up front)."""
    if node is None:
        return lambda record: True
    if isinstance(node, BoolOp):
        parts = [compile_where(item, obj, resolver) for item in node.items]
        if node.op == "and":
            return lambda record: all(p(record) for p in parts)
        if node.op == "or":
            return lambda record: any(p(record) for p in parts)
        return lambda record: not parts[0](record)
    assert isinstance(node, Compare)
    f = resolver.check(obj, node.path)
    if node.op == "like":
        pattern = node.value.value if isinstance(node.value, Literal) else ""
        return lambda record: _like(pattern, resolver.value(obj, record, node.path))
    if node.op in ("in", "not in"):
        options = {_literal_value(f, lit) for lit in node.value}  # type: ignore[union-attr]
        wanted = node.op == "in"
        return lambda record: (_text(resolver.value(obj, record, node.path)) in options) == wanted
    right = _literal_value(f, node.value)  # type: ignore[arg-type]
    return lambda record: _compare(node.op, _text(resolver.value(obj, record, node.path)), right)


def _sort(rows: list[dict[str, Any]], query: Query, obj: ObjectDef, resolver: Resolver) -> list[dict[str, Any]]:
    for item in reversed(query.order):
        resolver.check(obj, item.path)

        def key(record: dict[str, Any], path: str = item.path, nulls_last: bool = item.nulls_last) -> Any:
            value = _text(resolver.value(obj, record, path))
            # SOQL sorts nulls first in ascending order unless NULLS LAST is given.
            return (value is None) != (not nulls_last), value if value is not None else 0

        rows = sorted(rows, key=key, reverse=item.descending)
    return rows


def execute(
    query: Query, obj: ObjectDef, rows: list[dict[str, Any]], resolver: Resolver, version: str
) -> tuple[int, list[dict[str, Any]]]:
    """(totalSize, rendered records) of a parsed query over `rows`."""
    for path in query.fields:
        resolver.check(obj, path)
    matches = [r for r in rows if compile_where(query.where, obj, resolver)(r)]
    matches = _sort(matches, query, obj, resolver)[query.offset :]
    if query.limit is not None:
        matches = matches[: query.limit]
    if query.count:
        return len(matches), []
    return len(matches), [resolver.render(obj, r, query.fields, version) for r in matches]


def record_lookup(ctx: Ctx) -> Lookup:
    """A lookup of live records by id (parents of relationship paths)."""
    prefixes = {o.key_prefix: o for o in ctx.schema.values()}

    def lookup(record_id: str) -> tuple[ObjectDef, dict[str, Any]] | None:
        found = get_record(ctx.conn, record_id)
        obj = prefixes.get(record_id[:3])
        return (obj, found[1]) if found and obj and not found[2] else None

    return lookup


def _batch_size(call: Call, ctx: Ctx) -> int:
    size = int(option(ctx.conn, "query_batch_size"))
    header = call.request.headers.get("Sforce-Query-Options", "")
    match = re.search(r"batchSize=(\d+)", header)
    if match:
        size = min(max(int(match.group(1)), 200), 2000)
    return size


def _page(
    call: Call, ctx: Ctx, total: int, rows: list[dict[str, Any]], start: int, locator: str | None, size: int
) -> dict[str, Any]:
    batch = rows[start : start + size]
    body: dict[str, Any] = {"totalSize": total, "done": start + size >= len(rows), "records": batch}
    if not body["done"]:
        if locator is None:
            locator = next_id(ctx.conn, "01g")
            ctx.conn.execute(
                "insert into query_cursors(id, payload) values (?, ?)",
                (locator, json.dumps({"total": total, "rows": rows, "size": size})),
            )
        body["nextRecordsUrl"] = call.url(f"query/{locator}-{start + size}")
    elif locator is not None:
        ctx.conn.execute("delete from query_cursors where id = ?", (locator,))
    return {
        "totalSize": body["totalSize"],
        "done": body["done"],
        **({"nextRecordsUrl": body["nextRecordsUrl"]} if "nextRecordsUrl" in body else {}),
        "records": batch,
    }


def run_soql(ctx: Ctx, text: str, version: str, *, include_deleted: bool = False) -> tuple[int, list[dict]]:
    """Parse and run a data query (used by /query and tests)."""
    query = parse(text)
    obj = find_object(ctx.schema, query.sobject)
    if obj is None:
        raise SfError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to "
            "use a custom object, be sure to append the '__c' after the entity name.",
        )
    rows = live_records(ctx.conn, obj.name, deleted=include_deleted)
    return execute(query, obj, rows, Resolver(ctx.schema, record_lookup(ctx)), version)


def _query_handler(include_deleted: bool) -> Callable:
    async def handler(request: Request, call: Call) -> Response:
        text = request.query_params.get("q")
        if text is None:
            raise malformed("missing q parameter")
        with call.tx() as ctx:
            total, rows = run_soql(ctx, text, call.version, include_deleted=include_deleted)
            return ok(_page(call, ctx, total, rows, 0, None, _batch_size(call, ctx)))

    return handler


async def query_more(request: Request, call: Call) -> Response:
    """`GET /query/<locator>-<offset>`: the next batch of a cursor."""
    locator, _, start = request.path_params["locator"].partition("-")
    with call.tx() as ctx:
        row = ctx.conn.execute("select payload from query_cursors where id = ?", (locator,)).fetchone()
        if row is None or not start.isdigit():
            raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator", status=400)
        payload = json.loads(row["payload"])
        return ok(_page(call, ctx, payload["total"], payload["rows"], int(start), locator, payload["size"]))


def _tooling_objects() -> dict[str, ObjectDef]:
    common = [
        F("Id", "id", length=18),
        F("DeveloperName", "string"),
        F("NamespacePrefix", "string"),
        F("FullName", "string"),
    ]
    return {
        "CustomField": ObjectDef(
            "CustomField",
            "Custom Field",
            "Custom Fields",
            "00N",
            {f.name: f for f in [*common, F("TableEnumOrId", "string")]},
        ),
        "CustomObject": ObjectDef(
            "CustomObject", "Custom Object", "Custom Objects", "01I", {f.name: f for f in common}
        ),
    }


def tooling_rows(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    """The rows of the Tooling object `name` (CustomObject or CustomField)."""
    if name == "CustomObject":
        return [
            {"Id": r["id"], "DeveloperName": r["name"][:-3], "NamespacePrefix": None, "FullName": r["name"]}
            for r in ctx.conn.execute("select name, id from custom_objects order by rowid")
        ]
    rows = []
    for r in ctx.conn.execute("select id, sobject, name from custom_fields order by rowid"):
        obj = ctx.schema[r["sobject"]]
        rows.append(
            {
                "Id": r["id"],
                "DeveloperName": r["name"][:-3],
                "NamespacePrefix": None,
                "FullName": f"{r['sobject']}.{r['name']}",
                "TableEnumOrId": obj.tooling_id or obj.name,
            }
        )
    return rows


async def tooling_query(request: Request, call: Call) -> Response:
    """`GET /tooling/query?q=` over CustomObject and CustomField."""
    query = parse(request.query_params.get("q") or "")
    objects = _tooling_objects()
    obj = find_object(objects, query.sobject)
    if obj is None:
        raise SfError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported.")
    with call.tx() as ctx:
        rows = tooling_rows(ctx, obj.name)
        total, records = execute(query, obj, rows, Resolver(objects, lambda _id: None), call.version)
    for record in records:
        record["attributes"] = {
            "type": obj.name,
            "url": call.url(f"tooling/sobjects/{obj.name}/{record.get('Id', '')}"),
        }
    return ok(
        {
            "size": total,
            "totalSize": total,
            "done": True,
            "queryLocator": None,
            "entityTypeName": obj.name,
            "records": records,
        }
    )


GET = ("GET", "HEAD")
ROUTES = [
    ("/query", endpoint(_query_handler(False), allowed=GET), ALL_METHODS),
    ("/queryAll", endpoint(_query_handler(True), allowed=GET), ALL_METHODS),
    ("/query/{locator}", endpoint(query_more, allowed=GET), ALL_METHODS),
    ("/queryAll/{locator}", endpoint(query_more, allowed=GET), ALL_METHODS),
    ("/tooling/query", endpoint(tooling_query, allowed=GET), ALL_METHODS),
]
