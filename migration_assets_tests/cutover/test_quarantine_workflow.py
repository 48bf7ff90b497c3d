"""Nothing held back without a way forward: root causes, partial records, corrections round trip.

The tests that only read a held-back run share one (module scope); the round trip, which corrects
and runs again, has its own."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from migration_assets import cli
from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import approval_op_name
from migration_assets.errors import SpecError
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.settings import Paths
from migration_assets.spec import corrections
from migration_assets.staging import quarantine
from migration_assets.systems import system
from migration_assets_tests.conftest import Workbench, assert_counts_add_up, core_spec_dir

PAIR = "case_status__dynamics365"


def _without_fallback(spec_dir: Path) -> Path:
    """The core spec with a plain last name (no fallback): contacts without one are held back."""
    path = spec_dir / f"{PAIR}.yaml"
    spec = yaml.safe_load(path.read_text())
    spec["objects"]["contact"]["fields"]["lastname"] = {"op": "trim", "of": "last_name"}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return spec_dir


def _hold(workbench: Workbench, tmp: Path, env: pytest.MonkeyPatch) -> Workbench:
    """A full run on the core objects whose contacts may lack a last name; the CLI sees the same
    var and spec folders."""
    spec_dir = _without_fallback(core_spec_dir(tmp / "specs"))
    workbench.spec_dir = spec_dir
    env.setenv("MIGRATE_VAR_DIR", str(workbench.paths.var))
    env.setenv("MIGRATE_SPEC_DIR", str(spec_dir))
    workbench.seed(scale=200)
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR, by="lead@firm.example").success or _override(workbench)
    assert workbench.run(PAIR, "full").success
    return workbench


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    """One held-back full run for the tests that only read it (and a refused corrections file)."""
    tmp = tmp_path_factory.mktemp("held")
    instance = project_instance(Paths(tmp / "var"))
    try:
        with pytest.MonkeyPatch.context() as env:
            yield _hold(Workbench(Paths(tmp / "var"), instance), tmp, env)
    finally:
        instance.dispose()


@pytest.fixture
def held_to_correct(workbench: Workbench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workbench:
    """A held-back full run of its own, for the test that corrects it and runs again."""
    return _hold(workbench, tmp_path, monkeypatch)


def _override(workbench) -> bool:
    job = workbench.defs.resolve_job_def(f"{PAIR}__approve")
    config = {"approver": "lead@firm.example", "override": "held-back rows are handled by corrections"}
    result = job.execute_in_process(
        instance=workbench.instance, run_config={"ops": {approval_op_name(PAIR): {"config": config}}}
    )
    return result.success


def _rows(workbench, phase="full"):
    import duckdb

    with duckdb.connect(str(workbench.paths.staging_db(PAIR)), read_only=True) as conn:
        return quarantine.rows(conn, phase)


def test_every_cascaded_row_names_its_root_and_the_tree_adds_up(held):
    rows = _rows(held)
    own = rows.filter(~rows["cascaded"])
    cascaded = rows.filter(rows["cascaded"])
    assert own.height and cascaded.height, "the data should hold back records and their children"
    assert all(rows["root_reason"].is_not_null())
    for row in cascaded.iter_rows(named=True):
        assert row["root_cause"].startswith(f"{row['root_object']} {row['root_source_id']}:")
        assert row["root_object"] != row["object"]
    summary = quarantine.summary(rows)
    assert sum(node["records"] for node in summary["tree"]) == summary["total"] == rows.height
    lastname = [n for n in summary["tree"] if "lastname is required" in n["root"]]
    assert lastname and lastname[0]["objects"].get("incident", 0) > 0  # their cases follow them
    report = held.report(PAIR, "full")
    assert report["held_back"]["total"] == rows.height
    assert_counts_add_up(report)


def test_a_broken_custom_property_json_loads_the_rest_of_the_record(held):
    partial = held.sql(PAIR, "select external_id, \"column\", reason from partial_fields where object = 'contact'")
    assert partial, "the sandbox has contacts with truncated custom-property JSON"
    ext, column, reason = partial[0]
    assert column.startswith("cs_") and "not valid JSON" in reason
    loaded = held.sql(
        PAIR, "select count(*) from ledger where object = 'contact' and external_id = ? and outcome = 'ok'", [ext]
    )
    assert loaded[0][0] >= 1
    assert not held.sql(PAIR, "select 1 from quarantine where object = 'contact' and external_id = ?", [ext])


def test_corrections_round_trip_loads_the_rows_and_their_children(held_to_correct, capsys, tmp_path):
    held = held_to_correct
    assert cli.main(["quarantine", PAIR, "--phase", "full", "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert "root_cause" in table[0] and "fix_value" in table[0]
    own_lastname = [r for r in table if r["field"] == "last_name" and not r["root_cause"]]
    children = [r for r in table if "lastname is required" in r["root_cause"]]
    assert own_lastname and children
    for row in own_lastname:
        row["fix_value"] = "Corrected"
    fixes = tmp_path / "fixes.csv"
    with fixes.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    assert cli.main(["corrections", "import", PAIR, str(fixes), "--by", "clerk@firm.example"]) == 0
    stored = corrections.load(held.spec_dir, PAIR)
    assert {c.source_id for c in stored} == {r["source_id"] for r in own_lastname}

    assert held.run(PAIR, "sample").success
    assert held.approve(PAIR, by="lead@firm.example").success or _override(held)
    assert held.run(PAIR, "full").success
    after = _rows(held)
    fixed = {r["external_id"] for r in own_lastname} | {r["external_id"] for r in children}
    assert not fixed & set(after["external_id"].to_list())
    report = held.report(PAIR, "full")
    assert_counts_add_up(report)
    assert report["diff"]["mismatches"] == 0
    snapshot = dataverse_seed.snapshot(system("dynamics365").state_path(held.paths.sandbox))
    for table, key in (("contact", "cs_client_id"), ("incident", "cs_case_id")):
        keys = [r[key] for r in snapshot[table] if r.get(key)]
        assert len(keys) == len(set(keys)), f"duplicate {key} in {table}"
    for name, counts in report["objects"].items():
        assert counts["destination_count"] >= counts["loaded"], name
    applied = held.sql(PAIR, "select count(*), min(imported_by) from corrections_applied where phase = 'full'")
    assert applied == [(len(own_lastname), "clerk@firm.example")]


def test_a_corrections_file_naming_an_unknown_record_or_field_fails_with_its_line(held, tmp_path):
    header = "object,source_object,source_id,external_id,step,reason,root_cause,field,value,fix_value\n"
    for line, problem in (
        ("contact,clients,999999999,x,stage,r,,last_name,,Smith\n", "no clients record '999999999'"),
        ("contact,clients,1,x,stage,r,,shoe_size,,42\n", "has no field 'shoe_size'"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(header + "contact,clients,1,x,stage,r,,last_name,,\n" + line)
        with pytest.raises(SpecError) as err:
            cli_run(["corrections", "import", PAIR, str(bad), "--by", "x"])
        assert err.value.line == 3 and problem in str(err.value)


def cli_run(argv: list[str]) -> None:
    """Run a CLI command's function itself (main() would print the error and return 1)."""
    args = cli.parser().parse_args(argv)
    args.fn(args)
