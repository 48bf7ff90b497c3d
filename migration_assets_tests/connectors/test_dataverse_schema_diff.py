"""Pure tests of `schema_diff`: what exists, what must be created, what conflicts."""

from __future__ import annotations

import json

from migration_assets.connectors.base import (
    ColumnInfo,
    ColumnRequirement,
    DestinationSchema,
    TableInfo,
    TableRequirement,
)
from migration_assets.connectors.dataverse import schema_diff
from migration_assets.connectors.dataverse.schema import attribute_body, schema_name
from migration_assets.connectors.dataverse.settings import Publisher

CS = Publisher.from_options({"publisher_prefix": "cs"})


def _schema() -> DestinationSchema:
    incident = TableInfo(
        name="incident",
        columns={
            "title": ColumnInfo("title", "string", max_length=200),
            "prioritycode": ColumnInfo("prioritycode", "picklist", options={"High": 1, "Normal": 2, "Low": 3}),
            "statuscode": ColumnInfo("statuscode", "picklist", options={"In Progress": 1}),
            "customerid": ColumnInfo("customerid", "lookup", required=True, targets=("account", "contact")),
            "cs_externalid": ColumnInfo("cs_externalid", "string", custom=True),
        },
        keys={"cs_ExternalIdKey": ("cs_externalid",)},
        primary_id="incidentid",
    )
    contact = TableInfo(name="contact", columns={"lastname": ColumnInfo("lastname", "string")}, primary_id="contactid")
    return DestinationSchema(tables={"incident": incident, "contact": contact})


def _kinds(items):
    return sorted((i.kind, i.table, i.name) for i in items)


def test_existing_columns_and_keys_are_reported_as_existing():
    req = TableRequirement(
        "incident",
        columns=(
            ColumnRequirement("title", "string"),
            ColumnRequirement("customerid", "lookup", target="contact"),
        ),
        keys={"ext": ("cs_externalid",)},
    )
    diff = schema_diff(_schema(), [req], CS)
    assert diff.to_create == [] and diff.conflicting == []
    assert ("key", "incident", "ext") in _kinds(diff.existing)


def test_missing_custom_table_columns_lookup_and_key_are_to_create():
    req = TableRequirement(
        "cs_matter",
        custom=True,
        columns=(
            ColumnRequirement("cs_name", "string", max_length=300),
            ColumnRequirement("cs_stage", "picklist", options=("Open", "Closed")),
            ColumnRequirement("cs_case", "lookup", target="incident"),
        ),
        keys={"cs_ext": ("cs_externalid",)},
    )
    diff = schema_diff(_schema(), [req], CS)
    assert _kinds(diff.to_create) == [
        ("column", "cs_matter", "cs_case"),
        ("column", "cs_matter", "cs_stage"),
        ("key", "cs_matter", "cs_ext"),
        ("table", "cs_matter", "cs_matter"),
    ]
    table = next(i for i in diff.to_create if i.kind == "table")
    assert table.max_length == 300  # cs_name becomes the primary name column
    json.dumps(diff.to_dict())


def test_missing_option_labels_on_existing_picklist_and_status_are_to_create():
    req = TableRequirement(
        "incident",
        columns=(
            ColumnRequirement("prioritycode", "picklist", options=("high", "Urgent")),
            ColumnRequirement("statuscode", "picklist", options=("In Progress", "Awaiting Client")),
        ),
    )
    diff = schema_diff(_schema(), [req], CS)
    options = {i.name: i.options for i in diff.to_create if i.kind == "option"}
    assert options == {"prioritycode": ("Urgent",), "statuscode": ("Awaiting Client",)}


def test_existing_column_of_another_type_conflicts_with_both_types_named():
    req = TableRequirement("incident", columns=(ColumnRequirement("title", "integer"),))
    diff = schema_diff(_schema(), [req], CS)
    [conflict] = diff.conflicting
    assert conflict.detail == "incident.title exists as string but the spec needs integer"


def test_lookup_to_an_unsupported_target_conflicts():
    req = TableRequirement("incident", columns=(ColumnRequirement("customerid", "lookup", target="lead"),))
    assert "not to lead" in schema_diff(_schema(), [req], CS).conflicting[0].detail


def test_missing_standard_table_and_unprefixed_names_conflict():
    diff = schema_diff(
        _schema(),
        [
            TableRequirement("opportunity"),
            TableRequirement("matter", custom=True),
            TableRequirement("contact", columns=(ColumnRequirement("nickname", "string"),)),
        ],
        CS,
    )
    details = " | ".join(i.detail for i in diff.conflicting)
    assert "opportunity does not exist and is not marked custom" in details
    assert "custom table matter must be named cs_" in details
    assert "contact.nickname does not exist; new columns must be named cs_" in details


def test_date_requirement_is_compatible_with_datetime_column():
    schema = DestinationSchema(
        tables={"task": TableInfo("task", {"scheduledend": ColumnInfo("scheduledend", "datetime")})}
    )
    diff = schema_diff(schema, [TableRequirement("task", columns=(ColumnRequirement("scheduledend", "date"),))], CS)
    assert diff.conflicting == [] and diff.to_create == []


def test_schema_diff_does_not_mutate_its_inputs():
    schema, req = _schema(), [TableRequirement("incident", columns=(ColumnRequirement("cs_new", "memo"),))]
    before = (repr(schema), repr(req))
    schema_diff(schema, req, CS)
    assert (repr(schema), repr(req)) == before


def test_picklist_attribute_body_uses_publisher_option_values():
    diff = schema_diff(
        _schema(),
        [TableRequirement("incident", columns=(ColumnRequirement("cs_tier", "picklist", options=("A", "B")),))],
        CS,
    )
    body = attribute_body(diff.to_create[0], CS.first_option_value)
    assert body["@odata.type"] == "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    assert [o["Value"] for o in body["OptionSet"]["Options"]] == [100000000, 100000001]
    assert schema_name("cs_matter_number") == "cs_Matter_number"
