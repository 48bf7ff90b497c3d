"""What the spec needs that Dataverse lacks (schema_diff, pure) and the metadata writes that add it.

`schema_diff` is also used by the pipeline for the schema-diff report, so it never does I/O and
its result is JSON-able (`SchemaDiff.to_dict()`).

Naming rules (ours, following the real publisher-prefix rule): custom tables, columns and keys are
named `cs_<name>` in lower case (their logical names); the SchemaName capitalises the part after
the prefix (`cs_case` -> `cs_Case`), which is also the navigation property of a custom lookup.
A new custom table gets the primary name column `cs_name` (String, 200 unless the spec sizes it);
a new activity table gets `subject` (real rule: its primary column's SchemaName is `Subject`).
New status labels go to the default (open/active) state: the spec names labels, not states.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from migration_assets.connectors.base import (
    ColumnInfo,
    ColumnRequirement,
    DestinationSchema,
    TableInfo,
    TableRequirement,
)
from migration_assets.connectors.dataverse.settings import (
    CASCADE,
    COMPATIBLE_TYPES,
    PUBLISHER_PREFIX,
    SOLUTION,
    SOLUTION_FRIENDLY_NAME,
    label,
)
from migration_assets.errors import MigrationError

if TYPE_CHECKING:
    from migration_assets.connectors.dataverse.client import DataverseApi

PRIMARY_NAME = f"{PUBLISHER_PREFIX}_name"
ACTIVITY_PRIMARY_NAME = "subject"  # activity tables must name their primary column Subject
_CUSTOM_NAME = re.compile(rf"^{PUBLISHER_PREFIX}_[a-z0-9_]+$")
OPTION_BASE = 100_000_000  # publisher option value prefix 10000


@dataclass(frozen=True)
class SchemaItem:
    """One table, column, key or set of option labels, as found or as to be created."""

    kind: Literal["table", "column", "key", "option"]
    table: str
    name: str
    type: str | None = None
    detail: str = ""
    max_length: int | None = None
    options: tuple[str, ...] = ()
    target: str | None = None
    columns: tuple[str, ...] = ()
    activity: bool = False
    label: str | None = None
    pinned: tuple[tuple[str, int | None, int | None], ...] = ()  # (label, value, state) the spec fixes

    def pin(self, text: str) -> tuple[int | None, int | None]:
        return next(((v, s) for lbl, v, s in self.pinned if lbl.casefold() == text.casefold()), (None, None))


def _pins(col: ColumnRequirement, labels: Sequence[str]) -> tuple[tuple[str, int | None, int | None], ...]:
    return tuple((lbl, *col.option_values[lbl]) for lbl in labels if lbl in col.option_values)


@dataclass(frozen=True)
class SchemaDiff:
    """Result of comparing the destination schema with the spec's requirements."""

    existing: list[SchemaItem]
    to_create: list[SchemaItem]
    conflicting: list[SchemaItem]

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        """JSON-able form for reports."""
        return {name: [asdict(i) for i in getattr(self, name)] for name in ("existing", "to_create", "conflicting")}


def schema_name(logical: str) -> str:
    """SchemaName for a custom logical name: `cs_matter_number` -> `cs_Matter_number`."""
    prefix, _, rest = logical.partition("_")
    return f"{prefix}_{rest[:1].upper()}{rest[1:]}"


def schema_diff(schema: DestinationSchema, required: Sequence[TableRequirement]) -> SchemaDiff:
    """Compare `schema` with `required`.

    Args:
        schema: the described destination (at least the required tables and lookup targets).
        required: the tables, columns, option labels and keys the spec needs.

    Returns:
        SchemaDiff with what exists, what must be created, and what conflicts (detail says why).
    """
    diff = SchemaDiff([], [], [])
    creatable = {r.name for r in required if r.custom}
    for req in required:
        table = schema.tables.get(req.name)
        if table is None:
            _diff_new_table(req, diff, set(schema.tables) | creatable)
        else:
            _diff_existing_table(req, table, diff, set(schema.tables) | creatable)
    return diff


# Columns Dataverse creates with every new (activity) table.
IMPLIED_COLUMNS = {"ownerid", "overriddencreatedon", "statecode", "statuscode"}
IMPLIED_ACTIVITY_COLUMNS = {
    "subject",
    "description",
    "scheduledstart",
    "scheduledend",
    "actualstart",
    "actualend",
    "actualdurationminutes",
    "prioritycode",
    "regardingobjectid",
}


