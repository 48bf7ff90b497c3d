"""What `migrate` prints: preconditions before launch, one line per step, no Dagster DEBUG line
without --verbose, a run's ending (summary table, report paths), one-paragraph refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migration_assets.cli import main
from migration_assets.cli_progress import parse_progress, step_line
from migration_assets.cli_run import failure_paragraph
from migration_assets.defs.instance import project_instance
from migration_assets.defs.load import progress_log
from migration_assets.defs.naming import asset_key, layer_and_name, step_label, step_name
from migration_assets.sandbox import seeding
from migration_assets.settings import Paths
from migration_assets.spec.model import LoadOptions
from migration_assets_tests.conftest import core_spec_dir

PAIR = "case_status__dynamics365"
DAGSTER_LOG_LINE = re.compile(r" - dagster - (DEBUG|INFO|ERROR) - ")


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """An isolated var dir and a spec folder with the core objects of the pair (the CLI reads both
    from the environment, as a person's shell would set them)."""
    monkeypatch.setenv("MIGRATE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MIGRATE_SPEC_DIR", str(core_spec_dir(tmp_path / "specs")))
    return Paths(tmp_path / "var")


def _runs(paths: Paths) -> int:
    instance = project_instance(paths)
    try:
        return len(instance.get_runs())
    finally:
        instance.dispose()


def test_an_unseeded_sandbox_is_refused_before_any_run_with_the_seed_command(var: Paths, capsys) -> None:
    assert main(["run", PAIR, "--phase", "sample"]) == 1
    err = capsys.readouterr().err
    assert "sandbox seed" in err and "has no data yet" in err
    assert "Traceback" not in err
    assert _runs(var) == 0


def test_a_full_run_before_any_sample_is_refused_with_the_commands_to_run_first(var: Paths, capsys) -> None:
    seeding.seed(var.sandbox, scale=20, seed=42)
    assert main(["run", PAIR, "--phase", "full"]) == 1
    err = capsys.readouterr().err
    assert f"run {PAIR} --phase sample" in err and f"approve {PAIR} --by <you>" in err
    assert _runs(var) == 0


def test_a_partly_configured_system_is_refused_before_any_run_naming_what_is_missing(
    var: Paths, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeding.seed(var.sandbox, scale=20, seed=42)
    monkeypatch.setenv("DATAVERSE_URL", "https://example.crm.dynamics.com")  # the other three are unset
    assert main(["run", PAIR, "--phase", "sample"]) == 1
    err = capsys.readouterr().err
    assert "DATAVERSE_CLIENT_SECRET" in err and "Traceback" not in err
    assert _runs(var) == 0


def test_dagster_engine_events_and_stack_traces_show_only_with_verbose(var: Paths, capsys) -> None:
    assert main(["approve", PAIR, "--by", "reviewer@firm.example"]) == 1  # no sample: the approval fails
    quiet = capsys.readouterr().err
    assert not DAGSTER_LOG_LINE.search(quiet) and 'File "' not in quiet
    assert "no sample run has been verified" in quiet and len(quiet.strip().splitlines()) == 1
    assert main(["approve", PAIR, "--by", "reviewer@firm.example", "--verbose"]) == 1
    verbose = capsys.readouterr().err
    assert DAGSTER_LOG_LINE.search(verbose) and 'File "' in verbose  # the stack trace


def test_a_sample_run_prints_a_line_per_step_then_its_table_and_reports(var: Paths, capsys) -> None:
    seeding.seed(var.sandbox, scale=20, seed=42)
    assert main(["run", PAIR, "--phase", "sample"]) == 0
    err = capsys.readouterr().err
    assert not DAGSTER_LOG_LINE.search(err)
    step_lines = [line for line in err.splitlines() if re.match(r"^  [✓!] ", line)]
    instance = project_instance(var)
    try:
        (run,) = instance.get_runs()
        steps = instance.get_run_step_stats(run.run_id)
    finally:
        instance.dispose()
    assert len(step_lines) == len(steps)
    assert any(re.match(r"^  ✓ extract/clients +\d+ records", line) for line in step_lines), step_lines
    assert any(line.startswith("  ✓ stage/contact · schema_gate") for line in step_lines), step_lines
    assert "in destination" in err  # the summary table
    index = var.reports / PAIR / "index.html"
    assert f"reports: {index}" in err and index.exists()
    assert str(var.reports / PAIR / "reconciliation-sample.html") in err


def test_progress_is_read_from_records_files_and_batches_messages() -> None:
    assert parse_progress("contact: 1,000/2,000 records written (10/20 batches)") == (1000, 2000, "records")
    assert parse_progress("document: 25/100 files, 5000 bytes uploaded") == (25, 100, "files")
    assert parse_progress("contact: estimate {'requests': 3}") is None


def test_the_loads_batch_log_is_restated_in_records() -> None:
    said: list[str] = []
    log = progress_log(said.append, "contact", staged=950, options=LoadOptions(batch_size=100))
    log("contact: 10/10 batches, 950 written")
    log("contact: estimate {}")
    assert said == ["contact: 950/950 records written (10/10 batches)", "contact: estimate {}"]


def test_step_keys_and_asset_keys_name_their_layer_and_object() -> None:
    key = asset_key(PAIR, "stage", "contact")
    assert key.path == [PAIR, "stage", "stage_contact"] and layer_and_name(key) == ("stage", "contact")
    assert step_name(PAIR, f"{PAIR}__stage__stage_contact_schema_gate") == "stage__contact_schema_gate"
    assert step_label(PAIR, f"{PAIR}__load__load_contact") == "load/contact"
    assert "records" in step_line("load/contact", 2.0, 400) and "200/s" in step_line("load/contact", 2.0, 400)


def test_a_refused_load_names_the_approve_command() -> None:
    failure = f"{PAIR}__plan__plan_approval_gate: full run refused: the full load needs an approval"
    text = failure_paragraph(PAIR, "full", "0123456789", [failure], skipped=12)
    assert "stopped at plan/approval_gate" in text and f"approve {PAIR} --by <you>" in text
    assert "12 step(s) after it did not run" in text and "--verbose" in text
