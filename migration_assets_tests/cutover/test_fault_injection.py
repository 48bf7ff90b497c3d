"""A full phase on a bad day: the source and the destination emulators answer 10% of requests with
429, 5% with 503, time out on 2% and drop the response of 5% after applying the write. The run must
end as a clean run does: every loaded record in the destination once (no duplicate, none missing)
and the diff without a mismatch. Runs on the project's own dagster.yaml (the workbench fixture).

The figures (requests, retries, faults injected per kind, duplicates, missing, mismatches) are
printed on one line per pair; `pytest -s` shows them."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from migration_assets.defs.naming import asset_key
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up, core_spec_dir

BAD_DAY = {"faults": "429:0.1,503:0.05,timeout:0.02,lost:0.05", "faults_retry_after": 0, "faults_seed": 7}


def _loaded(workbench, pair: str, obj: str) -> list[str]:
    query = "select distinct external_id from ledger where object = ? and phase = 'full' and outcome = 'ok'"
    return [r[0] for r in workbench.sql(pair, query, [obj])]


async def _presence(dest, loaded, wanted: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """{object: (records in the destination with the key, loaded external ids read back)}."""
    out = {}
    for name, ids in wanted.items():
        obj = loaded.spec.objects[name]
        key = obj.external_id.column
        found = await dest.read_back(obj.table, key, ids, [key]) if ids else {}
        out[name] = (await dest.count(obj.table, key), len(found))
    await dest.aclose()
    return out


def _injected(workbench, name: str) -> dict[str, int]:
    """Faults the emulator injected, by kind (its `sandbox_faults` table)."""
    with sqlite3.connect(system(name).state_path(workbench.paths.sandbox)) as conn:
        return dict(conn.execute("select kind, count from sandbox_faults").fetchall())


def _requests(workbench, pair: str, loaded) -> dict[str, int]:
    totals = {"requests": 0, "retries": 0, "throttled": 0}
    for name in loaded.load_order:
        event = workbench.instance.get_latest_materialization_event(asset_key(pair, "load", name))
        stats = event.asset_materialization.metadata["requests"].value
        for k in totals:
            totals[k] += int(stats.get(k, 0))
    return totals


@pytest.mark.parametrize(
    ("pair", "destination"),
    [("case_status__dynamics365", "dynamics365"), ("case_status__salesforce", "salesforce")],
)
def test_full_phase_under_injected_faults_ends_without_duplicate_missing_or_mismatch(
    workbench, tmp_path, pair, destination
):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs", pair=pair, keep=_core(pair))
    workbench.seed(scale=200, options={"case_status": BAD_DAY, destination: BAD_DAY})
    assert workbench.run(pair, "sample").success
    assert workbench.approve(pair).success
    full = workbench.run(pair, "full")
    assert full.success, full.failures

    loaded = workbench.spec(pair)
    report = workbench.report(pair, "full")
    assert_counts_add_up(report)
    wanted = {name: _loaded(workbench, pair, name) for name in loaded.load_order}
    presence = asyncio.run(_presence(workbench.destination(destination), loaded, wanted))
    missing = {n: len(wanted[n]) - found for n, (_count, found) in presence.items()}
    duplicates = {n: count - found for n, (count, found) in presence.items()}
    faults = {s: _injected(workbench, s) for s in ("case_status", destination)}
    figures = {
        "pair": pair,
        "loaded": {n: len(ids) for n, ids in wanted.items()},
        "load_requests": _requests(workbench, pair, loaded),
        "faults_injected": faults,
        "duplicates": sum(duplicates.values()),
        "missing": sum(missing.values()),
        "mismatches": report["diff"]["mismatches"],
    }
    print("fault run:", json.dumps(figures))
    assert sum(faults[destination].values()) >= 20 and faults[destination].get("lost", 0) >= 2, faults
    assert sum(faults["case_status"].values()) >= 2, faults
    assert not any(missing.values()), missing
    assert not any(duplicates.values()), duplicates
    assert report["diff"]["mismatches"] == 0, report["diff"]
    assert report["diff"]["records_compared"] >= sum(len(ids) for ids in wanted.values())


def _core(pair: str) -> tuple[str, ...]:
    return ("account", "contact", "incident") if pair.endswith("dynamics365") else ("account", "contact", "case")
