"""Systems' rate-limit headers read by the limiter: BackDocket's RateLimit fields (IETF draft, ours)
and HubSpot's X-HubSpot-RateLimit-* (real). Measured by the emulators' own per-identity windows and
429 counts, never by the clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.backdocket import BackDocketSource
from migration_assets.connectors.backdocket.settings import RATE_HEADERS
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HttpSession
from migration_assets.connectors.interactive import InteractiveSource
from migration_assets.sandbox import sandbox
from migration_assets.sandbox.backdocket import create_app as backdocket_app
from migration_assets.sandbox.backdocket import generate
from migration_assets.sandbox.backdocket import seed as bd_seed
from migration_assets.sandbox.backdocket.store import CLIENT_ID, CLIENT_SECRET
from migration_assets.sandbox.interactive import create_app as interactive_app
from migration_assets.sandbox.interactive import seed as hs_seed

BD = sandbox("backdocket")
HS = sandbox("interactive")


def throttled(session: HttpSession) -> int:
    return session.stats.throttled_by_status.get(429, 0)


async def hammer(session: HttpSession, path: str, total: int, workers: int = 4) -> None:
    claimed = 0

    async def worker() -> None:
        nonlocal claimed
        while claimed < total:
            claimed += 1
            await session.request("GET", path, expect=(200,))

    await asyncio.gather(*(worker() for _ in range(workers)))


def test_the_rate_limit_policy_window_is_read_from_its_w_parameter() -> None:
    headers = httpx.Headers(
        {"RateLimit-Policy": "120;w=60", "RateLimit-Limit": "120", "RateLimit-Remaining": "7", "RateLimit-Reset": "12"}
    )
    hint = RATE_HEADERS(headers)
    assert hint is not None and (hint.limit, hint.remaining, hint.window_seconds) == (120, 7, 60.0)


@pytest.fixture
def backdocket(tmp_path: Path) -> Path:
    path = tmp_path / "backdocket.sqlite"
    bd_seed.reset(path, rate_limit=20, rate_window_seconds=1)
    generate(path, scale=2, seed=1)
    return path


async def test_backdocket_answers_carry_the_rate_limit_fields_counting_down(backdocket: Path) -> None:
    transport = httpx.ASGITransport(app=backdocket_app(backdocket))
    async with httpx.AsyncClient(transport=transport, base_url=BD.host) as api:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        token = (await api.post("/oauth/token", data=form)).json()["access_token"]
        answers = [await api.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}) for _ in range(3)]
    assert [a.headers["RateLimit-Policy"] for a in answers] == ["20;w=1"] * 3
    assert [int(a.headers["RateLimit-Remaining"]) for a in answers] == [19, 18, 17]
    assert all(a.headers["RateLimit-Limit"] == "20" for a in answers)


async def test_backdocket_connector_paces_by_its_headers_with_under_1_percent_429s(backdocket: Path) -> None:
    connection = Connection(
        "backdocket",
        BD.host + "/api/v1",
        token_url=BD.host + (BD.token_path or ""),
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        transport=httpx.ASGITransport(app=backdocket_app(backdocket)),
        sandbox=True,
    )
    source = BackDocketSource.from_connection(connection)
    try:
        await hammer(source.session, BD.host + "/api/v1/users", 200)
    finally:
        await source.aclose()
    assert throttled(source.session) / source.session.stats.requests < 0.01


async def test_hubspot_headers_keep_the_interactive_connector_under_the_ten_second_window(tmp_path: Path) -> None:
    path = tmp_path / "interactive.sqlite"
    hs_seed.reset(path, ten_secondly_limit=20, ten_secondly_window=1.0)
    connection = Connection(
        "interactive",
        HS.host,
        api_key=SecretStr(HS.credentials["api_key"]),
        transport=httpx.ASGITransport(app=interactive_app(path)),
        sandbox=True,
    )
    source = InteractiveSource.from_connection(connection)
    try:
        await hammer(source.session, HS.host + "/crm/v3/owners", 200)
    finally:
        await source.aclose()
    assert throttled(source.session) / source.session.stats.requests < 0.01
