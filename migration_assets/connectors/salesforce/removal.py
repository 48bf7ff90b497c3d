"""Removing the schema a migration created (`rollback --schema`), the inverse of `SchemaWriter`.

Tooling API (real resource names, as creation uses): picklist values we added are taken out by
writing the value set back without them (`PATCH tooling/sobjects/StandardValueSet/<Name>` for a
standard picklist such as Case.Status, `PATCH tooling/sobjects/CustomField/<id>` with the full
Metadata for a custom one); custom fields (external ids included) by `DELETE
tooling/sobjects/CustomField/<id>`, lookups first; custom objects by `DELETE
tooling/sobjects/CustomObject/<id>`, which also removes their fields and records. Ids come from
Tooling SOQL (`SELECT Id, DeveloperName, TableEnumOrId FROM CustomField`, `... FROM CustomObject`).
What is already gone counts as done, so a second removal only removes what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migration_assets.connectors.salesforce.client import SalesforceClient
from migration_assets.connectors.salesforce.schema import describe_table, value_set
from migration_assets.connectors.salesforce.settings import STANDARD_VALUE_SETS
from migration_assets.errors import RemoteRejected, SchemaNotRemoved

Item = Mapping[str, Any]


def _rank(item: Item) -> int:
    kind = item.get("kind")
    if kind == "options":
        return 0
    if kind in ("column", "key"):
        return 1 if item.get("type") == "lookup" else 2
    return 3  # table


def _what(item: Item) -> str:
    if item.get("kind") == "table":
        return f"object {item.get('table')}"
    if item.get("kind") == "options":
        return f"picklist values {list(item.get('options') or ())} of {item.get('table')}.{item.get('column')}"
    return f"field {item.get('table')}.{item.get('column')}"


class SchemaRemover:
    """Deletes created schema items, reporting what it removed and what it could not.

    Args:
        client: the org client.
    """

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.removed: list[str] = []
        self.left: list[str] = []
        self._object_ids: dict[str, str] | None = None

    async def remove(self, items: Sequence[Item]) -> list[str]:
        """Remove `items` (the `to_create` items of `plan_schema`): values, lookups, fields, objects.

        Raises:
            SchemaNotRemoved: the org refused some items; names what is left and why.
        """
        objects = {str(i["table"]) for i in items if i.get("kind") == "table"}
        fields = {(str(i["table"]), str(i.get("column"))) for i in items if i.get("kind") in ("column", "key")}
        for item in sorted(items, key=_rank):
            table, column = str(item["table"]), str(item.get("column"))
            if item.get("kind") != "table" and table in objects:
                continue  # goes with its object
            if item.get("kind") == "options" and (table, column) in fields:
                continue  # goes with its field
            try:
                await self._remove(item, table, column)
            except RemoteRejected as exc:
                self.left.append(f"{_what(item)} ({exc})")
        if self.left:
            raise SchemaNotRemoved(self.removed, self.left, system="salesforce")
        return self.removed

    async def _remove(self, item: Item, table: str, column: str) -> None:
        if item.get("kind") == "table":
            object_id = (await self.object_ids()).get(table)
            if object_id:
                await self.client.send("DELETE", f"/tooling/sobjects/CustomObject/{object_id}")
                self.removed.append(f"removed object {table} (and its records)")
        elif item.get("kind") == "options":
            await self._values(table, column, [str(v) for v in item.get("options") or ()])
        else:
            field_id = await self._field_id(table, column)
            if field_id:
                await self.client.send("DELETE", f"/tooling/sobjects/CustomField/{field_id}")
                self.removed.append(f"removed field {table}.{column}")

    async def object_ids(self) -> dict[str, str]:
        if self._object_ids is None:
            page = await self.client.json(
                "GET", "/tooling/query", params={"q": "SELECT Id, FullName FROM CustomObject"}
            )
            self._object_ids = {str(r["FullName"]): str(r["Id"]) for r in (page or {}).get("records", [])}
        return self._object_ids

    async def _field_id(self, table: str, column: str) -> str | None:
        owner = (await self.object_ids()).get(table, table)  # TableEnumOrId: the object's id when custom
        soql = f"SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = '{owner}'"
        page = await self.client.json("GET", "/tooling/query", params={"q": soql})
        name = column.removesuffix("__c")
        return next((str(r["Id"]) for r in (page or {}).get("records", []) if r.get("DeveloperName") == name), None)

    async def _values(self, table: str, column: str, added: list[str]) -> None:
        described = await describe_table(self.client, table)
        current = next((f for f in (described or {}).get("fields", []) if f["name"] == column), None)
        if current is None:
            return
        values = current.get("picklistValues") or []
        gone = [v["value"] for v in values if v["value"] in added]
        if not gone:
            return
        keep = [v for v in values if v["value"] not in added]
        standard = STANDARD_VALUE_SETS.get((table, column))
        if standard:
            path = f"/tooling/sobjects/StandardValueSet/{standard}"
            current_set = await self.client.json("GET", path)
            entries = ((current_set or {}).get("Metadata") or {}).get("standardValue") or []
            body = {"Metadata": {"standardValue": [e for e in entries if e.get("fullName") not in added]}}
            await self.client.send("PATCH", path, json=body)
        else:
            field_id = await self._field_id(table, column)
            if field_id is None:
                return
            meta = {
                "label": current.get("label") or column,
                "type": "Picklist" if current.get("type") == "picklist" else "MultiselectPicklist",
                "valueSet": value_set([], [v["value"] for v in keep]),
            }
            meta["valueSet"]["restricted"] = bool(current.get("restrictedPicklist", True))
            await self.client.send("PATCH", f"/tooling/sobjects/CustomField/{field_id}", json={"Metadata": meta})
        self.removed.append(f"removed picklist values {gone} from {table}.{column}")
