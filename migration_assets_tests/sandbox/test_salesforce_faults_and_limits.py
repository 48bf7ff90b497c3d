"""The Salesforce emulator's injected faults answer with the REST error array (token endpoint
included), `lost` applies the write and `timeout` does not, and the optional short-term limit is
counted per org in the state file, shared by every app instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.store import open_state
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client


@pytest.fixture
async def bearer(tmp_path: Path) -> str:
    """A session token issued before any fault is switched on (sessions live in the state file)."""
    seed.reset(tmp_path / "sf.sqlite")
    async with sandbox_client(tmp_path / "sf.sqlite") as client:
        return client.headers["Authorization"]


@asynccontextmanager
async def faulty(path: Path, bearer: str, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a new app instance (which reads the options afresh) carrying `bearer`."""
    open_state(path).set_options(options)
    async with sandbox_client(path, authenticated=False) as client:
        client.headers["Authorization"] = bearer
        yield client


async def _accounts(path: Path, bearer: str, name: str) -> int:
    async with faulty(path, bearer, faults="") as client:
        query = f"SELECT Id FROM Account WHERE Name = '{name}'"
        return int((await client.get(data_url("query"), params={"q": query})).json()["totalSize"])


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("429", "REQUEST_LIMIT_EXCEEDED"),
        ("500", "UNKNOWN_EXCEPTION"),
        ("502", "BAD_GATEWAY"),
        ("503", "SERVER_UNAVAILABLE"),
        ("504", "REQUEST_RUNNING_TOO_LONG"),
    ],
)
async def test_injected_status_fault_answers_with_the_rest_error_array(
    tmp_path: Path, bearer: str, kind: str, code: str
) -> None:
    path = tmp_path / "sf.sqlite"
    async with faulty(path, bearer, faults=f"{kind}:1", faults_retry_after=2) as client:
        response = await client.get(data_url("sobjects"))
    assert response.status_code == int(kind)
    [error] = response.json()
    assert error["errorCode"] == code and error["message"]
    assert response.headers.get("Retry-After") == ("2" if kind in ("429", "503") else None)
    assert injected_faults(open_state(path)) == {kind: 1}


async def test_token_endpoint_is_faulted_too(tmp_path: Path, bearer: str) -> None:
    path = tmp_path / "sf.sqlite"
    async with faulty(path, bearer, faults="503:1") as client:
        response = await client.post("/services/oauth2/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


@pytest.mark.parametrize(
    ("fault", "error", "name", "written"),
    [
        pytest.param("lost:1", httpx.RemoteProtocolError, "Lost Answer Co", 1, id="lost-applies-the-write"),
        pytest.param("timeout:1", httpx.ReadTimeout, "Timed Out Co", 0, id="timeout-does-not-apply-the-write"),
    ],
)
async def test_lost_answer_applies_the_write_and_timeout_does_not(
    tmp_path: Path, bearer: str, fault: str, error: type[Exception], name: str, written: int
) -> None:
    path = tmp_path / "sf.sqlite"
    async with faulty(path, bearer, faults=fault) as client:
        with pytest.raises(error):
            await client.post(data_url("sobjects/Account"), json={"Name": name})
    assert await _accounts(path, bearer, name) == written


# -- the short-term limit (invented, off by default) ------------------------------------------------
async def test_short_term_limit_is_shared_by_app_instances_and_answers_429(tmp_path: Path, bearer: str) -> None:
    path = tmp_path / "sf.sqlite"
    async with faulty(path, bearer, rate_limit=3, rate_window_seconds=300) as first, faulty(path, bearer) as second:
        statuses = [(await c.get(data_url("sobjects"))).status_code for c in (first, second, first)]
        refused = await second.get(data_url("sobjects"))
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/15000"  # a refused call is not counted


async def test_short_term_limit_counts_limits_calls_but_not_refused_sessions(tmp_path: Path, bearer: str) -> None:
    path = tmp_path / "sf.sqlite"
    async with faulty(path, bearer, rate_limit=2, rate_window_seconds=300) as client:
        forged = await client.get(data_url("sobjects"), headers={"Authorization": "Bearer forged"})
        statuses = [(await client.get(data_url(p))).status_code for p in ("limits", "sobjects", "sobjects")]
    assert forged.status_code == 401
    assert statuses == [200, 200, 429]


async def test_reset_clears_the_short_term_counts(tmp_path: Path) -> None:
    path = tmp_path / "sf.sqlite"
    seed.reset(path, rate_limit=1, rate_window_seconds=300)
    async with sandbox_client(path) as client:
        assert [(await client.get(data_url("sobjects"))).status_code for _ in range(2)] == [200, 429]
    seed.reset(path, rate_limit=1, rate_window_seconds=300)
    async with sandbox_client(path) as client:
        assert (await client.get(data_url("sobjects"))).status_code == 200
