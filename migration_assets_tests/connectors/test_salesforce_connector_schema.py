"""Salesforce connector: describe mapping, schema_diff (pure) and apply_schema against the emulator."""

from __future__ import annotations

import json
from contextlib import aclosing
from dataclasses import replace
from pathlib import Path

import pytest

from migration_assets.connectors.base import (
    ColumnInfo,
    ColumnRequirement,
    DestinationSchema,
    LookupRef,
    TableInfo,
    TableRequirement,
    UpsertRow,
)
from migration_assets.connectors.salesforce import SalesforceDestination, schema_diff
from migration_assets.errors import MigrationError
from migration_assets_tests.connectors.destinations import connect_salesforce


@pytest.fixture
async def sf(tmp_path: Path):
    async with aclosing(connect_salesforce(tmp_path)) as connector:
        yield connector


TIME_ENTRY = TableRequirement(
    name="Time_Entry__c",
    custom=True,
    label="Time Entry",
    columns=(
        ColumnRequirement("Hours__c", "decimal"),
        ColumnRequirement("Billing_Amount__c", "money"),
        ColumnRequirement("Entry_Date__c", "date"),
        ColumnRequirement("Description__c", "memo"),
        ColumnRequirement("Case__c", "lookup", target="Case"),
    ),
    keys={"Time_Entry_External_ID__c": ("Time_Entry_External_ID__c",)},
)
CASE = TableRequirement(
    name="Case",
    columns=(
        ColumnRequirement("Status", "picklist", options=("New", "Active", "Pending", "Closed Won")),
        ColumnRequirement("Practice_Area__c", "picklist", options=("Family", "Criminal")),
        ColumnRequirement("Client_Portal_Access__c", "boolean"),
        ColumnRequirement("Subject", "string"),
    ),
    keys={"Case_External_ID__c": ("Case_External_ID__c",)},
)


async def test_describe_maps_types_required_flags_and_external_keys(sf: SalesforceDestination) -> None:
    schema = await sf.describe(["Account", "Contact", "Case", "Task"])
    account, contact, case, task = (schema.tables[n] for n in ("Account", "Contact", "Case", "Task"))
    assert account.columns["Name"].type == "string" and account.columns["Name"].required
    assert contact.columns["LastName"].required and not contact.columns["FirstName"].required
    assert contact.columns["AccountId"].type == "lookup" and contact.columns["AccountId"].targets == ("Account",)
    assert case.columns["Status"].type == "picklist"
    assert set(case.columns["Status"].options) >= {"New", "Working", "Escalated", "Closed"}
    assert not case.columns["CaseNumber"].required and not case.columns["IsClosed"].required
    assert case.columns["IsClosed"].type == "boolean" and case.columns["Description"].type == "memo"
    assert task.columns["ActivityDate"].type == "date" and task.activity and not case.activity
    assert case.primary_id == "Id" and case.columns["Id"].type == "id"
    assert schema.facts["DailyApiRequests"]["Max"] == 15000


async def test_describe_leaves_out_objects_the_org_does_not_have(sf: SalesforceDestination) -> None:
    schema = await sf.describe(["Account", "Matter__c"])
    assert set(schema.tables) == {"Account"}


async def test_describe_without_names_lists_standard_and_custom_objects(sf: SalesforceDestination) -> None:
    await sf.apply_schema([TIME_ENTRY])
    schema = await sf.describe()
    assert {"Account", "Case", "Task", "Time_Entry__c"} <= set(schema.tables)


async def test_apply_schema_creates_object_fields_keys_and_values_then_does_nothing(
    sf: SalesforceDestination,
) -> None:
    done = await sf.apply_schema([CASE, TIME_ENTRY])
    assert any("Time_Entry__c" in line for line in done)
    assert any("Case.Case_External_ID__c" in line for line in done)
    assert await sf.apply_schema([CASE, TIME_ENTRY]) == []

    schema = await sf.describe(["Case", "Time_Entry__c"])
    case, entry = schema.tables["Case"], schema.tables["Time_Entry__c"]
    assert "Case_External_ID__c" in case.keys and "Time_Entry_External_ID__c" in entry.keys
    assert entry.custom and entry.columns["Case__c"].targets == ("Case",)
    assert entry.columns["Billing_Amount__c"].type == "money" and entry.columns["Hours__c"].type == "decimal"
    assert set(case.columns["Practice_Area__c"].options) == {"Family", "Criminal"}


async def test_case_status_values_are_appended_never_removed(sf: SalesforceDestination) -> None:
    await sf.apply_schema([CASE])
    options = (await sf.describe(["Case"])).tables["Case"].columns["Status"].options
    assert list(options[:4]) == ["New", "Working", "Escalated", "Closed"]
    assert {"Active", "Pending", "Closed Won"} <= set(options)


