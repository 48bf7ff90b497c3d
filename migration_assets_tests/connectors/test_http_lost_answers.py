"""Lost answers (the emulators' `lost` fault applies the request, then drops the connection):
idempotent requests are sent again, a create raises LostResponse so the caller can look its record
up, and the Salesforce Bulk loader ends with every row once. Fault sequences come from
`faults_seed` (FaultInjection draws one number per request, in order)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors import resolve_connection
from migration_assets.connectors.base import FileUpload, TableRequirement, UpsertRow, WriteResult
from migration_assets.connectors.http import HeaderAuth, HttpSession, OAuthClientCredentials, RetryPolicy
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.errors import LostResponse
from migration_assets.sandbox import case_status as cs_sandbox
from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.case_status import seed as cs_seed
from migration_assets.sandbox.case_status.store import open_state as cs_state
from migration_assets.sandbox.salesforce import seed as sf_seed
from migration_assets.sandbox.salesforce.app import create_app as sf_app
from migration_assets.sandbox.salesforce.store import open_state as sf_state
from migration_assets.systems import system

CS = system("case_status").sandbox
SF = system("salesforce").sandbox
DATA = "/services/data/v62.0"


def salesforce(path: Path, **options: object) -> HttpSession:
    sf_seed.reset(path, **options)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sf_app(path)), base_url=SF.host)
    auth = OAuthClientCredentials(
        SF.host + "/services/oauth2/token", SF.credentials["client_id"], SecretStr(SF.credentials["client_secret"])
    )
    return HttpSession("salesforce", client, auth=auth, retry=RetryPolicy(base_delay=0.01))


async def _count(session: HttpSession, soql: str) -> int:
    response = await session.request("GET", f"{DATA}/query", params={"q": soql}, expect=(200,))
    return int(response.json()["totalSize"])


async def test_lost_answer_to_a_read_is_asked_again(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite"
    # seed 72: of nine draws (eight reads and one retry) only the first is under 0.3
    cs_seed.reset(path, faults="lost:0.3", faults_seed=72, rate_per_second=1000, burst=1000)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=cs_sandbox.create_app(path)), base_url=CS.host)
    auth = HeaderAuth("Authorization", SecretStr("ApiKey " + CS.credentials["api_key"]))
    session = HttpSession("case_status", client, auth=auth, retry=RetryPolicy(base_delay=0.01))
    answers = [await session.request("GET", "/v1/api/users", expect=(200,)) for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 8
    assert injected_faults(cs_state(path)) == {"lost": 1}
    assert session.stats.lost_responses == 1 and session.stats.retries == 1
    await session.aclose()


async def test_lost_answer_to_a_create_raises_lost_response_and_the_record_exists(tmp_path: Path) -> None:
    path = tmp_path / "sf.sqlite"
    session = salesforce(path, faults="lost:0.5", faults_seed=10)  # token ok, create lost, then ok
    with pytest.raises(LostResponse) as raised:
        await session.request("POST", f"{DATA}/sobjects/Account", json={"Name": "Lost Answer Co"})
    assert "may have been applied" in str(raised.value)
    assert session.stats.requests == 2 and session.stats.lost_responses == 1  # token, create: not re-sent
    assert await _count(session, "SELECT Id FROM Account WHERE Name = 'Lost Answer Co'") == 1
    await session.aclose()


async def test_gateway_timeout_on_a_create_is_a_lost_response(tmp_path: Path) -> None:
    path = tmp_path / "sf.sqlite"
    session = salesforce(path, faults="504:0.5", faults_seed=10)
    with pytest.raises(LostResponse) as raised:
        await session.request("POST", f"{DATA}/sobjects/Account", json={"Name": "Gateway Co"})
    assert raised.value.status == 504
    assert session.stats.requests == 2
    await session.aclose()


async def test_lost_answer_to_an_update_is_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "sf.sqlite"
    session = salesforce(path, faults="lost:0.5", faults_seed=53)  # token, create ok; update lost; then ok
    created = await session.request("POST", f"{DATA}/sobjects/Account", json={"Name": "Before"})
    record = f"{DATA}/sobjects/Account/{created.json()['id']}"
    await session.request("PATCH", record, json={"Name": "After"})
    after = await session.request("GET", record, expect=(200,))
    assert after.json()["Name"] == "After"
    assert session.stats.lost_responses == 1 and injected_faults(sf_state(path)) == {"lost": 1}
    await session.aclose()


async def test_post_marked_idempotent_is_sent_again(tmp_path: Path) -> None:
    path = tmp_path / "sf.sqlite"
    session = salesforce(path, faults="lost:0.5", faults_seed=37)  # token ok, first try lost, then ok
    job = {"object": "Account", "operation": "insert"}
    await session.request("POST", f"{DATA}/jobs/ingest", json=job, idempotent=True)
    listed = await session.request("GET", f"{DATA}/jobs/ingest", expect=(200,))
    # the mark is the caller's promise: this POST is not idempotent, so the org now holds two jobs
    assert len(listed.json()["records"]) == 2
    assert session.stats.lost_responses == 1
    await session.aclose()


# -- the Salesforce Bulk loader under lost answers ------------------------------------------------------
SEEDS = range(8)


async def test_bulk_upserts_under_lost_answers_write_every_row_once(tmp_path: Path) -> None:
    conn = resolve_connection("salesforce", state_dir=tmp_path, environ={})
    options = {"bulk_poll_interval": 0.001, "bulk_threshold": 1}
    setup = SalesforceDestination.from_connection(replace(conn, options=options))
    await setup.apply_schema(
        [TableRequirement("Account", keys={"Account_External_ID__c": ("Account_External_ID__c",)})]
    )
    await setup.aclose()
    path = tmp_path / "salesforce.sqlite"
    for seed in SEEDS:  # each seed loses other requests of the job's life (create, upload, close, polls)
        sf_state(path).set_options({"faults": "lost:0.15", "faults_seed": seed})
        fresh = resolve_connection("salesforce", state_dir=tmp_path, environ={})  # a new app reads the faults
        sf = SalesforceDestination.from_connection(replace(fresh, options=options))
        rows = [UpsertRow(f"S{seed}-{i}", {"Name": f"Firm {seed}-{i}"}) for i in range(3)]
        results = await sf.upsert("Account", "Account_External_ID__c", rows)
        assert [r.ok for r in results] == [True] * 3, [r.error for r in results]
        await sf.aclose()
    sf_state(path).set_options({"faults": ""})
    check = SalesforceDestination.from_connection(resolve_connection("salesforce", state_dir=tmp_path, environ={}))
    assert await check.count("Account", "Account_External_ID__c") == 3 * len(SEEDS)
    jobs = (await check.client.json("GET", "/jobs/ingest"))["records"]
    assert not [j for j in jobs if j["state"] == "Open"]  # no job created twice and left behind
    assert injected_faults(sf_state(path)).get("lost", 0) >= len(SEEDS) // 2
    await check.aclose()


# seeds 3 and 7 lose the upload's answer (found again), seed 12 times it out (sent by the next run)
FILE_SEEDS = (3, 7, 12)


class Bytes:
    """A one-shot async byte stream, as the loader hands files over."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


