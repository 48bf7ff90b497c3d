"""Removing the schema a migration created (`rollback --schema`), the inverse of `writer.py`.

Real API (metadata deletes): `POST DeleteOptionValue` {"EntityLogicalName", "AttributeLogicalName",
"Value"} for each option label we added; `DELETE EntityDefinitions(LogicalName='t')/Keys(LogicalName='k')`;
`DELETE RelationshipDefinitions(SchemaName='s')` for a many-to-many relationship and for the 1:N
relationship that carries a custom lookup (a lookup column goes with its relationship);
`DELETE EntityDefinitions(LogicalName='t')/Attributes(LogicalName='c')`; `DELETE
EntityDefinitions(LogicalName='t')`, which also removes the table's records and its own columns,
keys and lookups. The order (options, keys, relationships, lookups, columns, tables) is the one
the service's dependency rules need: a key before its columns, a lookup to a table before the table.

Each item is looked up first: what is already gone counts as done, so a second removal (or one
after a failure half way) only removes what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.dataverse.batch import error_text
from migration_assets.connectors.dataverse.odata import literal
from migration_assets.connectors.dataverse.settings import SYSTEM
from migration_assets.errors import RemoteRejected, SchemaNotRemoved

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseApi
    from migration_assets.connectors.dataverse.metadata import MetadataCache

Item = Mapping[str, Any]


def _rank(item: Item) -> int:
    kind = item.get("kind")
    if kind == "column":
        return 3 if item.get("type") == "lookup" else 4
    return {"option": 0, "key": 1, "relationship": 2, "table": 5}.get(str(kind), 6)


def describe_item(item: Item) -> str:
    """`column account.cs_account_key`, `option incident.statuscode 'Mediation'`, `table cs_matter`."""
    kind, table, name = item.get("kind"), item.get("table"), item.get("name")
    if kind == "table":
        return f"table {table}"
    if kind == "relationship":
        return f"relationship {name}"
    return f"{kind} {table}.{name}"


class SchemaRemover:
    """Deletes created schema items, reporting what it removed and what it could not.

    Args:
        api: the DataverseApi.
        meta: the session's MetadataCache (read before each removal, invalidated afterwards).
    """

    def __init__(self, api: DataverseApi, meta: MetadataCache) -> None:
        self.api = api
        self.meta = meta
        self.removed: list[str] = []
        self.left: list[str] = []

    async def remove(self, items: Sequence[Item]) -> list[str]:
        """Remove `items` (the created items of `plan_schema`) in dependency order.

        Returns:
            One sentence per removed component (nothing for what was already gone).

        Raises:
            SchemaNotRemoved: some item was refused; it names what was removed and what is left.
        """
        self.meta.invalidate()
        dropped_tables = {str(i["table"]) for i in items if i.get("kind") == "table"}
        for item in sorted(items, key=_rank):
            own_part = item.get("kind") in ("column", "key", "option") and item.get("table") in dropped_tables
            if own_part and not (item.get("kind") == "column" and item.get("type") == "lookup"):
                continue  # goes with its table
            try:
                await self._remove(item)
            except RemoteRejected as exc:
                self.left.append(f"{describe_item(item)} ({error_text(exc.status or 0, exc.body)})")
        self.meta.invalidate()
        if self.left:
            raise SchemaNotRemoved(self.removed, self.left, system=SYSTEM)
        return self.removed

    async def _remove(self, item: Item) -> None:
        kind, table, name = str(item.get("kind")), str(item.get("table")), str(item.get("name"))
        entities = await self.meta.entities()
        if kind == "relationship":
            await self._relationship(name)
        elif table not in entities:
            return  # the table is gone, and everything of it
        elif kind == "table":
            await self.api.send("DELETE", f"EntityDefinitions(LogicalName={literal(table)})")
            self.removed.append(f"removed table {table} (and its records)")
        elif kind == "option":
            await self._options(table, name, item)
        elif kind == "key":
            await self._key(table, tuple(item.get("columns") or ()))
        elif kind == "column" and item.get("type") == "lookup":
            await self._lookup(table, name)
        elif kind == "column":
            await self._column(table, name)

    async def _column(self, table: str, name: str) -> None:
        if name in (await self.meta.table(table)).info.columns:
            path = f"EntityDefinitions(LogicalName={literal(table)})/Attributes(LogicalName={literal(name)})"
            await self.api.send("DELETE", path)
            self.removed.append(f"removed column {table}.{name}")

    async def _options(self, table: str, column: str, item: Item) -> None:
        info = (await self.meta.table(table)).info.columns.get(column)
        if info is None or not isinstance(info.options, Mapping):
            return
        values = {str(k).casefold(): v for k, v in info.options.items()}
        for text in item.get("options") or ():
            value = values.get(str(text).casefold())
            if value is None:
                continue
            body = {"EntityLogicalName": table, "AttributeLogicalName": column, "Value": value}
            await self.api.send("POST", "DeleteOptionValue", json=body)
            self.removed.append(f"removed option {text!r} ({value}) from {table}.{column}")

    async def _key(self, table: str, columns: tuple[str, ...]) -> None:
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName={literal(table)})/Keys", {"$select": "LogicalName,KeyAttributes"}
        )
        for key in body.get("value", []):
            if frozenset(key["KeyAttributes"]) == frozenset(columns):
                path = (
                    f"EntityDefinitions(LogicalName={literal(table)})/Keys(LogicalName={literal(key['LogicalName'])})"
                )
                await self.api.send("DELETE", path)
                self.removed.append(f"removed key {table}.{key['LogicalName']} ({', '.join(columns)})")

    async def _lookup(self, table: str, column: str) -> None:
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName={literal(table)})/ManyToOneRelationships",
            {"$select": "SchemaName,ReferencingAttribute"},
        )
        names = sorted({r["SchemaName"] for r in body.get("value", []) if r.get("ReferencingAttribute") == column})
        for schema in names:
            await self.api.send("DELETE", f"RelationshipDefinitions(SchemaName={literal(schema)})")
            self.removed.append(f"removed lookup {table}.{column} (relationship {schema})")

    async def _relationship(self, name: str) -> None:
        found = await self.meta.relationship(name)
        if found is None:
            return
        await self.api.send("DELETE", f"RelationshipDefinitions(SchemaName={literal(name)})")
        self.removed.append(f"removed relationship {name} ({found.entity1} N:N {found.entity2})")