async def test_new_status_named_closed_closes_the_case(sf: SalesforceDestination) -> None:
    await sf.apply_schema([CASE])
    rows = [UpsertRow("C-1", {"Status": "Closed Won"}), UpsertRow("C-2", {"Status": "Pending"})]
    assert all(r.ok for r in await sf.upsert("Case", "Case_External_ID__c", rows))
    back = await sf.read_back("Case", "Case_External_ID__c", ["C-1", "C-2"], ["IsClosed"])
    assert (back["C-1"]["IsClosed"], back["C-2"]["IsClosed"]) == (True, False)


async def test_new_values_of_a_custom_picklist_are_added_later(sf: SalesforceDestination) -> None:
    await sf.apply_schema([CASE])
    more = replace(CASE, columns=(ColumnRequirement("Practice_Area__c", "picklist", options=("Family", "Tax")),))
    assert await sf.apply_schema([more]) == ["added ['Tax'] to Case.Practice_Area__c"]
    options = (await sf.describe(["Case"])).tables["Case"].columns["Practice_Area__c"].options
    assert set(options) == {"Family", "Criminal", "Tax"}


async def test_records_using_the_new_schema_are_accepted(sf: SalesforceDestination) -> None:
    await sf.apply_schema([CASE, TIME_ENTRY])
    fields = {"Status": "Pending", "Practice_Area__c": "Family", "Client_Portal_Access__c": True}
    [case] = await sf.upsert("Case", "Case_External_ID__c", [UpsertRow("C-1", fields)])
    assert case.ok, case.error
    row = UpsertRow("T-1", {"Name": "T-1", "Hours__c": 1.25}, {"Case__c": LookupRef("Case", case.destination_id)})
    [entry] = await sf.upsert("Time_Entry__c", "Time_Entry_External_ID__c", [row])
    assert entry.ok, entry.error


async def test_conflicting_requirement_creates_nothing(sf: SalesforceDestination) -> None:
    bad = TableRequirement("Case", columns=(ColumnRequirement("Subject", "date"),))
    with pytest.raises(MigrationError, match=r"Case\.Subject: exists as string, spec needs date"):
        await sf.apply_schema([bad, TIME_ENTRY])
    assert "Time_Entry__c" not in (await sf.describe(["Time_Entry__c"])).tables


# -- schema_diff is pure ----------------------------------------------------------------------------
def _org() -> DestinationSchema:
    case = TableInfo(
        "Case",
        columns={
            "Subject": ColumnInfo("Subject", "string", max_length=255),
            "Status": ColumnInfo("Status", "picklist", options=("New", "Closed")),
            "Legacy__c": ColumnInfo("Legacy__c", "string", custom=True),
            "Case_External_ID__c": ColumnInfo("Case_External_ID__c", "string", custom=True),
        },
        keys={"Case_External_ID__c": ("Case_External_ID__c",)},
    )
    return DestinationSchema(tables={"Case": case})


def test_schema_diff_sorts_existing_missing_and_conflicting_items() -> None:
    required = [
        TableRequirement(
            "Case",
            columns=(
                ColumnRequirement("Subject", "string"),
                ColumnRequirement("Status", "picklist", options=("New", "Pending")),
                ColumnRequirement("Practice_Area__c", "picklist", options=("Family",)),
                ColumnRequirement("Origin", "string"),
                ColumnRequirement("Legacy__c", "integer"),
            ),
            keys={"Case_External_ID__c": ("Case_External_ID__c",), "Legacy__c": ("Legacy__c",)},
        ),
        TIME_ENTRY,
    ]
    diff = schema_diff(_org(), required)
    assert set(diff.existing) == {
        "Case",
        "Case.Subject",
        "Case.Status",
        "Case.Legacy__c",
        "Case.Case_External_ID__c",
    }
    created = {(c.kind, c.table, c.column) for c in diff.to_create}
    assert ("options", "Case", "Status") in created and ("column", "Case", "Practice_Area__c") in created
    assert ("table", "Time_Entry__c", None) in created and (
        "key",
        "Time_Entry__c",
        "Time_Entry_External_ID__c",
    ) in created
    assert next(c for c in diff.to_create if c.column == "Status").options == ("Pending",)
    conflicts = {(c.table, c.column): c.detail for c in diff.conflicting}
    assert "standard field is missing" in conflicts[("Case", "Origin")]
    assert conflicts[("Case", "Legacy__c")] in (
        "exists as string, spec needs integer",
        "field exists but is not an External ID",
    )
    json.dumps(diff.as_dict())


def test_schema_diff_of_a_matching_org_has_nothing_to_do() -> None:
    required = [
        TableRequirement(
            "Case",
            columns=(ColumnRequirement("Subject", "string"),),
            keys={"Case_External_ID__c": ("Case_External_ID__c",)},
        )
    ]
    diff = schema_diff(_org(), required)
    assert diff.to_create == () and diff.conflicting == ()


def test_schema_diff_reports_missing_standard_object_and_unsuffixed_custom_object() -> None:
    required = [TableRequirement("Opportunity"), TableRequirement("TimeEntry", custom=True)]
    details = [c.detail for c in schema_diff(_org(), required).conflicting]
    assert details == ["standard object is not available in the org", "custom object names must end in __c"]