async def test_file_upload_whose_answer_is_lost_is_found_by_external_id_or_sent_by_the_next_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "salesforce.sqlite"
    key = "File_External_ID__c"
    setup = SalesforceDestination.from_connection(resolve_connection("salesforce", state_dir=tmp_path, environ={}))
    await setup.apply_schema(
        [
            TableRequirement("Case", keys={"Case_External_ID__c": ("Case_External_ID__c",)}),
            TableRequirement("ContentVersion", keys={key: (key,)}),
        ]
    )
    [case] = await setup.upsert("Case", "Case_External_ID__c", [UpsertRow("C-1", {"Subject": "Matter"})])
    await setup.aclose()

    def upload(n: int) -> FileUpload:
        data = f"file {n}".encode()
        return FileUpload(
            f"F-{n}",
            f"f{n}.txt",
            "",
            len(data),
            Bytes(data).__aiter__(),
            "text/plain",
            "Case",
            case.destination_id,
            key,
        )

    first: list[WriteResult] = []
    for seed in FILE_SEEDS:  # a lost answer (applied) is found again; a timeout (not applied) fails the row
        sf_state(path).set_options({"faults": "lost:0.15,timeout:0.15", "faults_seed": seed})
        sf = SalesforceDestination.from_connection(resolve_connection("salesforce", state_dir=tmp_path, environ={}))
        first.append(await sf.upload_file(upload(seed)))
        await sf.aclose()
    sf_state(path).set_options({"faults": ""})
    sf = SalesforceDestination.from_connection(resolve_connection("salesforce", state_dir=tmp_path, environ={}))
    again = [await sf.upload_file(upload(n)) for n, r in zip(FILE_SEEDS, first, strict=True) if not r.ok]
    assert again and all(r.ok for r in again)
    assert all("the next run uploads it" in (r.error or "") for r in first if not r.ok)
    found = await sf.read_back("ContentVersion", key, [f"F-{n}" for n in FILE_SEEDS], [])
    assert sorted(found) == sorted(f"F-{n}" for n in FILE_SEEDS)
    assert await sf.count("ContentVersion", key) == len(FILE_SEEDS)  # no file twice
    faults = injected_faults(sf_state(path))
    assert faults.get("lost", 0) >= 1 and faults.get("timeout", 0) >= 1
    await sf.aclose()