def _diff_new_table(req: TableRequirement, diff: SchemaDiff, tables: set[str]) -> None:
    if not req.custom:
        diff.conflicting.append(
            SchemaItem(
                "table",
                req.name,
                req.name,
                detail=(f"table {req.name} does not exist and is not marked custom, so it cannot be created"),
            )
        )
        return
    if not _CUSTOM_NAME.match(req.name):
        diff.conflicting.append(
            SchemaItem(
                "table",
                req.name,
                req.name,
                detail=(f"custom table {req.name} must be named {PUBLISHER_PREFIX}_<lowercase name>"),
            )
        )
        return
    primary_name = ACTIVITY_PRIMARY_NAME if req.activity else PRIMARY_NAME
    primary = next((c for c in req.columns if c.name == primary_name), None)
    diff.to_create.append(
        SchemaItem(
            "table",
            req.name,
            req.name,
            activity=req.activity,
            label=req.label,
            max_length=primary.max_length if primary else None,
        )
    )
    implied = IMPLIED_COLUMNS | (IMPLIED_ACTIVITY_COLUMNS if req.activity else set())
    for col in req.columns:
        if col.name in implied:  # created with the table; only its new option values are to add
            if col.options:
                diff.to_create.append(
                    SchemaItem(
                        "option", req.name, col.name, type=col.type, options=col.options, pinned=_pins(col, col.options)
                    )
                )
        elif col.name != primary_name:
            _diff_new_column(req.name, col, diff, tables)
    for key_name, columns in req.keys.items():
        diff.to_create.append(SchemaItem("key", req.name, key_name, columns=tuple(columns)))


def _diff_existing_table(req: TableRequirement, table: TableInfo, diff: SchemaDiff, tables: set[str]) -> None:
    diff.existing.append(SchemaItem("table", req.name, req.name))
    for col in req.columns:
        existing = table.columns.get(col.name)
        if existing is None:
            _diff_new_column(req.name, col, diff, tables)
        else:
            _diff_existing_column(req.name, col, existing, diff)
    have = {frozenset(cols) for cols in table.keys.values()}
    for key_name, columns in req.keys.items():
        found = frozenset(columns) in have
        target = diff.existing if found else diff.to_create
        target.append(SchemaItem("key", req.name, key_name, columns=tuple(columns)))


def _diff_new_column(table: str, col: ColumnRequirement, diff: SchemaDiff, tables: set[str]) -> None:
    item = SchemaItem(
        "column",
        table,
        col.name,
        type=col.type,
        max_length=col.max_length,
        options=tuple(col.options),
        target=col.target,
        label=col.label,
        pinned=_pins(col, col.options),
    )
    if not _CUSTOM_NAME.match(col.name):
        diff.conflicting.append(
            SchemaItem(
                "column",
                table,
                col.name,
                type=col.type,
                detail=(
                    f"{table}.{col.name} does not exist; new columns must be named {PUBLISHER_PREFIX}_<lowercase name>"
                ),
            )
        )
    elif col.type == "lookup" and col.target not in tables:
        diff.conflicting.append(
            SchemaItem(
                "column",
                table,
                col.name,
                type=col.type,
                detail=(f"{table}.{col.name} is a lookup to {col.target!r}, which does not exist and is not created"),
            )
        )
    else:
        diff.to_create.append(item)


def _diff_existing_column(table: str, col: ColumnRequirement, existing: ColumnInfo, diff: SchemaDiff) -> None:
    if col.type != existing.type and (col.type, existing.type) not in COMPATIBLE_TYPES:
        diff.conflicting.append(
            SchemaItem(
                "column",
                table,
                col.name,
                type=existing.type,
                detail=(f"{table}.{col.name} exists as {existing.type} but the spec needs {col.type}"),
            )
        )
        return
    if col.type == "lookup" and col.target and col.target not in existing.targets:
        diff.conflicting.append(
            SchemaItem(
                "column",
                table,
                col.name,
                type="lookup",
                detail=(f"{table}.{col.name} is a lookup to {', '.join(existing.targets)}, not to {col.target}"),
            )
        )
        return
    diff.existing.append(SchemaItem("column", table, col.name, type=existing.type))
    known = {str(k).casefold() for k in existing.options}
    missing = tuple(o for o in col.options if o.casefold() not in known)
    if isinstance(existing.options, Mapping):
        values = {str(k).casefold(): v for k, v in existing.options.items()}
        clash = [
            f"{o!r} is {values[o.casefold()]}, the spec pins {col.option_values[o][0]}"
            for o in col.options
            if o.casefold() in values
            and o in col.option_values
            and col.option_values[o][0] not in (None, values[o.casefold()])
        ]
        if clash:
            detail = f"{table}.{col.name} option values differ: {'; '.join(clash)}"
            diff.conflicting.append(SchemaItem("option", table, col.name, detail=detail))
            return
    if not missing:
        return
    if col.name == "statecode":
        diff.conflicting.append(
            SchemaItem(
                "option",
                table,
                col.name,
                options=missing,
                detail=(f"{table}.statecode has no state {', '.join(missing)}; states cannot be added"),
            )
        )
    else:
        diff.to_create.append(
            SchemaItem("option", table, col.name, type=existing.type, options=missing, pinned=_pins(col, missing))
        )


