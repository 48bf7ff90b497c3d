"""HttpSession retries, against the emulators' injected faults: every retried status, the OAuth
token request (throttled or failing is never "refused the client credentials"), and the retry
budget. Fault sequences come from `faults_seed` (FaultInjection draws one number per request)."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.http import HeaderAuth, HttpSession, OAuthClientCredentials, RetryPolicy
from migration_assets.errors import AuthError, ConnectorError, RateLimited, RemoteRejected
from migration_assets.sandbox import case_status as cs_sandbox
from migration_assets.sandbox._common import SqliteState, injected_faults
from migration_assets.sandbox.case_status import seed as cs_seed
from migration_assets.sandbox.case_status.store import open_state as cs_state
from migration_assets.sandbox.salesforce import seed as sf_seed
from migration_assets.sandbox.salesforce.app import create_app as sf_app
from migration_assets.sandbox.salesforce.store import open_state as sf_state
from migration_assets.systems import system

CS = system("case_status").sandbox
SF = system("salesforce").sandbox
FAST = RetryPolicy(base_delay=0.01, attempts=6)
UNLIMITED = {"rate_per_second": 100_000, "burst": 100_000}


def case_status(path: Path, *, retry: RetryPolicy = FAST, **options: object) -> HttpSession:
    """A session on a fresh Case Status sandbox with `options` (faults, limits)."""
    cs_seed.reset(path, **{**UNLIMITED, **options})
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=cs_sandbox.create_app(path)), base_url=CS.host)
    auth = HeaderAuth("Authorization", SecretStr("ApiKey " + CS.credentials["api_key"]))
    return HttpSession("case_status", client, auth=auth, retry=retry)


def salesforce(path: Path, *, secret: str | None = None, **session: object) -> HttpSession:
    """A session on a Salesforce sandbox whose options were set before (faults read at first call)."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sf_app(path)), base_url=SF.host)
    auth = OAuthClientCredentials(
        SF.host + "/services/oauth2/token",
        SF.credentials["client_id"],
        SecretStr(secret or SF.credentials["client_secret"]),
    )
    return HttpSession(
        "salesforce", client, auth=auth, **{"retry": RetryPolicy(base_delay=0.01, attempts=3), **session}
    )


def faults(state: SqliteState) -> dict[str, int]:
    return injected_faults(state)


def reset_salesforce(tmp_path: Path, **options: object) -> Path:
    """A fresh Salesforce sandbox state in `tmp_path` with `options` (faults)."""
    path = tmp_path / "sf.sqlite"
    sf_seed.reset(path, **options)
    return path


async def raised_by(
    session: HttpSession,
    call: Awaitable[object],
    expected: type[ConnectorError] = ConnectorError,
    match: str | None = None,
) -> ConnectorError:
    """What awaiting `call` (a request or token request of `session`) raises; the session is
    closed after (its stats stay readable)."""
    try:
        with pytest.raises(expected, match=match) as raised:
            await call
    finally:
        await session.aclose()
    return raised.value


# -- data requests ------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_each_retried_status_is_retried_until_the_request_succeeds(tmp_path: Path, status: int) -> None:
    path = tmp_path / "cs.sqlite"
    # seed 72: of the nine draws (eight requests and one retry) only the first is under 0.3
    session = case_status(path, faults=f"{status}:0.3", faults_seed=72)
    answers = [await session.request("GET", "/v1/api/users", expect=(200,)) for _ in range(8)]
    snapshot = session.stats.snapshot()
    kind = "throttled" if status in (429, 503) else "server_errors"
    assert all(a.status_code == 200 for a in answers)
    assert faults(cs_state(path)) == {str(status): 1}
    assert session.stats.retries == 1 and snapshot[f"{kind}_{status}"] == 1
    assert session.stats.requests == 9
    await session.aclose()


async def test_server_error_on_every_try_ends_as_remote_rejected_after_the_attempts(tmp_path: Path) -> None:
    session = case_status(tmp_path / "cs.sqlite", retry=RetryPolicy(base_delay=0.01, attempts=3), faults="502:1")
    error = await raised_by(session, session.request("GET", "/v1/api/users"), RemoteRejected)
    assert error.status == 502 and error.body == {"detail": "Bad gateway"}
    assert session.stats.requests == 3


async def test_throttling_past_the_retry_budget_raises_rate_limited_with_the_body(tmp_path: Path) -> None:
    session = case_status(tmp_path / "cs.sqlite", faults="429:1", faults_retry_after=5)
    session.retry = RetryPolicy(throttled_seconds=2)  # a Retry-After of 5 s cannot fit a 2 s budget
    error = await raised_by(session, session.request("GET", "/v1/api/users"), RateLimited)
    assert error.status == 429 and error.body == {"detail": "Rate limit exceeded"}
    assert session.stats.requests == 1


async def test_retry_budget_is_a_session_setting(tmp_path: Path) -> None:
    cs_seed.reset(tmp_path / "cs.sqlite")
    client = httpx.AsyncClient(base_url=CS.host)
    session = HttpSession("case_status", client, retry_budget_seconds=12.5)
    assert session.retry.throttled_seconds == 12.5
    assert HttpSession("case_status", client).retry.throttled_seconds == 300.0
    await session.aclose()


# -- the token request --------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [429, 503])
async def test_throttled_token_endpoint_is_rate_limited_not_an_auth_error(tmp_path: Path, status: int) -> None:
    session = salesforce(reset_salesforce(tmp_path, faults=f"{status}:1", faults_retry_after=5), retry_budget_seconds=2)
    error = await raised_by(session, session.token(), RateLimited)
    assert not isinstance(error, AuthError)
    assert error.status == status and "token endpoint still throttled" in str(error)
    assert "refused the client credentials" not in str(error)


async def test_failing_token_endpoint_is_a_connector_error_after_the_attempts(tmp_path: Path) -> None:
    session = salesforce(reset_salesforce(tmp_path, faults="500:1"))
    error = await raised_by(session, session.token())
    assert type(error) is ConnectorError and error.status == 500
    assert session.stats.requests == 3 and session.stats.snapshot()["server_errors_500"] == 3


async def test_token_request_timeouts_never_escape_as_httpx_errors(tmp_path: Path) -> None:
    session = salesforce(reset_salesforce(tmp_path, faults="timeout:1"))
    error = await raised_by(session, session.token())
    assert not isinstance(error, AuthError)
    assert isinstance(error.__cause__, httpx.ReadTimeout)
    assert session.stats.transport_errors == 3


@pytest.mark.parametrize("kind", ["429", "503", "500", "timeout"])
async def test_token_request_is_retried_until_the_endpoint_answers(tmp_path: Path, kind: str) -> None:
    # seed 1: the first draw is under 0.5 (the first token request fails), the second is not
    path = reset_salesforce(tmp_path, faults=f"{kind}:0.5", faults_seed=1)
    session = salesforce(path)
    token = await session.token()
    assert token is not None and token.access_token
    assert faults(sf_state(path)) == {kind: 1}
    assert session.stats.retries == 1
    await session.aclose()


async def test_refused_client_credentials_are_an_auth_error(tmp_path: Path) -> None:
    session = salesforce(reset_salesforce(tmp_path), secret="not-the-secret")
    error = await raised_by(session, session.token(), AuthError, match="refused the client credentials")
    assert error.status == 400 and "not-the-secret" not in str(error)
    assert session.stats.requests == 1
