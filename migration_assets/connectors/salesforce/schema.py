"""Describe objects, compare them with what a spec needs, and create what is missing.

Reading uses the real `GET /sobjects/<O>/describe` (reference section 4): field types map to our
column vocabulary, "required on create" is `createable && !nillable && !defaultedOnCreate && type !=
boolean`, and keys are the external-id fields. Writing uses the Tooling-shaped endpoints the sandbox
shares with us (*invented* bodies, real resource names): `tooling/sobjects/CustomObject`,
`tooling/sobjects/CustomField` (POST to create, PATCH `<id>` with the full Metadata to add picklist
values) and `tooling/sobjects/StandardValueSet/<Name>` for standard picklists such as Case.Status
(the full list replaces the old one, so existing values are always sent back: nothing is removed).

`schema_diff` is pure: the pipeline's schema-diff report uses it without touching the org.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from migration_assets.connectors.base import (
    ColumnInfo,
    ColumnRequirement,
    DestinationSchema,
    TableInfo,
    TableRequirement,
)
from migration_assets.connectors.salesforce.client import SalesforceClient
from migration_assets.connectors.salesforce.settings import (
    ACTIVITY_TABLES,
    COMPATIBLE_TYPES,
    FIELD_TYPES,
    LONG_TEXT_LENGTH,
    STANDARD_VALUE_SETS,
    TEXT_MAX,
)
from migration_assets.connectors.salesforce.soql import quote
from migration_assets.errors import MigrationError, RemoteRejected

ChangeKind = Literal["table", "column", "options", "key"]


# -- reading ----------------------------------------------------------------------------------
def is_required(field_info: Mapping[str, Any]) -> bool:
    """The client heuristic for "required on create" (reference section 4)."""
    return bool(
        field_info.get("createable")
        and not field_info.get("nillable")
        and not field_info.get("defaultedOnCreate")
        and field_info.get("type") != "boolean"
    )


def to_column(field_info: Mapping[str, Any]) -> ColumnInfo:
    """One describe field as a ColumnInfo (picklist options = active values)."""
    sf_type = field_info.get("type", "string")
    column_type = FIELD_TYPES.get(sf_type, sf_type)
    options: tuple[str, ...] = ()
    if column_type in ("picklist", "multipicklist"):
        options = tuple(v["value"] for v in field_info.get("picklistValues") or [] if v.get("active", True))
    length = field_info.get("length") or None
    return ColumnInfo(
        name=field_info["name"],
        type=column_type,
        required=is_required(field_info),
        max_length=length if column_type in ("string", "memo") else None,
        options=options,
        targets=tuple(field_info.get("referenceTo") or ()),
        custom=bool(field_info.get("custom")),
    )


def to_table(describe: Mapping[str, Any]) -> TableInfo:
    """A describe body as a TableInfo (keys = external-id fields, primary id `Id`)."""
    columns = {f["name"]: to_column(f) for f in describe.get("fields", [])}
    keys = {f["name"]: (f["name"],) for f in describe.get("fields", []) if f.get("externalId")}
    name = describe["name"]
    return TableInfo(
        name=name,
        columns=columns,
        keys=keys,
        custom=bool(describe.get("custom")),
        activity=name in ACTIVITY_TABLES,
        primary_id="Id",
    )


async def describe_table(client: SalesforceClient, name: str) -> dict[str, Any] | None:
    """The raw describe body of one object, or None when the org has no such object."""
    try:
        return await client.json("GET", f"/sobjects/{name}/describe")
    except RemoteRejected as exc:
        if exc.status == 404:
            return None
        raise


# -- diff ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SchemaChange:
    """One difference between the org and a requirement.

    Attributes:
        kind: "table", "column", "options" (picklist values) or "key" (external-id field).
        table: object API name.
        column: field API name (None for a table).
        type: our column type of the column to create.
        options: picklist values to add.
        detail: for conflicts, why the org cannot satisfy the requirement as is.
    """

    kind: ChangeKind
    table: str
    column: str | None = None
    type: str | None = None
    options: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class SchemaDiff:
    """What exists, what `apply_schema` would create, and what conflicts (needs a person)."""

    existing: tuple[str, ...] = ()
    to_create: tuple[SchemaChange, ...] = ()
    conflicting: tuple[SchemaChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the diff."""
        return asdict(self)


