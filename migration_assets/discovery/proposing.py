"""The offline mapping proposer behind `migrate propose SOURCE DESTINATION`.

Deterministic, no model and no network: for every destination table whose CRM concept (person,
organization, case, task, ...) a source object shares, and for every column of it, the best
source field by
- known synonyms of CRM vocabularies (`FIELD_SYNONYMS`: first_name ~ firstname ~ FirstName ...),
- name similarity (rapidfuzz ratio of the normalized names),
- type compatibility (source raw type vs destination column type),
- pick-list value overlap (source labels vs the destination's option labels, when discovered),
greedily assigned, highest score first, each field at most once per object. Lookups follow the
source catalog's parent references to the object that holds the parent. The draft marks every
object and proposal `confirmed: false`; the pipeline refuses to load it until a person confirms.

`score_against(draft, hand)` measures the proposals against a hand-confirmed spec: a proposal is
correct when the hand spec maps the same destination (table, column) from the same source fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from rapidfuzz import fuzz

from migration_assets.connectors.base import SourceField, SourceObject
from migration_assets.spec.catalogs import destination_catalog, destination_external_id_column, source_catalog
from migration_assets.spec.expressions import normalize_label
from migration_assets.spec.loader import LoadedSpec

THRESHOLD = 0.6
# CRM concepts and the object names systems give them.
OBJECT_CONCEPTS: dict[str, tuple[str, ...]] = {
    "person": ("contact", "contacts", "client", "clients", "people", "person", "customers"),
    "organization": ("account", "accounts", "company", "companies", "firm", "firms", "organization"),
    "case": ("incident", "case", "cases", "ticket", "tickets"),
    "deal": ("opportunity", "deal", "deals", "matter", "matters"),
    "task": ("task", "tasks", "todo", "todos"),
    "event": ("appointment", "event", "events", "calendar_events", "meetings"),
    "note": ("annotation", "note", "notes"),
    "lead": ("lead", "leads", "prospects"),
}
# Field concepts: names of the same field across CRM vocabularies (compared normalized).
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first name": ("firstname", "first_name", "fname", "given_name"),
    "last name": ("lastname", "last_name", "surname", "family_name"),
    "email": ("emailaddress1", "email", "email_address", "primary_email"),
    "mobile": ("mobilephone", "cell_phone", "mobile", "cell"),
    "phone": ("telephone1", "phone", "work_phone"),
    "birth date": ("birthdate", "birth_date", "dob", "date_of_birth"),
    "title": ("title", "subject", "name"),
    "body": ("description", "body", "content", "body_html", "notetext"),
    "priority": ("prioritycode", "priority"),
    "status": ("statuscode", "status"),
    "start": ("scheduledstart", "startdatetime", "start", "start_time"),
    "end": ("scheduledend", "enddatetime", "end", "end_time"),
    "due": ("activitydate", "due", "due_date", "duedate"),
    "location": ("location",),
    "job title": ("jobtitle", "job_title"),
    "website": ("websiteurl", "website", "url"),
    "amount": ("estimatedvalue", "amount", "case_value", "value"),
    "close date": ("estimatedclosedate", "closedate", "expected_close_date"),
    "type": ("type", "casetypecode", "activity_type"),
    "created": ("overriddencreatedon", "created_at", "createddate", "original_create_date__c"),
}
# Lookup column -> concept of the object it points at.
LOOKUP_CONCEPTS: dict[str, tuple[str, ...]] = {
    "parentcustomerid": ("organization",),
    "accountid": ("organization",),
    "customerid": ("person", "organization"),
    "contactid": ("person",),
    "primarycontactid": ("person",),
    "regardingobjectid": ("case", "deal"),
    "objectid": ("case", "deal"),
    "whatid": ("case", "deal"),
    "parentid": ("case", "deal"),
    "whoid": ("person",),
}
DERIVED_FROM_FIELD = {"organization": ("company", "company_name", "firm", "organization")}
SKIP_COLUMNS = re.compile(r"^(ownerid|owner_?id|statecode|createdon|modifiedon)$", re.I)
COMPATIBLE: dict[str, set[str]] = {
    "str": {"string", "memo", "picklist", "date", "datetime", "decimal", "money", "integer", "boolean"},
    "int": {"integer", "decimal", "money", "string"},
    "float": {"decimal", "money", "string"},
    "bool": {"boolean"},
    "datetime": {"datetime", "date"},
    "date": {"date", "datetime"},
    "json": set(),
}


def _norm(name: str) -> str:
    return re.sub(r"(__c|_?id)$", "", name.lower()).replace("_", "")


def concept_of_object(name: str) -> str | None:
    lowered = name.lower()
    return next((c for c, names in OBJECT_CONCEPTS.items() if lowered in names), None)


def _synonym(column: str, field: str) -> str | None:
    col, fld = column.lower(), field.lower()
    return next((c for c, names in FIELD_SYNONYMS.items() if col in names and fld in names), None)


@dataclass(frozen=True)
class Proposal:
    column: str
    field: str
    expr: Any
    confidence: float
    reason: str


def score_field(column: str, col_type: str, field: SourceField, options: tuple[str, ...]) -> tuple[float, str]:
    """Confidence (0-1) that `field` fills `column`, and the one-line reason."""
    allowed = COMPATIBLE.get(field.type, set())
    if col_type not in allowed:
        return 0.0, "incompatible types"
    reasons, score = [], 0.0
    if (concept := _synonym(column, field.name)) is not None:
        score, reasons = 0.9, [f"known synonym ({concept})"]
    similarity = fuzz.ratio(_norm(column), _norm(field.name)) / 100
    if similarity >= 0.8 and similarity > score:
        score, reasons = similarity, [f"name similarity {similarity:.2f}"]
    if options and field.values:
        have = {normalize_label(o) for o in options}
        overlap = sum(1 for v in field.values if normalize_label(v) in have)
        if overlap:
            share = overlap / len(field.values)
            score = max(score, 0.5 + 0.45 * share)
            reasons.append(f"pick-list overlap {overlap}/{len(field.values)}")
    if score and field.type != "str" and col_type in allowed:
        reasons.append(f"type {field.type}→{col_type}")
    return round(min(score, 0.99), 2), "; ".join(reasons)


def expression(field: SourceField, column: str, col_type: str) -> Any:
    """The expression that converts the field to the column's type."""
    if col_type == "date":
        return {"op": "to_date", "of": field.name}
    if col_type == "datetime":
        return {"op": "to_datetime", "of": field.name}
    if col_type == "integer" and field.type != "int":
        return {"op": "to_int", "of": field.name}
    if col_type in ("decimal", "money"):
        return {"op": "to_decimal", "of": field.name}
    if col_type == "boolean":
        return {"op": "to_bool", "of": field.name}
    if "email" in column.lower():
        return {"op": "lower", "of": field.name}
    if field.type == "str":
        return {"op": "trim", "of": field.name}
    return field.name


