"""Custom schema: turning Tooling-shaped Metadata into field and object definitions.

Metadata keys follow the Metadata API's CustomObject / CustomField types (label, type, length,
precision, scale, externalId, unique, referenceTo, relationshipName, valueSet). Stored as JSON in
`custom_objects` / `custom_fields` and merged into the schema at request time.
"""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.salesforce.faults import SfError
from migration_assets.sandbox.salesforce.schema import (
    F,
    FieldDef,
    ObjectDef,
    PicklistValue,
    make_object,
    read_only,
)

# Metadata field type -> (describe type, default length).
FIELD_TYPES: dict[str, tuple[str, int]] = {
    "Text": ("string", 0),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 0),
    "Html": ("textarea", 0),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Url": ("url", 255),
    "Number": ("double", 0),
    "Currency": ("currency", 0),
    "Percent": ("percent", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
    "Checkbox": ("boolean", 0),
    "Picklist": ("picklist", 255),
    "MultiselectPicklist": ("multipicklist", 4099),
    "Lookup": ("reference", 18),
}


def _bad(message: str, fields: list[str] | None = None) -> SfError:
    return SfError("FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def picklist_values(value_set: dict[str, Any] | None) -> tuple[tuple[PicklistValue, ...], bool]:
    """(values, restricted) from a Metadata `valueSet`."""
    if not value_set:
        raise _bad("Picklist fields need a valueSet", ["valueSet"])
    definition = value_set.get("valueSetDefinition") or {}
    raw = definition.get("value") or []
    if not isinstance(raw, list) or not raw:
        raise _bad("valueSetDefinition.value must list at least one value", ["valueSet"])
    values = []
    for entry in raw:
        name = entry.get("fullName") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise _bad("every picklist value needs a fullName", ["valueSet"])
        values.append(
            PicklistValue(
                name,
                str(entry.get("label") or name),
                bool(entry.get("default", False)),
                bool(entry.get("isActive", True)),
            )
        )
    return tuple(values), bool(value_set.get("restricted", False))


def field_from_metadata(name: str, meta: dict[str, Any], objects: dict[str, ObjectDef]) -> FieldDef:
    """A custom FieldDef from CustomField Metadata.

    Raises:
        SfError: on an unknown type, a missing label or length, or a lookup to an unknown object.
    """
    kind = meta.get("type")
    if kind not in FIELD_TYPES:
        raise _bad(f"Invalid field type: {kind}", ["type"])
    if not isinstance(meta.get("label"), str) or not meta["label"]:
        raise SfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", ["label"])
    sf_type, length = FIELD_TYPES[kind]
    kw: dict[str, Any] = {
        "custom": True,
        "label": meta["label"],
        "external_id": bool(meta.get("externalId")),
        "unique": bool(meta.get("unique")),
        "html": kind == "Html",
    }
    if kind in ("Text", "LongTextArea", "Html"):
        length = _int(meta.get("length"), "length")
        limit = 255 if kind == "Text" else 131072
        if not 1 <= length <= limit:
            raise _bad(f"Length must be between 1 and {limit}", ["length"])
    if kind in ("Number", "Currency", "Percent"):
        precision, scale = _int(meta.get("precision", 18), "precision"), _int(meta.get("scale", 0), "scale")
        if not (1 <= precision <= 18 and 0 <= scale <= precision):
            raise _bad("Precision must be 1-18 and scale between 0 and precision", ["precision"])
        kw |= {"precision": precision, "scale": scale}
    if kind == "Checkbox":
        kw |= {
            "nillable": False,
            "defaulted": True,
            "default": str(meta.get("defaultValue", "false")) == "true",
        }
    if kind in ("Picklist", "MultiselectPicklist"):
        kw["picklist"], kw["restricted"] = picklist_values(meta.get("valueSet"))
        kw["defaulted"] = any(p.default for p in kw["picklist"])
    if kind == "Lookup":
        target, rel = meta.get("referenceTo"), meta.get("relationshipName")
        if target not in objects:
            raise _bad(f"referenceTo: unknown object {target!r}", ["referenceTo"])
        if not isinstance(rel, str) or not rel:
            raise SfError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [relationshipName]",
                ["relationshipName"],
            )
        kw |= {"reference_to": (objects[target].name,), "relationship_name": rel.removesuffix("__r") + "__r"}
    if meta.get("required"):
        kw["nillable"] = False
    return F(name, sf_type, length=length, **kw)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(f"{name} must be a number", [name])
    try:
        return int(value)
    except ValueError:
        raise _bad(f"{name} must be a number", [name]) from None


def object_from_metadata(name: str, meta: dict[str, Any], prefix: str, tooling_id: str) -> ObjectDef:
    """A custom ObjectDef (system fields + Name) from CustomObject Metadata.

    Raises:
        SfError: when label, pluralLabel or nameField is missing or invalid.
    """
    for key in ("label", "pluralLabel"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise SfError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{key}]", [key])
    name_field = meta.get("nameField") or {}
    kind = name_field.get("type")
    if kind not in ("Text", "AutoNumber"):
        raise _bad("nameField.type must be Text or AutoNumber", ["nameField"])
    label = str(name_field.get("label") or f"{meta['label']} Name")
    name_def = (
        F("Name", "string", label, length=80, nillable=False, id_lookup=True)
        if kind == "Text"
        else read_only(
            F(
                "Name",
                "string",
                label,
                length=80,
                nillable=False,
                defaulted=True,
                auto_number=True,
                id_lookup=True,
            )
        )
    )
    obj = make_object(name, meta["label"], meta["pluralLabel"], prefix, [name_def], custom=True, tooling_id=tooling_id)
    return obj