@dataclass
class _DiffBuilder:
    existing: list[str] = field(default_factory=list)
    to_create: list[SchemaChange] = field(default_factory=list)
    conflicting: list[SchemaChange] = field(default_factory=list)

    def build(self) -> SchemaDiff:
        return SchemaDiff(tuple(self.existing), tuple(self.to_create), tuple(self.conflicting))

    def conflict(self, table: str, col: ColumnRequirement, detail: str) -> None:
        self.conflicting.append(SchemaChange("column", table, col.name, col.type, detail=detail))


def schema_diff(schema: DestinationSchema, required: Sequence[TableRequirement]) -> SchemaDiff:
    """Compare the described org with the spec's requirements (pure: no I/O, inputs untouched).

    Args:
        schema: the result of `describe()` for (at least) the required tables.
        required: the tables, columns, picklist values and keys the spec needs.

    Returns:
        The SchemaDiff: existing items as "Table" / "Table.Column", changes to create, conflicts.
    """
    out = _DiffBuilder()
    for req in required:
        table = schema.tables.get(req.name)
        if table is None:
            _diff_missing_table(req, out)
        else:
            out.existing.append(req.name)
            _diff_table(req, table, out)
    return out.build()


def _key_columns(req: TableRequirement) -> list[str]:
    return list(dict.fromkeys(c for cols in req.keys.values() for c in cols))


def _diff_missing_table(req: TableRequirement, out: _DiffBuilder) -> None:
    if not req.custom or not req.name.endswith("__c"):
        out.conflicting.append(
            SchemaChange(
                "table",
                req.name,
                detail="standard object is not available in the org"
                if not req.custom
                else "custom object names must end in __c",
            )
        )
        return
    out.to_create.append(SchemaChange("table", req.name))
    for col in req.columns:
        if col.name.lower() != "name":  # the name field comes with the object
            _diff_missing_column(req.name, col, col.name in _key_columns(req), out)
    declared = {c.name for c in req.columns}
    for key in _key_columns(req):
        if key not in declared:
            out.to_create.append(SchemaChange("key", req.name, key, "string"))


def _diff_table(req: TableRequirement, table: TableInfo, out: _DiffBuilder) -> None:
    keys = _key_columns(req)
    for col in req.columns:
        existing = table.columns.get(col.name)
        if existing is None:
            _diff_missing_column(req.name, col, col.name in keys, out)
        else:
            out.existing.append(f"{req.name}.{col.name}")
            _diff_column(req.name, col, existing, out)
    declared = {c.name for c in req.columns}
    for key in keys:
        if key in table.keys:
            if key not in declared:
                out.existing.append(f"{req.name}.{key}")
        elif key in table.columns:
            out.conflicting.append(SchemaChange("key", req.name, key, detail="field exists but is not an External ID"))
        elif key not in declared:
            out.to_create.append(SchemaChange("key", req.name, key, "string"))


def _diff_missing_column(table: str, col: ColumnRequirement, is_key: bool, out: _DiffBuilder) -> None:
    if not col.name.endswith("__c"):
        out.conflict(table, col, "standard field is missing; custom field names end in __c")
    elif col.type == "lookup" and not col.target:
        out.conflict(table, col, "lookup without a target")
    else:
        out.to_create.append(SchemaChange("key" if is_key else "column", table, col.name, col.type, col.options))


