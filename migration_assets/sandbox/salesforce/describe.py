"""The org's schema at request time, and the describe responses built from it.

`load_schema` merges the standard objects with the custom objects, custom fields and standard value
set changes stored in SQLite, so a Tooling change made by any process is visible at once. Describe
shapes follow reference §4 (a subset of the ~50 field keys, all with real names and meanings).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Any

from migration_assets.sandbox.salesforce.custom import field_from_metadata, object_from_metadata
from migration_assets.sandbox.salesforce.schema import FieldDef, ObjectDef, PicklistValue
from migration_assets.sandbox.salesforce.standard import standard_objects
from migration_assets.sandbox.salesforce.store import option

Schema = dict[str, ObjectDef]

_POLYMORPHIC_WITH_CUSTOM = {
    ("Event", "WhatId"),
    ("Task", "WhatId"),
    ("Note", "ParentId"),
    ("ContentVersion", "FirstPublishLocationId"),
    ("ContentDocumentLink", "LinkedEntityId"),
}


def load_schema(conn: sqlite3.Connection) -> Schema:
    """Every object of the org as of now (standard + custom), by API name."""
    objects = standard_objects()
    for row in conn.execute("select name, id, definition from custom_objects order by rowid"):
        meta = json.loads(row["definition"])
        objects[row["name"]] = object_from_metadata(row["name"], meta, meta["keyPrefix"], row["id"])
    for row in conn.execute("select sobject, name, definition from custom_fields order by rowid"):
        objects[row["sobject"]].add(field_from_metadata(row["name"], json.loads(row["definition"]), objects))
    for row in conn.execute("select sobject, field, vals from picklist_overrides"):
        obj = objects[row["sobject"]]
        values = tuple(PicklistValue(**v) for v in json.loads(row["vals"]))
        obj.add(replace(obj.fields[row["field"]], picklist=values))
    customs = tuple(o.name for o in objects.values() if o.custom)
    for obj_name, field_name in _POLYMORPHIC_WITH_CUSTOM:
        f = objects[obj_name].fields[field_name]
        objects[obj_name].add(replace(f, reference_to=f.reference_to + customs))
    if option(conn, "set_audit_fields"):
        for obj in objects.values():
            for f in list(obj.fields.values()):
                if f.audit:
                    obj.add(replace(f, createable=True))
    return objects


def find_object(schema: Schema, name: str) -> ObjectDef | None:
    """The object named `name` in any case, or None."""
    low = name.lower()
    return next((o for o in schema.values() if o.name.lower() == low), None)


def object_for_prefix(schema: Schema, prefix: str) -> ObjectDef | None:
    """The object whose key prefix is `prefix`, or None."""
    return next((o for o in schema.values() if o.key_prefix == prefix), None)


def _soap_type(f: FieldDef) -> str:
    return {
        "id": "tns:ID",
        "reference": "tns:ID",
        "boolean": "xsd:boolean",
        "date": "xsd:date",
        "datetime": "xsd:dateTime",
        "double": "xsd:double",
        "currency": "xsd:double",
        "percent": "xsd:double",
        "int": "xsd:int",
        "base64": "xsd:base64Binary",
    }.get(f.type, "xsd:string")


def describe_field(f: FieldDef) -> dict[str, Any]:
    """The describe entry of one field."""
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "soapType": _soap_type(f),
        "length": f.length if f.type not in ("boolean", "date", "datetime", "double", "currency", "int") else 0,
        "byteLength": f.length * 3,
        "precision": f.precision,
        "scale": f.scale,
        "digits": f.precision if f.type == "int" else 0,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "defaultedOnCreate": f.defaulted,
        "externalId": f.external_id,
        "idLookup": f.id_lookup or f.is_key,
        "unique": f.unique,
        "custom": f.custom,
        "calculated": f.calculated,
        "autoNumber": f.auto_number,
        "caseSensitive": False,
        "htmlFormatted": f.html,
        "nameField": f.name == "Name",
        "filterable": f.type not in ("textarea", "base64"),
        "sortable": f.type not in ("textarea", "base64"),
        "groupable": f.type not in ("textarea", "base64", "double", "currency", "datetime"),
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "polymorphicForeignKey": f.polymorphic,
        "restrictedPicklist": f.restricted,
        "picklistValues": [p.describe() for p in f.picklist],
        "defaultValue": f.default if f.type == "boolean" else None,
        "dependentPicklist": False,
        "controllerName": None,
        "inlineHelpText": None,
        "deprecatedAndHidden": False,
    }


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/{version}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def describe_summary(obj: ObjectDef, version: str) -> dict[str, Any]:
    """The object entry of the global describe (`GET /sobjects`)."""
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": obj.createable,
        "updateable": obj.updateable,
        "deletable": obj.deletable,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "layoutable": True,
        "triggerable": True,
        "undeletable": obj.deletable,
        "activateable": False,
        "customSetting": False,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "mergeable": False,
        "replicateable": True,
        "urls": _urls(obj, version),
    }


def describe_object(schema: Schema, obj: ObjectDef, version: str) -> dict[str, Any]:
    """The full describe of one object, with fields and child relationships."""
    children = [
        {
            "childSObject": child.name,
            "field": f.name,
            "relationshipName": _child_relationship(child, f),
            "cascadeDelete": False,
            "restrictedDelete": False,
            "deprecatedAndHidden": False,
        }
        for child in schema.values()
        for f in child.fields.values()
        if obj.name in f.reference_to and f.name not in ("CreatedById", "LastModifiedById", "OwnerId")
    ]
    return describe_summary(obj, version) | {
        "fields": [describe_field(f) for f in obj.fields.values()],
        "childRelationships": children,
        "recordTypeInfos": [
            {
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "master": True,
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
            }
        ],
    }


def _child_relationship(child: ObjectDef, f: FieldDef) -> str | None:
    if f.custom:
        return child.label_plural.replace(" ", "_") + "__r"
    return child.label_plural.replace(" ", "") if not f.polymorphic else None
