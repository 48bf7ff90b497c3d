"""The schema setup plan of a destination whose custom fields a person creates: the checklist
plan/schema_diff writes (every field with label, API name, type and choices, the pipeline and its
stages), and `migrate sandbox apply-schema-plan PAIR` doing it in the sandbox as the admin would."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from migration_assets.cli import main as migrate
from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.engine import planning
from migration_assets.errors import MigrationError
from migration_assets.reports.schema_checklist import checklist_line, checklist_markdown
from migration_assets.sandbox.freshsales import seed as fs_seed
from migration_assets.sandbox.schema_plan import apply_schema_plan
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import load_spec
from migration_assets.systems import system

PAIR = "case_status__freshsales"


def plan(paths: Paths) -> dict:
    """What plan/schema_diff reports for the pair's spec against the sandbox account (no discovered
    custom fields here: the spec's own schema)."""
    loaded = load_spec(SPEC_DIR / f"{PAIR}.yaml")
    connection = resolve_connection("freshsales", state_dir=paths.sandbox, environ={})
    dest = open_destination("freshsales", replace(connection, options={"rate_per_second": 10_000}))

    async def go():
        try:
            return await dest.plan_schema(planning.schema_requirements(loaded))
        finally:
            await dest.aclose()

    found = asyncio.run(go())
    return {"to_create": found.to_create, "existing": found.existing, "conflicting": found.conflicting}


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    paths = Paths(tmp_path / "var")
    fs_seed.reset(system("freshsales").state_path(paths.sandbox))
    return paths


def test_checklist_names_every_field_with_label_api_name_type_choices_and_the_pipeline_stages(paths):
    payload = plan(paths)
    assert not payload["conflicting"]
    text = checklist_markdown(payload["to_create"])
    assert text.startswith(f"## To create: {len(payload['to_create'])} (setup checklist)")
    assert "### deal (" in text and "### contact (" in text and "### sales_account (" in text
    assert text.count("- [ ] ") == len(payload["to_create"])
    stage = next(line for line in text.splitlines() if "`cf_matter_stage`" in line)
    assert stage.startswith("- [ ] **Matter Stage** — `cf_matter_stage`, field, type dropdown, choices: Intake, Active")
    assert "Closed Won, Closed Lost" in stage
    key = next(line for line in text.splitlines() if "**Source System ID**" in line and "unique" in line)
    assert "type text" in key
    assert "**Legal Matters** — pipeline, stages in order: Open, Won, Lost, Closed" in text
    assert "Admin Settings > Deals > Fields: add a field of type Dropdown labelled 'Matter Stage'" in text


def test_checklist_lines_render_pinned_option_values_and_plain_items():
    line = checklist_line(
        {"kind": "column", "table": "incident", "name": "statuscode", "type": "picklist",
         "options": [{"label": "Mediation", "value": 100000001}], "detail": ""}
    )  # fmt: skip
    assert line == "- [ ] **statuscode** — column, type picklist, choices: Mediation (100000001)"
    assert checklist_markdown([]) == "## To create: 0 (setup checklist)\n\nnone\n"


def test_apply_schema_plan_command_sets_the_sandbox_up_as_the_admin_would(paths, monkeypatch, capsys):
    report = paths.report_dir(PAIR) / "schema_diff_sample.json"
    report.write_text(json.dumps(plan(paths)))
    monkeypatch.setenv("MIGRATE_VAR_DIR", str(paths.var))
    assert migrate(["sandbox", "apply-schema-plan", PAIR]) == 0
    assert "cf_matter_stage" in capsys.readouterr().err
    after = plan(paths)
    assert after["to_create"] == [] and not after["conflicting"]
    # applying the same plan again changes nothing
    assert apply_schema_plan(paths, PAIR, "freshsales")[1] == []


def test_apply_schema_plan_refuses_without_a_plan_or_for_a_destination_that_creates_its_own_schema(
    paths, monkeypatch, capsys
):
    with pytest.raises(MigrationError, match="no schema plan yet"):
        apply_schema_plan(paths, PAIR, "freshsales")
    (paths.report_dir(PAIR) / "schema_diff_sample.json").write_text(json.dumps({"to_create": []}))
    with pytest.raises(MigrationError, match="creates its custom schema through its API"):
        apply_schema_plan(paths, PAIR, "dynamics365")
    monkeypatch.setenv("MIGRATE_VAR_DIR", str(paths.var))
    assert migrate(["sandbox", "apply-schema-plan"]) == 1  # the pair is required
    # the command is a no-op for a pair whose destination creates its schema itself (`make demo` of any pair)
    assert migrate(["sandbox", "apply-schema-plan", "case_status__dynamics365"]) == 0
    assert "creates its custom schema itself" in capsys.readouterr().err


def test_an_item_the_sandbox_cannot_apply_is_an_error_naming_the_plan(paths):
    good = {"kind": "field", "entity": "deals", "label": "Court", "type": "text"}
    wrong = {"kind": "field", "entity": "deals", "label": "Amount", "name": "amount", "type": "text"}
    bad = {"to_create": [good, wrong]}
    (paths.report_dir(PAIR) / "schema_diff_full.json").write_text(json.dumps(bad))
    with pytest.raises(MigrationError, match=r"schema_diff_full.json cannot be applied: label 'Amount' creates"):
        apply_schema_plan(paths, PAIR, "freshsales")
    assert fs_seed.apply_field_plan(system("freshsales").state_path(paths.sandbox), [good])  # nothing was kept