def _diff_column(table: str, col: ColumnRequirement, existing: ColumnInfo, out: _DiffBuilder) -> None:
    if existing.type != col.type and existing.type not in COMPATIBLE_TYPES.get(col.type, ()):
        out.conflict(table, col, f"exists as {existing.type}, spec needs {col.type}")
        return
    if col.type == "lookup" and col.target and col.target not in existing.targets:
        out.conflict(table, col, f"looks up {list(existing.targets)}, spec needs {col.target}")
    elif col.max_length and existing.max_length and col.max_length > existing.max_length:
        out.conflict(table, col, f"max length {existing.max_length} < {col.max_length}")
    missing = tuple(o for o in col.options if o not in existing.options)
    if missing and existing.type in ("picklist", "multipicklist"):
        out.to_create.append(SchemaChange("options", table, col.name, existing.type, missing))


# -- writing ------------------------------------------------------------------------------------
def field_metadata(
    change: SchemaChange, label: str | None, target: str | None, max_length: int | None = None
) -> dict[str, Any]:
    """Tooling `CustomField` Metadata for a new column (our type → Metadata API type).

    Args:
        change: the column or key change.
        label: label from the spec (defaults to the API name without `__c`).
        target: lookup target object.
        max_length: longest text the spec needs; above 255 a string becomes a LongTextArea.

    Returns:
        The Metadata dict.
    """
    base = change.column.removesuffix("__c") if change.column else ""
    meta: dict[str, Any] = {"label": label or base.replace("_", " ")}
    kind = change.type or "string"
    if kind == "string" and (max_length or 0) > TEXT_MAX and change.kind != "key":
        meta.update(type="LongTextArea", length=max(max_length or 0, TEXT_MAX + 1), visibleLines=3)
    elif kind == "string":
        meta.update(type="Text", length=TEXT_MAX)
    elif kind == "memo":
        meta.update(type="LongTextArea", length=LONG_TEXT_LENGTH, visibleLines=5)
    elif kind == "integer":
        meta.update(type="Number", precision=18, scale=0)
    elif kind == "decimal":
        meta.update(type="Number", precision=18, scale=4)
    elif kind == "money":
        meta.update(type="Currency", precision=18, scale=2)
    elif kind in ("boolean", "date", "datetime"):
        meta["type"] = {"boolean": "Checkbox", "date": "Date", "datetime": "DateTime"}[kind]
    elif kind in ("picklist", "multipicklist"):
        meta["type"] = "Picklist" if kind == "picklist" else "MultiselectPicklist"
        meta["valueSet"] = value_set(change.options, ())
    elif kind == "lookup":
        meta.update(type="Lookup", referenceTo=target, relationshipName=base)
    else:
        raise MigrationError(f"salesforce: cannot create {change.table}.{change.column} of type {kind!r}")
    if change.kind == "key":
        meta.update(externalId=True, unique=True)
    return meta


def value_set(new: Sequence[str], existing: Sequence[str]) -> dict[str, Any]:
    """A restricted `valueSet` holding the existing values followed by the new ones."""
    values = list(dict.fromkeys([*existing, *new]))
    return {
        "restricted": True,
        "valueSetDefinition": {"value": [{"fullName": v, "label": v, "default": False} for v in values]},
    }


