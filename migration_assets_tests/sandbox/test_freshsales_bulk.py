"""Freshsales emulator: bulk upsert submission, the polled job and its per-record failure report."""

from __future__ import annotations

import json

import pytest

from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.testing import api
from migration_assets_tests.sandbox.freshsales_calls import planned_sandbox

FIELDS = [
    {"kind": "field", "entity": "deals", "label": "Source System ID", "type": "text", "unique": True},
    {"kind": "field", "entity": "deals", "label": "Matter Stage", "type": "dropdown", "choices": ["Active", "Closed"]},
]


@pytest.fixture
async def client(tmp_path):
    async with planned_sandbox(tmp_path / "fs.sqlite", FIELDS) as client:
        yield client


def deal(key: str, stage: str = "Active", **values) -> dict:
    data = {"name": f"Matter {key}", "amount": 100, "custom_field": {"cf_matter_stage": stage}, **values}
    return {"custom_field": {"cf_source_system_id": key}, "data": data}


async def submit(client, records: list[dict]):
    return await client.post(api("deals/bulk_upsert"), json={"deals": records})


async def test_job_is_pending_on_the_first_poll_and_succeeds_on_the_second(client):
    submitted = await submit(client, [deal("M-1"), deal("M-2")])
    assert submitted.status_code == 202
    url = submitted.json()["job_status_url"]
    assert url.endswith(f"/crm/sales/api/job_statuses/{submitted.json()['job_id']}")
    first, second = (await client.get(url)).json(), (await client.get(url)).json()
    assert first["status"] == "IN_PROGRESS" and first["data"] is None
    assert second["status"] == "SUCCESS" and isinstance(second["data"], str)
    assert json.loads(second["data"]) == {"record_status": {"succeeded": 2, "failed": 0}, "detailed_failure_report": []}


async def test_records_are_applied_only_when_the_job_runs(client):
    url = (await submit(client, [deal("M-1")])).json()["job_status_url"]
    rule = {"attribute": "cf_source_system_id", "operator": "is_in", "value": "M-1"}
    search = {"filter_rule": [rule]}
    assert (await client.post(api("filtered_search/deal"), json=search)).json()["meta"]["total"] == 0
    await client.get(url)
    await client.get(url)
    assert (await client.post(api("filtered_search/deal"), json=search)).json()["meta"]["total"] == 1


async def test_a_failing_record_is_reported_and_the_others_are_applied(client):
    url = (await submit(client, [deal("M-1"), deal("M-2", stage="Lost"), deal("M-3", amount=None)])).json()[
        "job_status_url"
    ]
    await client.get(url)
    report = json.loads((await client.get(url)).json()["data"])
    assert report["record_status"] == {"succeeded": 1, "failed": 2}
    failures = {f["identifier"]["custom_field"]["cf_source_system_id"]: f for f in report["detailed_failure_report"]}
    assert failures["M-2"]["errors"] == ["cf_matter_stage: 'Lost' is not a valid choice for Matter Stage"]
    assert failures["M-3"]["errors"] == ["Deal value can't be blank"] and failures["M-3"]["index"] == 2
    view = (await client.get(api("deals/view/70000000205"))).json()
    assert [d["custom_field"]["cf_source_system_id"] for d in view["deals"]] == ["M-1"]


async def test_second_bulk_upsert_updates_the_same_records(client):
    for stage in ("Active", "Closed"):
        url = (await submit(client, [deal("M-1", stage=stage)])).json()["job_status_url"]
        await client.get(url)
        await client.get(url)
    view = (await client.get(api("deals/view/70000000205"))).json()
    assert view["meta"]["total"] == 1 and view["deals"][0]["custom_field"]["cf_matter_stage"] == "Closed"


async def test_option_applies_the_job_at_submission(client):
    seed.reset(client.path, bulk_polls_until_done=0)
    seed.apply_field_plan(client.path, FIELDS)
    url = (await submit(client, [deal("M-1")])).json()["job_status_url"]
    assert (await client.get(url)).json()["status"] == "SUCCESS"


async def test_more_than_100_records_are_rejected(client):
    response = await submit(client, [deal(f"M-{i}") for i in range(101)])
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"code": 400, "message": ["At most 100 records can be upserted in one bulk request (got 101)"]}
    }


async def test_record_without_data_is_rejected(client):
    response = await submit(client, [{"custom_field": {"cf_source_system_id": "M-1"}, "name": "x"}])
    assert response.status_code == 400 and 'values under "data"' in response.json()["errors"]["message"][0]


async def test_record_with_two_identifiers_is_rejected(client):
    record = {**deal("M-1"), "id": "123"}
    response = await submit(client, [record])
    assert response.status_code == 400 and "exactly one identifying field" in response.json()["errors"]["message"][0]


async def test_body_without_the_plural_key_is_rejected(client):
    response = await client.post(api("deals/bulk_upsert"), json={"deal": [deal("M-1")]})
    assert response.status_code == 400 and response.json()["errors"]["message"] == [
        'The body needs "deals": a list of records'
    ]


async def test_unknown_job_is_404(client):
    response = await client.get(api("job_statuses/99"))
    assert response.status_code == 404 and response.json()["errors"]["message"] == ["Job not found"]


async def test_bulk_upsert_exists_only_for_contacts_accounts_and_deals(client):
    response = await client.post(api("tasks/bulk_upsert"), json={"tasks": []})
    assert response.status_code == 405  # the path is read as /tasks/{id}, which takes no POST
