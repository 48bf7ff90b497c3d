"""Freshsales connector: describe from the field settings, the setup checklist, and apply_schema's stop."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from migration_assets.connectors.base import ColumnRequirement, TableRequirement
from migration_assets.connectors.freshsales import FreshsalesDestination
from migration_assets.connectors.freshsales.schema import CATALOG
from migration_assets.errors import MigrationError, SchemaNotRemoved
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import connection

KEY = "cf_source_system_id"
REQUIRED = [
    TableRequirement(
        "contact",
        columns=(
            ColumnRequirement("cf_client_type", "picklist", options=("Individual", "Business"), label="Client Type"),
            ColumnRequirement("cf_client_satisfaction_score", "decimal", label="Client Satisfaction Score"),
        ),
        keys={KEY: (KEY,)},
    ),
    TableRequirement(
        "deal",
        columns=(
            ColumnRequirement("cf_matter_stage", "picklist", options=("Active", "Closed"), label="Matter Stage"),
            ColumnRequirement("cf_original_create_date", "datetime", label="Original Create Date"),
            ColumnRequirement("deal_stage_id", "picklist", options=("Intake", "Active"), label="Matters"),
        ),
        keys={KEY: (KEY,)},
    ),
    TableRequirement("task", keys={KEY: (KEY,)}),
]


@pytest.fixture
async def fs(tmp_path: Path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    connector = FreshsalesDestination.from_connection(connection(path))
    connector.state_path = path  # type: ignore[attr-defined]
    yield connector
    await connector.aclose()


async def test_describe_types_columns_from_the_field_settings_and_reports_the_budget(fs):
    seed.apply_field_plan(
        fs.state_path,
        [
            {"kind": "field", "entity": "deals", "label": "Matter Stage", "type": "dropdown", "choices": ["Active"]},
            {"kind": "field", "entity": "deals", "label": "Source System ID", "type": "text", "unique": True},
        ],
    )
    described = await fs.describe(["deal", "task", "user"])
    deal = described.tables["deal"]
    assert deal.columns["amount"].type == "decimal" and deal.columns["amount"].required
    assert deal.columns["cf_matter_stage"].type == "picklist" and deal.columns["cf_matter_stage"].options == ("Active",)
    assert deal.columns["cf_matter_stage"].custom and deal.keys == {KEY: (KEY,)}
    assert deal.columns["deal_stage_id"].options[:2] == ("New", "Qualification")
    assert deal.columns["contact_ids"].targets == ("contact",) and deal.columns["owner_id"].targets == ("user",)
    task = described.tables["task"]
    assert task.activity and task.columns["title"].required and "Call" in task.columns["task_type_id"].options
    facts = described.facts
    assert facts["plan"] == "garden" and facts["hourly_limit"] == 1000
    assert facts["hourly_requests_remaining"] == 1000 - seed.usage(fs.state_path)["used"]


async def test_describe_without_tables_still_reads_the_budget(fs):
    facts = (await fs.describe([])).facts
    assert facts["hourly_requests_remaining"] == 999


async def test_plan_lists_what_the_admin_must_create_with_everything_needed(fs):
    plan = await fs.plan_schema(REQUIRED)
    by_name = {(i["table"], i["name"]): i for i in plan.to_create}
    stage = by_name[("deal", "cf_matter_stage")]
    assert stage == {
        "kind": "field",
        "table": "deal",
        "entity": "deals",
        "name": "cf_matter_stage",
        "label": "Matter Stage",
        "type": "dropdown",
        "choices": ["Active", "Closed"],
        "unique": False,
        "detail": stage["detail"],
    }
    assert "Dropdown" in stage["detail"] and "cf_matter_stage" in stage["detail"]
    assert by_name[("contact", KEY)]["unique"] is True and by_name[("contact", KEY)]["type"] == "text"
    assert by_name[("deal", "cf_original_create_date")]["type"] == "datetime"
    assert by_name[("contact", "cf_client_satisfaction_score")]["type"] == "number"
    assert by_name[("deal", "Matters")]["stages"] == ["Intake", "Active"]
    assert ("task", KEY) not in by_name  # kept in the description
    assert not plan.conflicting


async def test_apply_schema_stops_with_the_checklist_then_passes_once_the_admin_applied_it(fs):
    with pytest.raises(MigrationError) as caught:
        await fs.apply_schema(REQUIRED)
    message = str(caught.value)
    assert (
        "setup checklist" in message and "deal.cf_matter_stage" in message and "contact.cf_source_system_id" in message
    )
    seed.apply_field_plan(fs.state_path, await fs.plan_schema(REQUIRED))
    assert await fs.apply_schema(REQUIRED) == []
    plan = await fs.plan_schema(REQUIRED)
    assert not plan.to_create and not plan.conflicting and len(plan.existing) == 8


async def test_missing_choices_and_unique_flags_are_checklist_items(fs):
    seed.apply_field_plan(
        fs.state_path,
        [
            {"kind": "field", "entity": "deals", "label": "Matter Stage", "type": "dropdown", "choices": ["Active"]},
            {"kind": "field", "entity": "deals", "label": "Source System ID", "type": "text"},
        ],
    )
    required = [REQUIRED[1].__class__("deal", columns=REQUIRED[1].columns[:1], keys={KEY: (KEY,)})]
    plan = await fs.plan_schema(required)
    kinds = {i["name"]: (i["kind"], i.get("choices")) for i in plan.to_create}
    assert kinds == {"cf_matter_stage": ("choices", ["Closed"]), KEY: ("unique", None)}
    seed.apply_field_plan(fs.state_path, plan)
    assert await fs.apply_schema(required) == []


@pytest.mark.parametrize(
    ("requirement", "problem"),
    [
        (TableRequirement("lead"), "no table"),
        (TableRequirement("deal", columns=(ColumnRequirement("court", "string"),)), "custom fields are named cf_"),
        (
            TableRequirement("deal", columns=(ColumnRequirement("cf_court", "string", label="Court Name"),)),
            "would create",
        ),
        (TableRequirement("deal", columns=(ColumnRequirement("cf_client", "lookup"),)), "cannot be created"),
        (TableRequirement("task", columns=(ColumnRequirement("cf_priority", "string"),)), "no custom fields"),
        (TableRequirement("deal", columns=(ColumnRequirement("amount", "boolean"),)), "the spec needs boolean"),
        (
            TableRequirement(
                "sales_account", columns=(ColumnRequirement("industry_type_id", "picklist", options=("Law",)),)
            ),
            "standard options are fixed",
        ),
    ],
)
async def test_what_no_admin_step_can_fix_is_conflicting(fs, requirement, problem):
    plan = await fs.plan_schema([requirement])
    assert len(plan.conflicting) == 1 and problem in plan.conflicting[0]["detail"]
    with pytest.raises(MigrationError, match="not set up"):
        await fs.apply_schema([requirement])


async def test_catalog_columns_exist_in_the_sandbox_field_settings(fs):
    catalog = yaml.safe_load(CATALOG.read_text())
    assert catalog["external_id_column"] == KEY
    described = await fs.describe(["contact", "sales_account", "deal", "sales_activity"])
    for table, info in described.tables.items():
        numbered = {c for c in catalog["tables"][table] if c[-1].isdigit()}
        assert set(catalog["tables"][table]) - numbered <= set(info.columns), table


async def test_drop_schema_names_each_field_to_delete_in_the_admin_ui(fs):
    plan = await fs.plan_schema(REQUIRED)
    assert await fs.drop_schema([]) == []
    with pytest.raises(SchemaNotRemoved) as refused:
        await fs.drop_schema(plan.to_create)
    assert refused.value.removed == [] and len(refused.value.left) == len(plan.to_create)
    stage = next(step for step in refused.value.left if "cf_matter_stage" in step)
    assert stage.startswith("field deal.cf_matter_stage: Admin Settings > Deals > Fields > cf_matter_stage")
    assert "delete the field" in stage and "cf_matter_stage" in str(refused.value)