class SchemaWriter:
    """Applies the `to_create` part of a SchemaDiff through the Tooling-shaped endpoints.

    Args:
        client: the org client.
        describes: raw describe bodies of the required tables that exist (for picklist edits).
        required: the requirements (labels and lookup targets).
    """

    def __init__(
        self,
        client: SalesforceClient,
        describes: Mapping[str, Mapping[str, Any]],
        required: Sequence[TableRequirement],
    ) -> None:
        self.client = client
        self.describes = describes
        self.columns = {(t.name, c.name): c for t in required for c in t.columns}
        self.tables = {t.name: t for t in required}

    async def apply(self, change: SchemaChange) -> str:
        """Create one table, column or key, or add picklist values; return what was done."""
        if change.kind == "table":
            return await self._create_object(change.table)
        if change.kind == "options":
            return await self._add_values(change)
        return await self._create_field(change)

    async def _create_object(self, name: str) -> str:
        req = self.tables[name]
        label = req.label or name.removesuffix("__c").replace("_", " ")
        metadata = {
            "label": label,
            "pluralLabel": label + "s",
            "nameField": {"type": "Text", "label": "Name"},
            "deploymentStatus": "Deployed",
            "sharingModel": "ReadWrite",
        }
        await self.client.json("POST", "/tooling/sobjects/CustomObject", json={"FullName": name, "Metadata": metadata})
        return f"created object {name}"

    async def _create_field(self, change: SchemaChange) -> str:
        col = self.columns.get((change.table, change.column or ""))
        meta = field_metadata(
            change, col.label if col else None, col.target if col else None, col.max_length if col else None
        )
        body = {"FullName": f"{change.table}.{change.column}", "Metadata": meta}
        await self.client.json("POST", "/tooling/sobjects/CustomField", json=body)
        return f"created field {change.table}.{change.column} ({meta['type']})"

    async def _add_values(self, change: SchemaChange) -> str:
        column = change.column or ""
        current = self._field(change.table, column)
        existing = [v["value"] for v in current.get("picklistValues") or []]
        standard = STANDARD_VALUE_SETS.get((change.table, column))
        if standard:
            await self._patch_standard_set(standard, current, change.options)
        else:
            await self._patch_custom_picklist(change, current, existing)
        return f"added {list(change.options)} to {change.table}.{column}"

    async def _patch_standard_set(self, name: str, current: Mapping[str, Any], new: Sequence[str]) -> None:
        values = [
            {
                "fullName": v["value"],
                "label": v.get("label") or v["value"],
                "default": bool(v.get("defaultValue")),
                "closed": is_closed_value(v["value"]),
            }
            for v in current.get("picklistValues") or []
        ]
        values += [{"fullName": v, "label": v, "default": False, "closed": is_closed_value(v)} for v in new]
        body = {"Metadata": {"standardValue": values}}
        await self.client.send("PATCH", f"/tooling/sobjects/StandardValueSet/{name}", json=body)

    async def _patch_custom_picklist(
        self, change: SchemaChange, current: Mapping[str, Any], existing: Sequence[str]
    ) -> None:
        field_id = await self._custom_field_id(change.table, change.column or "")
        meta = {
            "label": current.get("label") or change.column,
            "type": "Picklist" if change.type == "picklist" else "MultiselectPicklist",
            "valueSet": value_set(change.options, existing),
        }
        meta["valueSet"]["restricted"] = bool(current.get("restrictedPicklist", True))
        await self.client.send("PATCH", f"/tooling/sobjects/CustomField/{field_id}", json={"Metadata": meta})

    async def _custom_field_id(self, table: str, column: str) -> str:
        soql = f"SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = {quote(table)}"
        page = await self.client.json("GET", "/tooling/query", params={"q": soql})
        name = column.removesuffix("__c")
        for record in page.get("records", []):
            if record.get("DeveloperName") == name:
                return str(record["Id"])
        raise MigrationError(f"salesforce: no CustomField id found for {table}.{column}")

    def _field(self, table: str, column: str) -> Mapping[str, Any]:
        for f in self.describes[table].get("fields", []):
            if f["name"] == column:
                return f
        raise MigrationError(f"salesforce: {table}.{column} vanished from describe")


def is_closed_value(value: str) -> bool:
    """Whether a Case status value closes the case (our convention: its name contains "closed").

    Describe does not say which status values are closed; the real answer lives in the CaseStatus
    object, which the sandbox does not serve, so a value named like "Closed Won" counts as closed.
    """
    return "closed" in value.lower()


def creation_order(changes: Sequence[SchemaChange]) -> list[SchemaChange]:
    """Tables first, then keys and columns (lookups last so their targets exist), then values."""
    rank = {"table": 0, "key": 1, "column": 2, "options": 4}
    return sorted(changes, key=lambda c: rank[c.kind] + (1 if c.type == "lookup" else 0))
