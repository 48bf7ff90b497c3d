"""Connect and read timeouts and the retry budget are per-system settings: each connector's
defaults, overridable through Connection.options, carried by every request; an answer that never
comes costs the system's read timeout, not a fixed 60 s."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.backdocket import BackDocketSource
from migration_assets.connectors.case_status import CaseStatusSource
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.connectors.http import HeaderAuth, HttpSession, RetryPolicy
from migration_assets.connectors.registry import Connection
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.errors import ConnectorError, LostResponse
from migration_assets.sandbox.case_status import create_app, seed
from migration_assets.systems import system

CS = system("case_status").sandbox


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def connection(name: str, **options: object) -> Connection:
    return Connection(
        system=name,
        base_url="https://example.invalid",
        token_url="https://example.invalid/token",
        client_id="id",
        client_secret=SecretStr("secret"),
        api_key=SecretStr("key"),
        options=options,
    )


@pytest.mark.parametrize(
    ("cls", "name", "read"),
    [
        (CaseStatusSource, "case_status", 60.0),
        (BackDocketSource, "backdocket", 60.0),
        (DataverseDestination, "dynamics365", 120.0),
        (SalesforceDestination, "salesforce", 120.0),
    ],
)
async def test_each_connector_has_its_own_timeouts_and_options_override_them(cls, name: str, read: float) -> None:
    default = cls.from_connection(connection(name)).session
    custom = cls.from_connection(
        connection(name, connect_timeout=2, read_timeout=7.5, retry_budget_seconds=30, concurrency=3)
    ).session
    assert default.timeout == httpx.Timeout(read, connect=10.0)
    assert default.retry.throttled_seconds == 300.0 and default.limiter.max_rate is None  # no fixed rate
    assert custom.timeout == httpx.Timeout(7.5, connect=2.0)
    assert custom.retry.throttled_seconds == 30.0
    await default.aclose()
    await custom.aclose()


async def test_every_request_carries_the_sessions_timeouts(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite"
    seed.reset(path)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(path)), base_url=CS.host)
    auth = HeaderAuth("Authorization", SecretStr("ApiKey " + CS.credentials["api_key"]))
    session = HttpSession("case_status", client, auth=auth, connect_timeout=3.0, read_timeout=9.0)
    response = await session.request("GET", "/v1/api/users", expect=(200,))
    assert response.request.extensions["timeout"] == {"connect": 3.0, "read": 9.0, "write": 9.0, "pool": 9.0}
    await session.aclose()


async def test_unanswered_read_costs_the_read_timeout_per_try_then_fails(silent_server: str) -> None:
    client = httpx.AsyncClient(base_url=silent_server)
    session = HttpSession("slow", client, read_timeout=0.2, retry=RetryPolicy(attempts=2, base_delay=0.01))
    with pytest.raises(ConnectorError) as raised:
        await session.request("GET", "/anything")
    assert isinstance(raised.value.__cause__, httpx.ReadTimeout)
    assert session.stats.transport_errors == 2 and session.stats.lost_responses == 2
    await session.aclose()


async def test_unanswered_create_is_a_lost_response_at_once(silent_server: str) -> None:
    client = httpx.AsyncClient(base_url=silent_server)
    session = HttpSession("slow", client, read_timeout=0.2, retry=RetryPolicy(attempts=5, base_delay=0.01))
    with pytest.raises(LostResponse):
        await session.request("POST", "/records", json={"name": "x"})
    assert session.stats.requests == 1
    await session.aclose()
