"""The Case Status reporting endpoints serve every field the public connector's schema reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.case_status import create_app, generate
from migration_assets.sandbox.case_status.generator import build
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system

BASE_URL = system("case_status").sandbox.host
KEY = {"Authorization": "ApiKey " + system("case_status").sandbox.credentials["api_key"]}
SEED = 13

# Every property of the public connector's "Cases" schema (spaced keys), nested ones by their group.
CASE_KEYS = {
    "Status", "Clients", "Attorneys", "Case Name", "Last Login", "Attorney Id", "Internal ID", "Last Updated",
    "Incident Date", "Practice Area", "Attorney Email", "Case Closed At", "Integration ID", "Review Sent At",
    "Case Created At", "Case Deleted At", "Most Recent NPS", "Target Language", "Total Documents",
    "Client Last Name", "Total Activities", "Case Manager 1 ID", "Case Manager 2 ID", "Client First Name",
    "Last Message Sent", "Attorney Last Name", "Attorney First Name", "Case Activated Date",
    "Total Documents Sent", "Last Message Received", "Total Checklist Items", "Total Activities Login",
    "Case Manager 1 Last Name", "Case Manager 2 Last Name", "Total Activities Message", "Total Documents Received",
    "Case Manager 1 First Name", "Case Manager 2 First Name", "Most Recent Message Sent At",
    "Total Activities Engagement", "Total Checklist Items Completed",
}  # fmt: skip
CLIENT_KEYS = (
    "ID", "Email", "Last Name", "First Name", "Cell Phone", "Device Type", "Last Opened", "Last Used Web App",
    "Last Used iOS App", "Mobile OS Version", "Mobile App Version", "Last Used Android App",
)  # fmt: skip
ATTORNEY_KEYS = ("Id", "Email", "Last Name", "First Name")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = tmp_path / "case_status.sqlite"
    generate(path, scale=40, seed=SEED)
    open_state(path).set_options({"rate_per_second": 1000, "burst": 1000})
    transport = httpx.ASGITransport(app=create_app(path))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as client:
        yield client


async def test_reporting_cases_rows_carry_every_key_of_the_connector_schema(api: httpx.AsyncClient) -> None:
    response = await api.get("/reporting/cases", params={"page[number]": 1, "size": 100})
    assert response.status_code == 200
    rows = response.json()["results"]
    live = [c for c in build(scale=40, seed=SEED)["cases"] if not c.get("deleted_at")]
    assert len(rows) == len(live)
    managed = next(r for r in rows if r.get("Case Manager 2 ID") is not None)
    assert set(managed) >= CASE_KEYS
    two = next(r for r in rows if "Client 2 ID" in r["Clients"])
    assert {f"Client {n} {k}" for n in (1, 2) for k in CLIENT_KEYS} <= set(two["Clients"])
    counsel = next(r for r in rows if "Attorney 2 Id" in r["Attorneys"])
    assert {f"Attorney {n} {k}" for n in (1, 2) for k in ATTORNEY_KEYS} <= set(counsel["Attorneys"])
    for row in rows:
        assert row["Total Documents"] == row["Total Documents Sent"] + row["Total Documents Received"]
        assert row["Total Activities"] == row["Total Activities Message"] + row["Total Activities Login"]
        assert 0 <= row["Total Checklist Items Completed"] <= row["Total Checklist Items"]
        assert row["Target Language"] in ("English", "Spanish")
    assert any(r["Last Message Received"] and r["Last Message Sent"] for r in rows)


async def test_reporting_cases_pages_with_the_real_parameters_and_refuses_unknown_ones(
    api: httpx.AsyncClient,
) -> None:
    first = (await api.get("/reporting/cases", params={"page[number]": 1, "size": 7})).json()["results"]
    second = (await api.get("/reporting/cases", params={"page[number]": 2, "size": 7})).json()["results"]
    assert len(first) == len(second) == 7
    assert not {r["Internal ID"] for r in first} & {r["Internal ID"] for r in second}
    assert (await api.get("/reporting/cases", params={"size": 101})).status_code == 400
    refused = await api.get("/reporting/cases", params={"updated_since": "2026-01-01T00:00:00Z"})
    assert refused.status_code == 400 and set(refused.json()) == {"detail"}


async def test_firm_report_is_one_row_with_the_connector_keys_and_an_empty_second_page(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/reporting/firm", params={"page[number]": 1})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["Average Response Time"].endswith(" hours") and float(row["Average Response Time"].split()[0]) > 0
    assert float(row["Cases Per Active User"]) == round(row["Active Cases"] / row["Active Users"], 1)
    assert row["Firm Name"] == "Harbor Law Group"
    assert (await api.get("/reporting/firm", params={"page[number]": 2})).json() == {"results": []}


async def test_reporting_endpoints_need_the_api_key(api: httpx.AsyncClient) -> None:
    for path in ("/reporting/cases", "/reporting/firm"):
        response = await api.get(path, headers={"Authorization": "ApiKey wrong"})
        assert response.status_code == 401 and set(response.json()) == {"detail"}
