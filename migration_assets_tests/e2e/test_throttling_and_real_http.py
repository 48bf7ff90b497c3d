"""The loader under service protection (429 + Retry-After), and the pipeline over real HTTP against
`migrate sandbox serve` on 127.0.0.1, configured only through environment variables."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from migration_assets.connectors import limiter
from migration_assets.defs.naming import asset_key
from migration_assets.systems import system
from migration_assets_tests.conftest import core_spec_dir

PAIR = "case_status__dynamics365"


def test_loader_retries_429_from_service_protection_to_success(workbench, tmp_path):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=100, options={"dynamics365": {"requests_per_window": 8, "window_seconds": 1}})
    outcome = workbench.run(PAIR, "sample")
    assert outcome.success, outcome.failures
    # The limiter is shared by every step of the run (one per identity): the first 429s may come in
    # plan/schema_apply, and the loads then pace under the limit. What must hold: it met the limit
    # and learnt the server's rate from it, and every load still ended with every row written.
    state = str(system("dynamics365").state_path(workbench.paths.sandbox))
    learnt = [lim.estimate for ident, lim in limiter._LIMITERS.items() if state in ident]
    assert learnt and all(e is not None for e in learnt), "the tiny limit should have answered some 429s"
    for obj in workbench.spec(PAIR).load_order:
        event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "load", obj))
        assert event.asset_materialization.metadata["rejected"].value == 0, obj
    report = workbench.report(PAIR, "sample")
    assert report["diff"]["mismatches"] == 0
    for name, c in report["objects"].items():
        assert c["destination_count"] == c["loaded"], name


def _serve(var: Path) -> tuple[subprocess.Popen, dict[str, dict]]:
    env = {**os.environ, "MIGRATE_VAR_DIR": str(var)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "migration_assets.cli", "sandbox", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    systems: dict[str, dict] = {}
    deadline = time.monotonic() + 60
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    while len(systems) < 3 and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if not line:
            break
        info = json.loads(line)
        systems[info["system"]] = info
    return proc, systems


def test_connectors_over_real_http_against_sandbox_serve(workbench):
    """Fast: extract from Case Status and upsert + read back in Dataverse over loopback HTTP,
    configured only through the environment variables a real tenant would use."""
    import asyncio

    from migration_assets.connectors import open_destination, open_source, resolve_connection

    workbench.seed(scale=100)
    proc, systems = _serve(workbench.paths.var)
    try:
        cs, dv = systems["case_status"], systems["dynamics365"]
        env = {"CASE_STATUS_BASE_URL": cs["host"], "CASE_STATUS_API_KEY": cs["api_key"],
               "DATAVERSE_URL": dv["host"], "DATAVERSE_TOKEN_URL": dv["token_url"],
               "DATAVERSE_CLIENT_ID": dv["client_id"], "DATAVERSE_CLIENT_SECRET": dv["client_secret"]}
        source_conn = resolve_connection("case_status", state_dir=workbench.paths.sandbox, environ=env)
        dest_conn = resolve_connection("dynamics365", state_dir=workbench.paths.sandbox, environ=env)
        assert not source_conn.sandbox and not dest_conn.sandbox

        async def go():
            source, dest = open_source("case_status", source_conn), open_destination("dynamics365", dest_conn)
            try:
                pages = [p async for p in source.extract("clients")]
                schema = await dest.describe(["contact"])
                return pages, schema
            finally:
                await source.aclose()
                await dest.aclose()

        pages, schema = asyncio.run(go())
        assert sum(len(p) for p in pages) > 50
        assert "lastname" in schema.tables["contact"].columns
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_pipeline_over_real_http_against_sandbox_serve(workbench, monkeypatch):
    workbench.seed(scale=100)
    proc, systems = _serve(workbench.paths.var)
    try:
        assert {"case_status", "dynamics365", "salesforce"} <= set(systems), proc.stderr.read()[-2000:]
        for info in systems.values():
            assert info["host"].startswith("http://127.0.0.1:")
        cs, dv = systems["case_status"], systems["dynamics365"]
        monkeypatch.setenv("CASE_STATUS_BASE_URL", cs["host"])
        monkeypatch.setenv("CASE_STATUS_API_KEY", cs["api_key"])
        monkeypatch.setenv("DATAVERSE_URL", dv["host"])
        monkeypatch.setenv("DATAVERSE_TOKEN_URL", dv["token_url"])
        monkeypatch.setenv("DATAVERSE_CLIENT_ID", dv["client_id"])
        monkeypatch.setenv("DATAVERSE_CLIENT_SECRET", dv["client_secret"])
        outcome = workbench.run(PAIR, "sample")
        assert outcome.success, outcome.failures
        event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "plan", "schema_apply"))
        assert event.asset_materialization.metadata["destination"].value["sandbox"] is False
        # what went over HTTP landed in the shared state: read it back through the in-process sandbox
        report = workbench.report(PAIR, "sample")
        assert report["diff"]["mismatches"] == 0
        assert report["objects"]["incident"]["destination_count"] == report["objects"]["incident"]["loaded"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