class SchemaWriter:
    """Applies the `to_create` part of a SchemaDiff through the metadata API, in solution `cs_migration`.

    Args:
        api: the DataverseApi.
        primary_ids: logical name -> primary id attribute of every existing table.
    """

    def __init__(self, api: DataverseApi, primary_ids: Mapping[str, str]) -> None:
        self.api = api
        self.primary_ids = dict(primary_ids)
        self.headers = {"MSCRM.SolutionUniqueName": SOLUTION}
        self.actions: list[str] = []
        self.touched: set[str] = set()

    async def apply(self, diff: SchemaDiff, *, key_wait_seconds: float) -> list[str]:
        """Create tables, then columns and lookups, then keys and option labels; publish.

        Returns:
            One sentence per change.
        """
        await self.ensure_solution()
        items = diff.to_create
        for item in (i for i in items if i.kind == "table"):
            await self.create_table(item)
        for item in (i for i in items if i.kind == "column"):
            await (self.create_lookup(item) if item.type == "lookup" else self.create_column(item))
        keys = [i for i in items if i.kind == "key"]
        for item in keys:
            await self.create_key(item)
        for item in (i for i in items if i.kind == "option"):
            await self.insert_options(item)
        await self.publish()
        if keys:
            await self.wait_for_keys(keys, key_wait_seconds)
        return self.actions

    async def ensure_solution(self) -> None:
        """Create the `cs_migration` solution with the `cs` publisher when it is missing."""
        found = await self.api.get_json(
            "solutions", {"$select": "solutionid,uniquename", "$filter": f"uniquename eq '{SOLUTION}'"}
        )
        if found.get("value"):
            return
        body: dict[str, Any] = {
            "uniquename": SOLUTION,
            "friendlyname": SOLUTION_FRIENDLY_NAME,
            "version": "1.0.0.0",
        }
        publishers = await self.api.get_json(
            "publishers",
            {"$select": "publisherid", "$filter": f"customizationprefix eq '{PUBLISHER_PREFIX}'"},
        )
        if not publishers.get("value"):
            raise MigrationError(f"dynamics365: no publisher with prefix {PUBLISHER_PREFIX!r} to own {SOLUTION}")
        body["publisherid@odata.bind"] = f"/publishers({publishers['value'][0]['publisherid']})"
        await self.api.send("POST", "solutions", json=body)
        self.actions.append(f"created solution {SOLUTION}")

    async def create_table(self, item: SchemaItem) -> None:
        text = item.label or item.name
        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": schema_name(item.name),
            "DisplayName": label(text),
            "DisplayCollectionName": label(text),
            "OwnershipType": "UserOwned",
            "IsActivity": item.activity,
            "HasActivities": False,
            "HasNotes": True,
            "Attributes": [
                {
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "SchemaName": "Subject" if item.activity else schema_name(PRIMARY_NAME),
                    "IsPrimaryName": True,
                    "MaxLength": item.max_length or 200,
                    "FormatName": {"Value": "Text"},
                    "RequiredLevel": {"Value": "None"},
                    "DisplayName": label("Name"),
                }
            ],
        }
        await self.api.send("POST", "EntityDefinitions", json=body, headers=self.headers)
        self.primary_ids[item.name] = f"{item.name}id"
        self.touched.add(item.name)
        self.actions.append(f"created table {item.name}" + (" (activity)" if item.activity else ""))

    async def create_column(self, item: SchemaItem) -> None:
        body = attribute_body(item)
        await self.api.send(
            "POST",
            f"EntityDefinitions(LogicalName='{item.table}')/Attributes",
            json=body,
            headers=self.headers,
        )
        self.touched.add(item.table)
        self.actions.append(f"created column {item.table}.{item.name} ({item.type})")

    async def create_lookup(self, item: SchemaItem) -> None:
        target = item.target or ""
        short = item.table.removeprefix(f"{PUBLISHER_PREFIX}_")
        column = item.name.removeprefix(f"{PUBLISHER_PREFIX}_")
        body = {
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": f"{PUBLISHER_PREFIX}_{target}_{short}_{column}",
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
        await self.api.send("POST", "RelationshipDefinitions", json=body, headers=self.headers)
        self.touched.update({item.table, target})
        self.actions.append(f"created lookup {item.table}.{item.name} -> {target}")

    async def create_key(self, item: SchemaItem) -> None:
        name = item.name if item.name.startswith(f"{PUBLISHER_PREFIX}_") else f"{PUBLISHER_PREFIX}_{item.name}"
        body = {
            "SchemaName": schema_name(name.lower()),
            "DisplayName": label(item.name),
            "KeyAttributes": list(item.columns),
        }
        await self.api.send(
            "POST", f"EntityDefinitions(LogicalName='{item.table}')/Keys", json=body, headers=self.headers
        )
        self.touched.add(item.table)
        self.actions.append(f"created key {item.table}.{name} ({', '.join(item.columns)})")

    async def insert_options(self, item: SchemaItem) -> None:
        action = "InsertStatusValue" if item.name == "statuscode" else "InsertOptionValue"
        for text in item.options:
            body: dict[str, Any] = {
                "EntityLogicalName": item.table,
                "AttributeLogicalName": item.name,
                "Label": label(text),
            }
            value, state = item.pin(text)
            if value is not None:
                body["Value"] = value
            if action == "InsertStatusValue":
                body["StateCode"] = 0 if state is None else state  # unpinned reasons go to the open state
            await self.api.send("POST", action, json=body, headers=self.headers)
            self.actions.append(f"added option {text!r} to {item.table}.{item.name}")
        self.touched.add(item.table)

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
                body = await self.api.get_json(
                    f"EntityDefinitions(LogicalName='{table}')/Keys",
                    {"$select": "SchemaName,KeyAttributes,EntityKeyIndexStatus"},
                )
                status = next(
                    (
                        k.get("EntityKeyIndexStatus", "Active")
                        for k in body.get("value", [])
                        if frozenset(k["KeyAttributes"]) == columns
                    ),
                    "Missing",
                )
                if status == "Active":
                    pending.discard((table, columns))
                elif status in ("Failed", "Missing"):
                    raise MigrationError(f"dynamics365: alternate key on {table} ({', '.join(columns)}) is {status}")
            if pending and time.monotonic() > deadline:
                raise MigrationError(f"dynamics365: alternate keys not active after {timeout}s: {sorted(pending)}")
            if pending:
                await asyncio.sleep(0.5)


def attribute_body(item: SchemaItem) -> dict[str, Any]:
    """The AttributeMetadata body creating column `item` (reference §8).

    Args:
        item: a `column` SchemaItem of a non-lookup type.

    Returns:
        The JSON body for `POST EntityDefinitions(LogicalName='t')/Attributes`.

    Raises:
        MigrationError: for a type Dataverse columns cannot have.
    """
    base = {
        "SchemaName": schema_name(item.name),
        "DisplayName": label(item.label or item.name),
        "RequiredLevel": {"Value": "None"},
    }
    kind = item.type
    if kind == "string":
        return {
            "@odata.type": _t("String"),
            **base,
            "MaxLength": item.max_length or 100,
            "FormatName": {"Value": "Text"},
        }
    if kind == "memo":
        return {"@odata.type": _t("Memo"), **base, "MaxLength": item.max_length or 2000, "Format": "TextArea"}
    if kind == "integer":
        return {
            "@odata.type": _t("Integer"),
            **base,
            "Format": "None",
            "MinValue": -2147483648,
            "MaxValue": 2147483647,
        }
    if kind in ("decimal", "money"):
        extra = {"MinValue": -100000000000.0, "MaxValue": 100000000000.0, "Precision": 2}
        return {"@odata.type": _t("Decimal" if kind == "decimal" else "Money"), **base, **extra}
    if kind == "boolean":
        option_set = {
            "TrueOption": {"Value": 1, "Label": label("Yes")},
            "FalseOption": {"Value": 0, "Label": label("No")},
            "OptionSetType": "Boolean",
        }
        return {"@odata.type": _t("Boolean"), **base, "OptionSet": option_set}
    if kind in ("date", "datetime"):
        return {
            "@odata.type": _t("DateTime"),
            **base,
            "Format": "DateOnly" if kind == "date" else "DateAndTime",
        }
    if kind in ("picklist", "multipicklist"):
        options = [
            {"Value": item.pin(text)[0] or OPTION_BASE + i, "Label": label(text)} for i, text in enumerate(item.options)
        ]
        option_set = {
            "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata",
            "IsGlobal": False,
            "OptionSetType": "Picklist",
            "Options": options,
        }
        name = "Picklist" if kind == "picklist" else "MultiSelectPicklist"
        return {"@odata.type": _t(name), **base, "OptionSet": option_set}
    raise MigrationError(f"dynamics365: cannot create a column of type {kind!r} ({item.table}.{item.name})")


def _t(name: str) -> str:
    return f"Microsoft.Dynamics.CRM.{name}AttributeMetadata"
