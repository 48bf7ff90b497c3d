"""export/automations and export/portal_config: JSON definitions and rebuild guides from the source."""

from __future__ import annotations

import json

import dagster as dg

from migration_assets.defs.naming import asset_key
from migration_assets.defs.phases import ensure_phases
from migration_assets.sandbox.case_status import generator
from migration_assets.systems import system

PAIR = "case_status__dynamics365"


def _run_exports(workbench) -> dg.ExecuteInProcessResult:
    keys = [asset_key(PAIR, "export", n) for n in ("automations", "portal_config")]
    defs = dg.Definitions.merge(workbench.defs, dg.Definitions(jobs=[dg.define_asset_job("exports", selection=keys)]))
    ensure_phases(workbench.instance, PAIR)
    return defs.resolve_job_def("exports").execute_in_process(
        instance=workbench.instance, partition_key="sample", raise_on_error=False
    )


def test_automation_export_lists_every_automation_and_a_guide_entry_per_trigger(workbench):
    workbench.seed(scale=20, seed=3)
    assert system("case_status").state_path(workbench.paths.sandbox).exists()
    source = generator.build(scale=20, seed=3)["automations"]
    result = _run_exports(workbench)
    assert result.success

    folder = workbench.paths.report_dir(PAIR) / "exports"
    doc = json.loads((folder / "automations.json").read_text())
    assert doc["count"] == len(source) > 0
    assert sorted(a["name"] for a in doc["items"]) == sorted(a["name"] for a in source)
    assert all({"name", "trigger", "actions"} <= set(a) for a in doc["items"])

    guide = (folder / "automations_guide.md").read_text()
    assert guide.startswith("# Case Status automations: Power Automate rebuild guide")
    for automation in source:
        section = guide.split(f"## {automation['name']}\n", 1)[1].split("\n## ", 1)[0]
        assert f"Source trigger: `{automation['trigger']['type']}`" in section
        assert "When a row is added, modified or deleted" in section or "Recurrence" in section

    event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "export", "automations"))
    meta = event.asset_materialization.metadata
    assert meta["records"].value == len(source)
    assert meta["unmapped"].value == []
    assert "Power Automate" in meta["preview"].value


def test_portal_export_maps_settings_to_power_pages_and_flags_unmapped_ones(workbench):
    workbench.seed(scale=20, seed=3)
    assert _run_exports(workbench).success
    folder = workbench.paths.report_dir(PAIR) / "exports"
    doc = json.loads((folder / "portal_config.json").read_text())
    assert doc["count"] == 1 and doc["items"][0]["features"]["messaging"] is True
    guide = (folder / "portal_config_guide.md").read_text()
    assert "## branding.primary_color" in guide and "Styling workspace" in guide
    ai = guide.split("## features.ai_triage\n", 1)[1].split("\n## ", 1)[0]
    assert "unmapped" in ai
    event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "export", "portal_config"))
    assert "features.ai_triage" in event.asset_materialization.metadata["unmapped"].value