def _options(destination: Mapping[str, Any] | None, table: str, column: str) -> dict[str, Any]:
    info = (((destination or {}).get("tables") or {}).get(table) or {}).get("columns", {}).get(column) or {}
    options = info.get("options") or {}
    return dict(options) if isinstance(options, Mapping) else {o: o for o in options}


def propose_fields(
    source: SourceObject, table: str, columns: Mapping[str, str], destination: Mapping[str, Any] | None
) -> list[Proposal]:
    """Greedy best-first assignment of source fields to the table's non-lookup columns."""
    candidates = []
    for column, col_type in columns.items():
        if col_type == "lookup" or SKIP_COLUMNS.match(column):
            continue
        options = tuple(_options(destination, table, column))
        for field in source.fields:
            if field.name in (source.id_field, source.updated_field) or field.name in source.parents:
                continue
            score, reason = score_field(column, col_type, field, options)
            if score >= THRESHOLD:
                candidates.append((score, column, field, reason))
    taken_columns, taken_fields, out = set(), set(), []
    for score, column, field, reason in sorted(candidates, key=lambda c: (-c[0], c[1], c[2].name)):
        if column in taken_columns or field.name in taken_fields:
            continue
        taken_columns.add(column)
        taken_fields.add(field.name)
        out.append(Proposal(column, field.name, expression(field, column, columns[column]), score, reason))
    return out


