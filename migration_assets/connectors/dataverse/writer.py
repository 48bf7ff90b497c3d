"""Metadata writes that apply the `to_create` part of a SchemaDiff (reference §8).

Real API: `POST publishers` and `POST solutions` (the publisher and solution are ordinary rows),
`POST EntityDefinitions`, `.../Attributes`, `POST RelationshipDefinitions` (OneToMany with a
Lookup, ManyToMany with Entity1/Entity2 and IntersectEntityName), `.../Keys`, `InsertOptionValue`,
`InsertStatusValue` and `PublishXml`, every component-creating request carrying
`MSCRM.SolutionUniqueName` so it lands in the configured solution.
Ours: the publisher and solution are created when missing, with the names of `Publisher`; an
existing solution or publisher of another prefix is refused rather than reused. A creation refused
because the component exists already (a retried request whose first answer was lost) counts as
done, so applying a schema is idempotent under dropped responses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from migration_assets.connectors.dataverse.batch import error_text
from migration_assets.connectors.dataverse.odata import literal
from migration_assets.connectors.dataverse.schema import (
    SchemaDiff,
    SchemaItem,
    attribute_body,
    intersect_columns,
    primary_name_column,
    schema_name,
    unprefixed,
)
from migration_assets.connectors.dataverse.settings import CASCADE, Publisher, label
from migration_assets.errors import MigrationError, RemoteRejected

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseApi

ORDER = ("table", "column", "relationship", "key", "option")
# "already exists" answers (duplicate name, duplicate key definition, duplicate record)
EXISTS_CODES = ("0x80044363", "0x80060890", "0x80040237")


class SchemaWriter:
    """Creates what a SchemaDiff lists, in the publisher's solution.

    Args:
        api: the DataverseApi.
        primary_ids: logical name -> primary id attribute of every existing table.
        publisher: the publisher and solution that own the changes.
    """

    def __init__(self, api: DataverseApi, primary_ids: Mapping[str, str], publisher: Publisher) -> None:
        self.api = api
        self.primary_ids = dict(primary_ids)
        self.publisher = publisher
        self.headers = {"MSCRM.SolutionUniqueName": publisher.solution}
        self.first_option = publisher.first_option_value
        self.actions: list[str] = []
        self.touched: set[str] = set()

    async def apply(self, diff: SchemaDiff, *, key_wait_seconds: float) -> list[str]:
        """Create tables, then columns and lookups, relationships, keys and option labels; publish.

        Returns:
            One sentence per change.
        """
        await self.ensure_solution()
        creators = {
            "table": self.create_table,
            "column": lambda i: self.create_lookup(i) if i.type == "lookup" else self.create_column(i),
            "relationship": self.create_relationship,
            "key": self.create_key,
            "option": self.insert_options,
        }
        for kind in ORDER:
            for item in (i for i in diff.to_create if i.kind == kind):
                await creators[kind](item)
        await self.publish()
        keys = [i for i in diff.to_create if i.kind == "key"]
        if keys:
            await self.wait_for_keys(keys, key_wait_seconds)
        return self.actions

    async def ensure_solution(self) -> None:
        """Find or create the publisher, then find or create the solution it owns.

        Raises:
            MigrationError: the solution or publisher exists with another customization prefix.
        """
        pub = self.publisher
        found = await self.api.get_json(
            "solutions",
            {
                "$select": "solutionid,uniquename,_publisherid_value",
                "$filter": f"uniquename eq {literal(pub.solution)}",
            },
        )
        if found.get("value"):
            owner = await self.api.get_json(
                f"publishers({found['value'][0]['_publisherid_value']})",
                {"$select": "customizationprefix,customizationoptionvalueprefix"},
            )
            self._check_prefix(owner, f"solution {pub.solution}")
            return
        publisher_id = await self.ensure_publisher()
        body = {
            "uniquename": pub.solution,
            "friendlyname": pub.solution_friendly_name,
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher_id})",
        }
        await self._create("solutions", body, {})
        self.actions.append(f"created solution {pub.solution}")

    async def ensure_publisher(self) -> str:
        """The publisher's id, creating the publisher when no publisher has its unique name."""
        pub = self.publisher
        select = "publisherid,customizationprefix,customizationoptionvalueprefix"
        found = await self.api.get_json(
            "publishers", {"$select": select, "$filter": f"uniquename eq {literal(pub.unique_name)}"}
        )
        if found.get("value"):
            row = found["value"][0]
            self._check_prefix(row, f"publisher {pub.unique_name}")
            return str(row["publisherid"])
        body = {
            "uniquename": pub.unique_name,
            "friendlyname": pub.friendly_name,
            "customizationprefix": pub.prefix,
            "customizationoptionvalueprefix": pub.option_value_prefix,
        }
        await self._create("publishers", body, {})
        self.actions.append(f"created publisher {pub.unique_name} (prefix {pub.prefix})")
        found = await self.api.get_json(
            "publishers", {"$select": select, "$filter": f"uniquename eq {literal(pub.unique_name)}"}
        )
        return str(found["value"][0]["publisherid"])

    async def _create(self, path: str, body: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
        """POST a component; False (and no error) when it exists already."""
        try:
            await self.api.send("POST", path, json=body, headers=headers)
        except RemoteRejected as exc:
            if error_text(exc.status or 0, exc.body).startswith(EXISTS_CODES):
                return False
            raise
        return True

    def _check_prefix(self, row: Mapping[str, Any], what: str) -> None:
        prefix = row.get("customizationprefix")
        if prefix != self.publisher.prefix:
            raise MigrationError(
                f"dynamics365: {what} belongs to a publisher with prefix {prefix!r}, not {self.publisher.prefix!r} "
                "(destination_options.publisher_prefix)"
            )
        if row.get("customizationoptionvalueprefix"):  # an existing publisher's numbering wins
            self.first_option = int(row["customizationoptionvalueprefix"]) * 10_000

    async def create_table(self, item: SchemaItem) -> None:
        text = item.label or item.name
        primary = "Subject" if item.activity else schema_name(primary_name_column(self.publisher) or "")
        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": schema_name(item.name),
            "DisplayName": label(text),
            "DisplayCollectionName": label(text),
            "OwnershipType": "UserOwned",
            "IsActivity": item.activity,
            "HasActivities": not item.activity,  # activities (tasks, appointments) may regard its rows
            "HasNotes": True,
            "Attributes": [
                {
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "SchemaName": primary,
                    "IsPrimaryName": True,
                    "MaxLength": item.max_length or 200,
                    "FormatName": {"Value": "Text"},
                    "RequiredLevel": {"Value": "None"},
                    "DisplayName": label("Name"),
                }
            ],
        }
        await self._create("EntityDefinitions", body, self.headers)
        self.primary_ids[item.name] = f"{item.name}id"
        self.touched.add(item.name)
        self.actions.append(f"created table {item.name}" + (" (activity)" if item.activity else ""))

    async def create_column(self, item: SchemaItem) -> None:
        body = attribute_body(item, self.first_option)
        await self._create(f"EntityDefinitions(LogicalName='{item.table}')/Attributes", body, self.headers)
        self.touched.add(item.table)
        self.actions.append(f"created column {item.table}.{item.name} ({item.type})")

    async def create_lookup(self, item: SchemaItem) -> None:
        target = item.target or ""
        prefix = self.publisher.prefix
        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": f"{prefix}_{target}_{unprefixed(item.table)}_{unprefixed(item.name)}",
            "ReferencedEntity": target,
            "ReferencedAttribute": self.primary_ids.get(target, f"{target}id"),
            "ReferencingEntity": item.table,
            "CascadeConfiguration": CASCADE,
            "Lookup": {
                "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "SchemaName": schema_name(item.name),
                "DisplayName": label(item.label or item.name),
                "RequiredLevel": {"Value": "None"},
            },
        }
        await self._create("RelationshipDefinitions", body, self.headers)
        self.touched.update({item.table, target})
        self.actions.append(f"created lookup {item.table}.{item.name} -> {target}")

    async def create_relationship(self, item: SchemaItem) -> None:
        """A many-to-many relationship; both navigation properties are named after it (real default),
        `_entity1`/`_entity2` suffixed when it links a table to itself."""
        first, second = item.entities
        self_link = first == second
        nav1, nav2 = (f"{item.name}_entity1", f"{item.name}_entity2") if self_link else (item.name, item.name)
        column1, column2 = intersect_columns(first, second)
        menu = {"Behavior": "UseLabel", "Group": "Details", "Label": label(item.label or item.name)}
        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
            "SchemaName": item.name,
            "Entity1LogicalName": first,
            "Entity2LogicalName": second,
            "IntersectEntityName": item.name,
            "Entity1IntersectAttribute": column1,
            "Entity2IntersectAttribute": column2,
            "Entity1NavigationPropertyName": nav1,
            "Entity2NavigationPropertyName": nav2,
            "Entity1AssociatedMenuConfiguration": menu,
            "Entity2AssociatedMenuConfiguration": menu,
        }
        await self._create("RelationshipDefinitions", body, self.headers)
        self.touched.update({first, second})
        self.actions.append(f"created relationship {item.name} ({first} N:N {second})")

    async def create_key(self, item: SchemaItem) -> None:
        prefix = f"{self.publisher.prefix}_"
        name = item.name if item.name.startswith(prefix) else f"{prefix}{item.name}"
        body = {
            "SchemaName": schema_name(name.lower()),
            "DisplayName": label(item.name),
            "KeyAttributes": list(item.columns),
        }
        await self._create(f"EntityDefinitions(LogicalName='{item.table}')/Keys", body, self.headers)
        self.touched.add(item.table)
        self.actions.append(f"created key {item.table}.{name} ({', '.join(item.columns)})")

    async def insert_options(self, item: SchemaItem) -> None:
        """Add option labels, each with an explicit value (the spec's pin, else the next free one
        from the publisher's range), so a retried insert is refused as existing, not doubled."""
        action = "InsertStatusValue" if item.name == "statuscode" else "InsertOptionValue"
        used = await self._option_values(item)
        for text in item.options:
            value, state = item.pin(text)
            if value is None:
                value = max([v for v in used if v >= self.first_option] or [self.first_option - 1]) + 1
            used.add(value)
            body: dict[str, Any] = {
                "EntityLogicalName": item.table,
                "AttributeLogicalName": item.name,
                "Label": label(text),
                "Value": value,
                "SolutionUniqueName": self.publisher.solution,
            }
            if action == "InsertStatusValue":
                body["StateCode"] = 0 if state is None else state  # unpinned reasons go to the open state
            await self._create(action, body, self.headers)
            self.actions.append(f"added option {text!r} to {item.table}.{item.name}")
        self.touched.add(item.table)

    async def _option_values(self, item: SchemaItem) -> set[int]:
        cast = (
            "Status"
            if item.name == "statuscode"
            else "MultiSelectPicklist"
            if item.type == "multipicklist"
            else "Picklist"
        )
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName='{item.table}')/Attributes(LogicalName='{item.name}')"
            f"/Microsoft.Dynamics.CRM.{cast}AttributeMetadata",
            {"$select": "LogicalName", "$expand": "OptionSet"},
        )
        return {int(o["Value"]) for o in (body.get("OptionSet") or {}).get("Options", [])}

    async def publish(self) -> None:
        if not self.touched:
            return
        entities = "".join(f"<entity>{t}</entity>" for t in sorted(self.touched))
        xml = f"<importexportxml><entities>{entities}</entities></importexportxml>"
        await self.api.send("POST", "PublishXml", json={"ParameterXml": xml})

    async def wait_for_keys(self, keys: Sequence[SchemaItem], timeout: float) -> None:
        """Wait until every new key's index is Active (keys are built asynchronously).

        Raises:
            MigrationError: a key index Failed, or is still not Active after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        pending = {(k.table, frozenset(k.columns)) for k in keys}
        while pending:
            for table, columns in list(pending):
                status = await self._key_status(table, columns)
                if status == "Active":
                    pending.discard((table, columns))
                elif status in ("Failed", "Missing"):
                    raise MigrationError(f"dynamics365: alternate key on {table} ({', '.join(columns)}) is {status}")
            if pending and time.monotonic() > deadline:
                raise MigrationError(f"dynamics365: alternate keys not active after {timeout}s: {sorted(pending)}")
            if pending:
                await asyncio.sleep(0.5)  # the index builds server-side; poll like the real client must

    async def _key_status(self, table: str, columns: frozenset[str]) -> str:
        body = await self.api.get_json(
            f"EntityDefinitions(LogicalName='{table}')/Keys",
            {"$select": "SchemaName,KeyAttributes,EntityKeyIndexStatus"},
        )
        return next(
            (
                k.get("EntityKeyIndexStatus", "Active")
                for k in body.get("value", [])
                if frozenset(k["KeyAttributes"]) == columns
            ),
            "Missing",
        )
