"""What the spec needs that Dataverse lacks (schema_diff, pure) and the metadata bodies that add it.

`schema_diff` is also used by the pipeline for the schema-diff report, so it never does I/O and
its result is JSON-able (`SchemaDiff.to_dict()`). The writes themselves are in `writer.py`.

Naming rules (ours, following the real publisher-prefix rule): what we create is named
`<prefix>_<name>` in lower case (logical names), `<prefix>` being the configured publisher's
customization prefix (`destination_options.publisher_prefix`). Existing tables and columns may
carry any prefix: a name outside the publisher's prefix is only a conflict when it must be
created. The SchemaName capitalises the part after the prefix (`bd_matter` -> `bd_Matter`), which
is also the navigation property of a custom lookup. A new custom table gets the primary name
column `<prefix>_name` (String, 200 unless the spec sizes it); a new activity table gets `subject`
(real rule: its primary column's SchemaName is `Subject`). New status labels go to the default
(open/active) state: the spec names labels, not states. A many-to-many relationship is required as
an association table requirement (`TableRequirement.association`): its two lookup columns name the
related tables, in order (Entity1, Entity2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from migration_assets.connectors.base import (
    COLUMN_TYPES,
    ColumnInfo,
    ColumnRequirement,
    DestinationSchema,
    TableInfo,
    TableRequirement,
)
from migration_assets.connectors.dataverse.settings import COMPATIBLE_TYPES, Publisher, label
from migration_assets.errors import MigrationError

ACTIVITY_PRIMARY_NAME = "subject"  # activity tables must name their primary column Subject
NO_PUBLISHER = "no publisher is configured (set destination_options.publisher_prefix)"


@dataclass(frozen=True)
class SchemaItem:
    """One table, column, key or set of option labels, as found or as to be created."""

    kind: Literal["table", "column", "key", "option", "relationship"]
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
    entities: tuple[str, ...] = ()  # a relationship's (Entity1, Entity2) logical names

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
    """SchemaName for a custom logical name: `bd_matter_number` -> `bd_Matter_number`."""
    prefix, _, rest = logical.partition("_")
    return f"{prefix}_{rest[:1].upper()}{rest[1:]}"


def unprefixed(logical: str) -> str:
    """A custom name without its prefix (`bd_matter` -> `matter`); standard names unchanged."""
    prefix, sep, rest = logical.partition("_")
    return rest if sep and rest else prefix


def primary_name_column(publisher: Publisher | None) -> str | None:
    """The primary name column a new custom table gets: `<prefix>_name`."""
    return f"{publisher.prefix}_name" if publisher else None


@dataclass(frozen=True)
class _Context:
    publisher: Publisher | None
    tables: set[str]  # tables that exist or will be created

    def creatable(self, name: str) -> str | None:
        """Why `name` cannot be created under the publisher, or None when it can."""
        if self.publisher is None:
            return NO_PUBLISHER
        if not self.publisher.owns(name):
            return f"must be named {self.publisher.prefix}_<lowercase name>"
        return None


def schema_diff(
    schema: DestinationSchema, required: Sequence[TableRequirement], publisher: Publisher | None = None
) -> SchemaDiff:
    """Compare `schema` with `required`.

    Args:
        schema: the described destination (at least the required tables and lookup targets).
        required: the tables, columns, option labels, keys and relationships the spec needs.
        publisher: the publisher that would own what is created (None: nothing can be created).

    Returns:
        SchemaDiff with what exists, what must be created, and what conflicts (detail says why).
    """
    diff = SchemaDiff([], [], [])
    context = _Context(publisher, set(schema.tables) | {r.name for r in required if r.custom or r.association})
    for req in required:
        table = schema.tables.get(req.name)
        if req.association:
            _diff_relationship(req, table, diff, context)
        elif table is None:
            _diff_new_table(req, diff, context)
        else:
            _diff_existing_table(req, table, diff, context)
    return diff


def relationship_entities(req: TableRequirement) -> tuple[str, str] | str:
    """(Entity1, Entity2) of an association requirement, or why it is malformed."""
    lookups = [c for c in req.columns if c.type == "lookup" and c.target]
    if len(lookups) != 2 or len(req.columns) != 2:
        return f"association {req.name} needs exactly two lookup columns with targets"
    return str(lookups[0].target), str(lookups[1].target)


def intersect_columns(entity1: str, entity2: str) -> tuple[str, str]:
    """The intersect attribute names of a relationship (real: `<e>idone`/`<e>idtwo` when self-referencing)."""
    if entity1 == entity2:
        return f"{entity1}idone", f"{entity1}idtwo"
    return f"{entity1}id", f"{entity2}id"


def _diff_relationship(req: TableRequirement, table: TableInfo | None, diff: SchemaDiff, ctx: _Context) -> None:
    entities = relationship_entities(req)
    if isinstance(entities, str):
        diff.conflicting.append(SchemaItem("relationship", req.name, req.name, detail=entities))
        return
    item = SchemaItem("relationship", req.name, req.name, entities=entities, label=req.label)
    if table is not None:
        have = tuple(table.columns[c].targets[0] for c in table.columns if table.columns[c].targets)
        if not table.association or have != entities:
            detail = f"{req.name} exists but is not a many-to-many relationship between {entities[0]} and {entities[1]}"
            diff.conflicting.append(SchemaItem("relationship", req.name, req.name, detail=detail))
        else:
            diff.existing.append(item)
        return
    missing = [e for e in entities if e not in ctx.tables]
    why = ctx.creatable(req.name)
    if missing:
        detail = f"relationship {req.name} links {', '.join(missing)}, which does not exist and is not created"
    elif why:
        detail = f"relationship {req.name} does not exist and {why}"
    else:
        diff.to_create.append(item)
        return
    diff.conflicting.append(SchemaItem("relationship", req.name, req.name, detail=detail))


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


def _diff_new_table(req: TableRequirement, diff: SchemaDiff, ctx: _Context) -> None:
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
    why = ctx.creatable(req.name)
    if why:
        diff.conflicting.append(SchemaItem("table", req.name, req.name, detail=f"custom table {req.name} {why}"))
        return
    primary_name = ACTIVITY_PRIMARY_NAME if req.activity else primary_name_column(ctx.publisher)
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
            _diff_new_column(req.name, col, diff, ctx)
    for key_name, columns in req.keys.items():
        _diff_new_key(req.name, key_name, columns, diff, ctx)


def _diff_existing_table(req: TableRequirement, table: TableInfo, diff: SchemaDiff, ctx: _Context) -> None:
    diff.existing.append(SchemaItem("table", req.name, req.name))
    for col in req.columns:
        existing = table.columns.get(col.name)
        if existing is None:
            _diff_new_column(req.name, col, diff, ctx)
        else:
            _diff_existing_column(req.name, col, existing, diff)
    have = {frozenset(cols) for cols in table.keys.values()}
    for key_name, columns in req.keys.items():
        if frozenset(columns) in have:
            diff.existing.append(SchemaItem("key", req.name, key_name, columns=tuple(columns)))
        else:
            _diff_new_key(req.name, key_name, columns, diff, ctx)


def _diff_new_key(table: str, name: str, columns: Sequence[str], diff: SchemaDiff, ctx: _Context) -> None:
    item = SchemaItem("key", table, name, columns=tuple(columns))
    if ctx.publisher is None:
        detail = f"key {table}.{name} does not exist; {NO_PUBLISHER}"
        diff.conflicting.append(SchemaItem("key", table, name, columns=tuple(columns), detail=detail))
    else:
        diff.to_create.append(item)


def _diff_new_column(table: str, col: ColumnRequirement, diff: SchemaDiff, ctx: _Context) -> None:
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
    why = ctx.creatable(col.name)
    if why:
        detail = f"{table}.{col.name} does not exist; " + (why if why == NO_PUBLISHER else f"new columns {why}")
        diff.conflicting.append(SchemaItem("column", table, col.name, type=col.type, detail=detail))
    elif col.type not in CREATABLE_TYPES:
        detail = f"{table}.{col.name} does not exist and columns of type {col.type} cannot be created"
        diff.conflicting.append(SchemaItem("column", table, col.name, type=col.type, detail=detail))
    elif col.type == "lookup" and col.target not in ctx.tables:
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
        detail = f"{table}.{col.name} exists as {existing.type} but the spec needs {col.type}"
        diff.conflicting.append(SchemaItem("column", table, col.name, type=existing.type, detail=detail))
        return
    if col.type == "lookup" and col.target and col.target not in existing.targets:
        detail = f"{table}.{col.name} is a lookup to {', '.join(existing.targets)}, not to {col.target}"
        diff.conflicting.append(SchemaItem("column", table, col.name, type="lookup", detail=detail))
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


CREATABLE_TYPES = frozenset(COLUMN_TYPES)  # every column type the spec can declare


def attribute_body(item: SchemaItem, first_option_value: int) -> dict[str, Any]:
    """The AttributeMetadata body creating column `item` (reference §8).

    Args:
        item: a `column` SchemaItem of a non-lookup type.
        first_option_value: the publisher's first custom option value (prefix x 10,000); used for
            choice options the spec does not pin.

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
            {"Value": item.pin(text)[0] or first_option_value + i, "Label": label(text)}
            for i, text in enumerate(item.options)
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