# -- the draft ----------------------------------------------------------------------------------
def propose(
    source_system: str, destination_system: str, destination: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A draft spec (as a dict ready for YAML) with proposals nobody has confirmed.

    Args:
        source_system: e.g. case_status.
        destination_system: e.g. dynamics365.
        destination: a DestinationDiscovery JSON (option sets); the static catalog when None.

    Returns:
        The draft spec; `load_spec` accepts it once written to `<source>__<destination>.yaml`.
    """
    sources = source_catalog(source_system)
    tables = destination_catalog(destination_system)
    by_concept = {c: n for n in sources for c in [concept_of_object(n)] if c}
    objects: dict[str, dict[str, Any]] = {}
    value_maps: dict[str, Any] = {}
    schema: dict[str, Any] = {}
    holders: dict[str, tuple[str, str]] = {}  # concept -> (object name, source object)
    for table in tables:
        concept = concept_of_object(table)
        if concept is None:
            continue
        name = table.lower()
        source_name = by_concept.get(concept)
        if source_name is None:
            derived = _derived(concept, sources, by_concept)
            if derived:
                pair_systems = (source_system, destination_system)
                objects[name] = _derived_object(derived, table, tables[table], pair_systems)
                holders[concept] = (name, derived[0])
                _declare_key(schema, table, objects[name]["external_id"]["column"])
            continue
        obj, maps = _object(
            source_system, destination_system, name, sources[source_name], table, tables[table], destination
        )
        objects[name], holders[concept] = obj, (name, source_name)
        value_maps.update(maps)
        _declare_key(schema, table, obj["external_id"]["column"])
    for name, obj in objects.items():
        _lookups(obj, tables[obj["table"]], sources[obj["source"]], holders, name, objects)
    anchor = next((n for n, o in objects.items() if concept_of_object(o["table"]) == "case"), next(iter(objects), ""))
    draft: dict[str, Any] = {
        "pair": f"{source_system}__{destination_system}",
        "source": source_system,
        "destination": destination_system,
        "description": "Draft proposed by `migrate propose`: review every mapping, then `migrate confirm`.",
        "options": {"sample": {"anchor": anchor, "size": 200}},
    }
    if value_maps:
        draft["value_maps"] = value_maps
    if schema:
        draft["schema"] = schema
    draft["objects"] = objects
    return draft


def _declare_key(schema: dict[str, Any], table: str, column: str) -> None:
    """The external-id column and its alternate key, created by plan/schema_apply."""
    schema[table] = {"columns": {column: {"type": "string", "max_length": 200}}, "keys": {column: [column]}}


def _derived(concept: str, sources, by_concept) -> tuple[str, str] | None:
    """(source object, field) an object of `concept` can be built from (e.g. accounts from the
    company field of the people), when no source object holds the concept."""
    for field_name in DERIVED_FROM_FIELD.get(concept, ()):
        for source_name in [by_concept.get("person"), *sources]:
            if source_name and sources[source_name].field(field_name):
                return source_name, field_name
    return None


def _key_expr(field_name: str) -> dict[str, Any]:
    return {"op": "coalesce", "args": [{"op": "company_key", "of": field_name}, {"const": "individual"}]}


def _derived_object(
    derived: tuple[str, str], table: str, columns: Mapping[str, str], systems: tuple[str, str]
) -> dict[str, Any]:
    source_name, field_name = derived
    name_column = next((c for c in columns if c.lower() == "name"), None)
    fields = (
        {name_column: {"op": "coalesce", "args": [{"op": "trim", "of": field_name}, {"const": "Individual"}]}}
        if name_column
        else {}
    )
    return {
        "source": source_name,
        "table": table,
        "collapse": True,
        "external_id": {
            "column": destination_external_id_column(systems[1], systems[0], f"{table.lower()}_key"),
            "value": _key_expr(field_name),
        },
        "fields": fields,
        "confirmed": False,
        "proposals": {
            c: {"confidence": 0.7, "reason": f"one {table} per distinct {source_name}.{field_name}", "confirmed": False}
            for c in fields
        },
    }


def _object(source_system, destination_system, name, source: SourceObject, table, columns, destination):
    proposals = propose_fields(source, table, columns, destination)
    fields, maps = {}, {}
    for p in proposals:
        options = _options(destination, table, p.column)
        field = source.field(p.field)
        if columns[p.column] == "picklist":
            if not (options and field and field.values):
                continue
            map_name = f"{name}_{p.column.lower()}"
            maps[map_name] = {"values": _value_map(field.values, options)}
            fields[p.column] = {"op": "value_map", "map": map_name, "of": p.field}
        else:
            fields[p.column] = p.expr
    singular = source.name[:-1] if source.name.endswith("s") else source.name
    return (
        {
            "source": source.name,
            "table": table,
            "external_id": {
                "column": destination_external_id_column(destination_system, source_system, singular),
                "value": source.id_field,
            },
            "fields": fields,
            "confirmed": False,
            "proposals": {
                p.column: {"confidence": p.confidence, "reason": p.reason, "confirmed": False}
                for p in proposals
                if p.column in fields
            },
        },
        maps,
    )


def _value_map(labels, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every source label to the option with the same or the closest label."""
    out = {}
    for label in labels:
        best = max(options, key=lambda o: (fuzz.ratio(normalize_label(label), normalize_label(o)), o))
        out[label] = options[best]
    return out


def _lookups(
    obj: dict[str, Any], columns: Mapping[str, str], source: SourceObject, holders, name: str, objects
) -> None:
    lookups, proposals = {}, obj.setdefault("proposals", {})

    def holders_lookups(target: str) -> list[dict[str, Any]]:
        return list(objects.get(target, {}).get("lookups", {}).values())

    for column, col_type in columns.items():
        concepts = LOOKUP_CONCEPTS.get(column.lower(), ())
        if col_type != "lookup" or not concepts:
            continue
        for concept in concepts:
            target = holders.get(concept)
            if target is None or target[0] == name:
                continue
            if any(lk["object"] == name for lk in holders_lookups(target[0])):
                continue  # the target already points here: one direction only, no cycle
            value = _reference(source, target[1], concept)
            if value is None:
                continue
            lookups[column] = {"object": target[0], "value": value}
            proposals[column] = {
                "confidence": 0.75,
                "reason": f"{source.name} references {target[1]} ({concept})",
                "confirmed": False,
            }
            break
    if lookups:
        obj["lookups"] = lookups


def _reference(source: SourceObject, target_source: str, concept: str) -> Any:
    for field_name, parent in sorted(source.parents.items()):
        if parent == target_source:
            field = source.field(field_name)
            return {"op": "json_first", "of": field_name} if field and field.type == "json" else field_name
    for field_name in DERIVED_FROM_FIELD.get(concept, ()):
        if source.name == target_source and source.field(field_name):
            return _key_expr(field_name)
    return None


def to_yaml(draft: Mapping[str, Any]) -> str:
    header = "# Draft proposed by `migrate propose`; nothing loads until every mapping is confirmed.\n"
    return header + yaml.safe_dump(dict(draft), sort_keys=False, allow_unicode=True, width=110)


# -- measuring ----------------------------------------------------------------------------------
def mapped_sources(loaded: LoadedSpec) -> dict[tuple[str, str], set[frozenset[str]]]:
    """(table, column) -> the source-field sets the spec fills it from (fields and lookups)."""
    out: dict[tuple[str, str], set[frozenset[str]]] = {}
    for name, obj in loaded.spec.objects.items():
        items = [(f"fields.{c}", c, n) for c, n in obj.fields.items()]
        items += [(f"lookups.{c}.value", c, lk.value) for c, lk in obj.lookups.items()]
        for suffix, column, node in items:
            sources = loaded.compile(name, suffix, node).sources - {"_item", "_index"}
            out.setdefault((obj.table, column), set()).add(frozenset(sources))
    return out


def score_against(draft: LoadedSpec, hand: LoadedSpec) -> dict[str, Any]:
    """Precision and recall of a draft's proposals against a hand-confirmed spec.

    A proposed (table, column) is correct when the hand spec fills the same column from the same
    source fields. precision = correct / proposed; recall = correct / hand-mapped columns.
    """
    proposed, truth = mapped_sources(draft), mapped_sources(hand)
    correct = sum(1 for key, got in proposed.items() if got & truth.get(key, set()))
    n_proposed, n_truth = len(proposed), len(truth)
    # Proposals for tables the person chose not to migrate at all are a scoping call, not a wrong
    # mapping: precision_in_scope leaves them out.
    tables = {table for table, _ in truth}
    in_scope = sum(1 for table, _ in proposed if table in tables)
    return {
        "proposed": n_proposed,
        "hand_mapped": n_truth,
        "correct": correct,
        "precision": round(correct / n_proposed, 3) if n_proposed else 0.0,
        "precision_in_scope": round(correct / in_scope, 3) if in_scope else 0.0,
        "recall": round(correct / n_truth, 3) if n_truth else 0.0,
    }


def is_confirmed(loaded: LoadedSpec) -> bool:
    return all(o.confirmed and all(p.confirmed for p in o.proposals.values()) for o in loaded.spec.objects.values())
