"""Object and field definitions: the model behind describe, validation, SOQL and Bulk.

`FieldDef` carries the describe attributes the emulator enforces (type, length, nillable,
createable/updateable, externalId/unique, referenceTo, restricted picklists). `ObjectDef` is one
sObject; names are matched case-insensitively, as the real API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

STRING_TYPES = {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox"}
NUMBER_TYPES = {"double", "currency", "percent", "int"}


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry; `closed` marks Case/Task statuses that close the record."""

    value: str
    label: str = ""
    default: bool = False
    active: bool = True
    closed: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "defaultValue": self.default,
            "label": self.label or self.value,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class FieldDef:
    """The describe attributes of one field that the emulator enforces."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False
    external_id: bool = False
    unique: bool = False
    custom: bool = False
    auto_number: bool = False
    calculated: bool = False
    id_lookup: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    polymorphic: bool = False
    restricted: bool = False
    picklist: tuple[PicklistValue, ...] = ()
    precision: int = 0
    scale: int = 0
    default: Any = None
    html: bool = False
    audit: bool = False

    @property
    def is_key(self) -> bool:
        """Indexed for upsert and relationship lookups (external id, unique or idLookup)."""
        return self.external_id or self.unique or (self.id_lookup and self.type != "id")

    @property
    def required_on_create(self) -> bool:
        """The documented client heuristic for required fields."""
        return self.createable and not self.nillable and not self.defaulted and self.type != "boolean"

    def picklist_default(self) -> str | None:
        return next((p.value for p in self.picklist if p.default and p.active), None)


@dataclass
class ObjectDef:
    """One sObject: its fields by canonical name plus object-level permissions."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    custom: bool = False
    tooling_id: str | None = None

    def __post_init__(self) -> None:
        self._lower = {n.lower(): n for n in self.fields}

    def add(self, f: FieldDef) -> None:
        self.fields[f.name] = f
        self._lower[f.name.lower()] = f.name

    def field(self, name: str) -> FieldDef | None:
        """The field named `name` (any case), or None."""
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationshipName is `name` (any case), or None."""
        low = name.lower()
        return next(
            (f for f in self.fields.values() if f.relationship_name and f.relationship_name.lower() == low),
            None,
        )


def F(name: str, type_: str, label: str = "", **kw: Any) -> FieldDef:
    """Shorthand for a field definition (string-like types get a default length)."""
    if type_ in STRING_TYPES and "length" not in kw:
        kw["length"] = 255
    return FieldDef(name=name, type=type_, label=label or _label(name), **kw)


def ref(name: str, targets: tuple[str, ...], rel: str, label: str = "", **kw: Any) -> FieldDef:
    """A lookup field (18-character id, `relationshipName` for SOQL and Bulk headers)."""
    return F(name, "reference", label, length=18, reference_to=targets, relationship_name=rel, **kw)


def picklist(
    name: str,
    values: list[str],
    *,
    default: str | None = None,
    closed: set[str] | None = None,
    restricted: bool = False,
    multi: bool = False,
    **kw: Any,
) -> FieldDef:
    """A (multi)picklist field with its values; `default` also marks it defaultedOnCreate."""
    entries = tuple(PicklistValue(v, v, default=v == default, closed=v in (closed or set())) for v in values)
    return F(
        name,
        "multipicklist" if multi else "picklist",
        picklist=entries,
        restricted=restricted,
        defaulted=default is not None or kw.pop("defaulted", False),
        length=4099 if multi else 255,
        **kw,
    )


def read_only(f: FieldDef) -> FieldDef:
    """The field made neither createable nor updateable."""
    return replace(f, createable=False, updateable=False)


def create_only(f: FieldDef) -> FieldDef:
    """The field made createable only."""
    return replace(f, updateable=False)


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") if name != "Id" else "Record ID"
    out = ""
    for i, ch in enumerate(base.replace("_", " ")):
        if ch.isupper() and i and base[i - 1].islower():
            out += " "
        out += ch
    return out.strip() or name


def system_fields(owner: bool = True) -> list[FieldDef]:
    """Fields every object has: Id, audit fields, IsDeleted, SystemModstamp (and OwnerId)."""
    fields = [
        F(
            "Id",
            "id",
            "Record ID",
            length=18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
            id_lookup=True,
        ),
        F(
            "IsDeleted",
            "boolean",
            "Deleted",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
        F(
            "CreatedDate",
            "datetime",
            "Created Date",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
            audit=True,
        ),
        ref(
            "CreatedById",
            ("User",),
            "CreatedBy",
            "Created By ID",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
            audit=True,
        ),
        F(
            "LastModifiedDate",
            "datetime",
            "Last Modified Date",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
            audit=True,
        ),
        ref(
            "LastModifiedById",
            ("User",),
            "LastModifiedBy",
            "Last Modified By ID",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
            audit=True,
        ),
        F(
            "SystemModstamp",
            "datetime",
            "System Modstamp",
            nillable=False,
            createable=False,
            updateable=False,
            defaulted=True,
        ),
    ]
    if owner:
        fields.append(ref("OwnerId", ("User",), "Owner", "Owner ID", nillable=False, defaulted=True))
    return fields


def make_object(
    name: str, label: str, plural: str, prefix: str, fields: list[FieldDef], *, owner: bool = True, **kw: Any
) -> ObjectDef:
    """An ObjectDef with the system fields followed by `fields`."""
    all_fields = {f.name: f for f in [*system_fields(owner), *fields]}
    return ObjectDef(name, label, plural, prefix, all_fields, **kw)
