"""Crash-safe resume: a real `migrate run` killed with SIGKILL during the load, then started again,
ends with the same destination as a clean run, no duplicate external ids, and no confirmed write
redone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb

from migration_assets.defs.instance import project_instance
from migration_assets.settings import Paths
from migration_assets.systems import system
from migration_assets_tests.conftest import Workbench, core_spec_dir

PAIR = "case_status__dynamics365"
TABLES = ("account", "contact", "incident")
KEYS = {"account": "cs_account_key", "contact": "cs_client_id", "incident": "cs_case_id"}


def _slow_spec_dir(tmp_path: Path) -> Path:
    """Small batches and one request at a time, so the kill lands in the middle of the load."""
    return core_spec_dir(tmp_path / "specs", load={"batch_size": 5, "concurrency": 1})


def _destination_rows(state: Path) -> dict[str, list[str]]:
    """External ids per table, read from the emulator's SQLite file (WAL: safe while it writes)."""
    out: dict[str, list[str]] = {t: [] for t in TABLES}
    if not state.exists():
        return out
    with sqlite3.connect(state, timeout=30) as conn:
        for entity, data in conn.execute("select entity, data from records where entity in (?, ?, ?)", TABLES):
            value = json.loads(data).get(KEYS[entity])
            if value is not None:
                out[entity].append(value)
    return out


def _writes(state: Path) -> int:
    """Writes so far: the emulator's row versions come from one counter that every write advances."""
    with sqlite3.connect(state, timeout=30) as conn:
        row = conn.execute("select coalesce(max(version), 0) from records").fetchone()
    return int(row[0])


def _prepare(var: Path, spec_dir: Path) -> Workbench:
    instance = project_instance(Paths(var))  # the project's dagster.yaml: the duckdb pool has one slot
    bench = Workbench(Paths(var), instance, spec_dir)
    bench.seed(scale=250)
    assert bench.run(PAIR, "sample").success
    assert bench.approve(PAIR).success
    return bench


def _cli(var: Path, spec_dir: Path, home: Path) -> dict:
    home.mkdir(exist_ok=True)
    return {**os.environ, "MIGRATE_VAR_DIR": str(var), "MIGRATE_SPEC_DIR": str(spec_dir), "DAGSTER_HOME": str(home)}


def test_full_run_killed_at_several_points_resumes_to_a_clean_runs_result(tmp_path: Path):
    spec_dir = _slow_spec_dir(tmp_path)
    # reference: the same data migrated without interruption (batch size and concurrency change how
    # the records are sent, not which, so the reference goes at the spec's own pace)
    clean = _prepare(tmp_path / "clean" / "var", core_spec_dir(tmp_path / "clean-specs"))
    assert clean.run(PAIR, "full").success
    expected = {
        t: sorted(ids) for t, ids in _destination_rows(system("dynamics365").state_path(clean.paths.sandbox)).items()
    }

    var = tmp_path / "killed" / "var"
    _prepare(var, spec_dir)
    env = _cli(var, spec_dir, tmp_path / "killed" / "home")
    state = system("dynamics365").state_path(var / "sandbox")
    baseline = _writes(state)
    command = [sys.executable, "-m", "migration_assets.cli", "run", PAIR, "--phase", "full"]
    kills = 0
    for extra in (15, 120, 260):
        log = (tmp_path / f"run-{extra}.log").open("w")
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if _writes(state) >= baseline + extra:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            try:  # wait on the process itself between looks at the destination
                proc.wait(timeout=0.02)
                break
            except subprocess.TimeoutExpired:
                pass
        proc.wait(timeout=60)
        baseline = _writes(state)
    assert kills >= 2, "the load finished before it could be killed: make it slower"

    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    # the killed runs held the duckdb pool's only slot: the rerun reclaimed them instead of waiting forever
    assert "had lost its process" in final.stderr
    instance = project_instance(Paths(var))
    killed = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    assert len(killed) >= kills
    assert not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert not instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots

    got = _destination_rows(state)
    for table in TABLES:
        assert len(got[table]) == len(set(got[table])), f"duplicate external ids in {table}"
        assert sorted(got[table]) == expected[table], table
    with duckdb.connect(str(Paths(var).staging_db(PAIR)), read_only=True) as conn:
        rewritten = conn.execute(
            "select object, external_id, count(*) from ledger where phase = 'full' and outcome = 'ok' "
            "group by all having count(*) > 1"
        ).fetchall()
    # a record confirmed in the ledger is never written again; only batches in flight at a kill may be
    assert len(rewritten) <= kills * 5, rewritten[:10]
    figures = {
        "kills": kills,
        "writes": _writes(state),
        "records": {t: len(got[t]) for t in TABLES},
        "rewritten_after_confirmation": len(rewritten),
        "duplicates": sum(len(got[t]) - len(set(got[t])) for t in TABLES),
        "missing": sum(len(set(expected[t]) - set(got[t])) for t in TABLES),
    }
    print("kill-resume run:", json.dumps(figures))
    shutil.rmtree(tmp_path / "clean", ignore_errors=True)
