"""The Case Status emulator's limit is counted per API key in its state file (shared by every app
instance and process) and its injected faults answer in its own `{"detail": ...}` shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.case_status import create_app, seed
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system

BASE_URL = system("case_status").sandbox.host
KEY = {"Authorization": "ApiKey " + system("case_status").sandbox.credentials["api_key"]}
REPO = Path(__file__).resolve().parents[2]


def client_for(path: Path) -> httpx.AsyncClient:
    """A client on a new app instance over `path` (as another step or process would have)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(path)), base_url=BASE_URL, headers=KEY)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "case_status.sqlite"
    seed.reset(path)
    return path


# -- faults -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("429", "Rate limit exceeded"),
        ("500", "Internal server error"),
        ("502", "Bad gateway"),
        ("503", "Service unavailable"),
        ("504", "Gateway timeout"),
    ],
)
async def test_injected_status_fault_answers_with_the_detail_body(path: Path, kind: str, detail: str) -> None:
    seed.reset(path, faults=f"{kind}:1", faults_retry_after=3)
    async with client_for(path) as api:
        response = await api.get("/v1/api/users")
    assert response.status_code == int(kind)
    assert response.json() == {"detail": detail}
    assert response.headers.get("Retry-After") == ("3" if kind in ("429", "503") else None)
    assert injected_faults(open_state(path)) == {kind: 1}


async def test_injected_timeout_reaches_the_client_as_a_read_timeout(path: Path) -> None:
    seed.reset(path, faults="timeout:1")
    async with client_for(path) as api:
        with pytest.raises(httpx.ReadTimeout):
            await api.get("/v1/api/users")
    assert injected_faults(open_state(path)) == {"timeout": 1}


async def test_injected_lost_answer_is_served_then_dropped(path: Path) -> None:
    seed.reset(path, faults="lost:1", rate_per_second=1, burst=5)
    async with client_for(path) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            await api.get("/v1/api/users")
    assert injected_faults(open_state(path)) == {"lost": 1}
    assert _used(path) == 1  # the request went through the API (and its limit) before being dropped


def test_reset_refuses_unknown_options_and_bad_faults(path: Path) -> None:
    with pytest.raises(ValueError, match="unknown case_status options"):
        seed.reset(path, rate_limit=5)
    with pytest.raises(ValueError, match="unknown fault"):
        seed.reset(path, faults="418:1")


# -- limits -----------------------------------------------------------------------------------------
def _used(path: Path) -> int:
    with open_state(path).connect() as conn:
        return int(conn.execute("select count(*) from sandbox_rate_events").fetchone()[0])


async def test_limit_is_shared_by_app_instances_over_one_state_file(path: Path) -> None:
    seed.reset(path, rate_per_second=0.01, burst=3)  # 3 requests per 300 s
    async with client_for(path) as first, client_for(path) as second:
        statuses = [(await api.get("/v1/api/users")).status_code for api in (first, second, first)]
        refused = await second.get("/v1/api/users")
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429 and refused.json() == {"detail": "Rate limit exceeded"}
    assert int(refused.headers["Retry-After"]) >= 1


def test_limit_is_shared_with_another_process(path: Path) -> None:
    seed.reset(path, rate_per_second=0.01, burst=2)  # 2 requests per 200 s
    script = textwrap.dedent(
        f"""
        import httpx, json
        from migration_assets.sandbox.case_status import create_app
        transport = httpx.ASGITransport(app=create_app({str(path)!r}))
        async def main():
            async with httpx.AsyncClient(transport=transport, base_url={BASE_URL!r}, headers={KEY!r}) as api:
                return [(await api.get("/v1/api/users")).status_code for _ in range(3)]
        import asyncio
        print(json.dumps(asyncio.run(main())))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert json.loads(first.stdout) == [200, 200, 429]
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    assert json.loads(second.stdout) == [429, 429, 429]  # the first process spent the window


async def test_burst_below_one_second_counts_as_one_seconds_worth(path: Path) -> None:
    seed.reset(path, rate_per_second=5, burst=2)  # a window of 5 requests per second
    async with client_for(path) as api:
        statuses = [(await api.get("/v1/api/users")).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


async def test_reset_clears_the_counted_requests(path: Path) -> None:
    seed.reset(path, rate_per_second=0.01, burst=1)
    async with client_for(path) as api:
        assert [(await api.get("/v1/api/users")).status_code for _ in range(2)] == [200, 429]
    seed.reset(path, rate_per_second=0.01, burst=1)
    async with client_for(path) as api:
        assert (await api.get("/v1/api/users")).status_code == 200
