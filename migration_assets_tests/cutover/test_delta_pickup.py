"""Delta pickup: the sensor polls the source API, requests a delta run, and the run upserts the
changes (no duplicates), reports deletions, and advances the checkpoint."""

from __future__ import annotations

import asyncio

import dagster as dg

from migration_assets.defs.naming import asset_key
from migration_assets.defs.resources import ConnectionsResource
from migration_assets.sandbox.case_status import mutate
from migration_assets.systems import system
from migration_assets_tests.conftest import assert_counts_add_up, core_spec_dir

PAIR = "case_status__dynamics365"
LATER = "2026-11-05T10:00:00Z"


def _checkpoint(instance: dg.DagsterInstance, source_object: str) -> str:
    event = instance.get_latest_materialization_event(asset_key(PAIR, "extract", source_object))
    return event.asset_materialization.metadata["checkpoint"].value


def _evaluate(workbench, sensor_name: str):
    sensor = next(s for s in workbench.defs.sensors if s.name == sensor_name)
    context = dg.build_sensor_context(
        instance=workbench.instance,
        resources={"connections": ConnectionsResource(sandbox_dir=str(workbench.paths.sandbox))},
    )
    return sensor(context)


def test_sensor_requests_a_delta_run_that_upserts_changes_and_reports_deletions(workbench, tmp_path):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.seed(scale=120)
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success
    assert workbench.run(PAIR, "full").success
    before = workbench.report(PAIR, "full")
    checkpoint = _checkpoint(workbench.instance, "cases")
    assert _evaluate(workbench, f"{PAIR}__delta_pickup").__class__ is dg.SkipReason

    source = system("case_status").state_path(workbench.paths.sandbox)
    client = mutate.create(
        source,
        "clients",
        {
            "first_name": "Nadia",
            "last_name": "Okafor",
            "email": "nadia.okafor@example.com",
            "company": "Okafor Legal Partners",
            "custom_properties": {},
        },
        now=LATER,
    )
    new_case = mutate.create(
        source,
        "cases",
        {
            "name": "Okafor v. Harbor Freight",
            "status": "Intake",
            "priority": "High",
            "client_ids": [client["id"]],
            "practice_area_id": 1,
        },
        now=LATER,
    )
    loaded_case = workbench.sql(
        PAIR, "select external_id from ledger where object = 'incident' and outcome = 'ok' order by external_id limit 1"
    )[0][0]
    mutate.update(source, "cases", int(loaded_case), {"status": "Closed", "name": "Renamed during cutover"}, now=LATER)
    gone = workbench.sql(
        PAIR,
        "select external_id from ledger where object = 'contact' and outcome = 'ok' order by external_id desc limit 1",
    )[0][0]
    mutate.delete(source, "clients", int(gone), now=LATER)

    result = _evaluate(workbench, f"{PAIR}__delta_pickup")
    assert isinstance(result, dg.SensorResult)
    (request,) = result.run_requests
    assert request.partition_key.startswith("delta-")
    assert result.dynamic_partitions_requests[0].partition_keys == [request.partition_key]

    outcome = workbench.run(PAIR, request.partition_key)
    assert outcome.success, outcome.failures
    delta = workbench.report(PAIR, request.partition_key)
    assert delta["diff"]["mismatches"] == 0
    assert_counts_add_up(delta, every_object_has_rows=False)

    dest = workbench.destination("dynamics365")
    found = asyncio.run(
        dest.read_back(
            "incident", "cs_case_id", [str(new_case["id"]), loaded_case], ["title", "statecode", "statuscode"]
        )
    )
    assert found[str(new_case["id"])]["title"] == "Okafor v. Harbor Freight"
    assert found[loaded_case]["title"] == "Renamed during cutover"
    assert (found[loaded_case]["statecode"], found[loaded_case]["statuscode"]) == (1, 5)
    after = workbench.report(PAIR, request.partition_key)
    assert after["objects"]["incident"]["destination_count"] == before["objects"]["incident"]["destination_count"] + 1
    assert after["objects"]["contact"]["destination_count"] == before["objects"]["contact"]["destination_count"] + 1
    # the deleted client is reported, and still in the destination (never deleted silently)
    reported = workbench.sql(
        PAIR, "select source_object, id from source_deletions where phase = ?", [request.partition_key]
    )
    assert ("clients", gone) in reported
    # a connector belongs to one event loop: a new one for this second asyncio.run
    still = asyncio.run(workbench.destination("dynamics365").read_back("contact", "cs_client_id", [gone], ["lastname"]))
    assert gone in still
    assert _checkpoint(workbench.instance, "cases") > checkpoint

    workbench.instance.add_dynamic_partitions(f"{PAIR}__phase", [request.partition_key])
    assert isinstance(_evaluate(workbench, f"{PAIR}__delta_pickup"), dg.SkipReason)
