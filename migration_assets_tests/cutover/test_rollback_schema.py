"""`rollback --schema`: after sample + full, the destination's metadata and records equal their state
before the migration, the rollback report lists what it removed, and a second run is a no-op."""

from __future__ import annotations

import asyncio
import json

import pytest

from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.sandbox.salesforce import seed as salesforce_seed
from migration_assets.systems import system
from migration_assets_tests.conftest import core_spec_dir

# the publisher and solution that own the created schema are configuration rows, not migrated data
DATAVERSE_SETUP = ("publisher", "solution")


def _metadata(workbench, destination: str):
    """Every table of the destination as its connector describes it (columns, keys, options)."""

    async def go():
        dest = workbench.destination(destination)
        try:
            return dict((await dest.describe()).tables)
        finally:
            await dest.aclose()

    return asyncio.run(go())


def _records(workbench, destination: str) -> dict:
    """Every live record of the destination (without the Dataverse publisher and solution rows)."""
    state = system(destination).state_path(workbench.paths.sandbox)
    if destination == "salesforce":
        return salesforce_seed.snapshot(state)
    snapshot = dataverse_seed.snapshot(state)
    return {t: rows for t, rows in snapshot.items() if t not in DATAVERSE_SETUP}


def _custom(tables) -> dict:
    """The custom part of a described schema: custom tables, custom columns, keys, choice options."""
    return {
        name: {
            "custom": info.custom,
            "columns": sorted(c for c, col in info.columns.items() if col.custom),
            "keys": dict(info.keys),
            "options": {c: dict(col.options) for c, col in info.columns.items() if isinstance(col.options, dict)},
        }
        for name, info in tables.items()
    }


def _report(workbench, rolled, pair: str) -> dict:
    path = workbench.paths.report_dir(pair) / f"rollback-{rolled.run_id[:8]}.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize(
    ("pair", "destination", "keep"),
    [
        ("case_status__dynamics365", "dynamics365", ("account", "contact", "incident")),
        ("case_status__salesforce", "salesforce", ("account", "contact", "case")),
    ],
)
def test_rollback_with_schema_removes_the_created_schema_and_is_idempotent(
    workbench, tmp_path, pair, destination, keep
):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs", pair=pair, keep=keep)
    workbench.seed(scale=100)
    metadata_before = _metadata(workbench, destination)
    records_before = _records(workbench, destination)

    assert workbench.run(pair, "sample").success
    assert workbench.approve(pair).success
    assert workbench.run(pair, "full").success
    during = _custom(_metadata(workbench, destination))
    assert during != _custom(metadata_before)  # the migration did create schema

    rolled = workbench.rollback(pair, schema=True)
    assert rolled.success
    summary = rolled.output_for_node(f"{pair}__rollback_destination")
    print(
        "rollback --schema:", json.dumps({"deleted": summary["deleted"], "schema_removed": summary["schema_removed"]})
    )
    assert sum(summary["deleted"].values()) > 100
    assert summary["schema_created"] and summary["schema_removed"] and not summary["schema_left"]
    report = _report(workbench, rolled, pair)
    assert report["schema_removed"] == summary["schema_removed"]
    assert _custom(_metadata(workbench, destination)) == _custom(metadata_before)
    assert _metadata(workbench, destination) == metadata_before
    assert _records(workbench, destination) == records_before

    again = workbench.rollback(pair, schema=True)
    assert again.success
    summary = again.output_for_node(f"{pair}__rollback_destination")
    assert summary["schema_created"] == [] and summary["schema_removed"] == []
    assert sum(summary["deleted"].values()) == 0 and sum(summary["restored"].values()) == 0
    assert _metadata(workbench, destination) == metadata_before
