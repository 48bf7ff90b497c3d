"""Freshsales emulator: the API key header, the per-account hourly limit and per-minute cap, and
fault injection."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.freshsales import seed
from migration_assets.sandbox.freshsales.store import open_state
from migration_assets.sandbox.freshsales.testing import api, auth, sandbox_client
from migration_assets.sandbox.freshsales.users import create_user

OWNERS = api("selector/owners")


async def test_missing_authorization_is_401_with_errors_body(tmp_path):
    async with sandbox_client(tmp_path / "fs.sqlite", authenticated=False) as client:
        response = await client.get(OWNERS)
    assert response.status_code == 401
    assert response.json()["errors"]["code"] == 401
    assert response.json()["errors"]["message"]


async def test_bearer_header_with_the_right_key_is_refused(tmp_path):
    async with sandbox_client(tmp_path / "fs.sqlite", authenticated=False) as client:
        response = await client.get(OWNERS, headers={"Authorization": "Bearer fs-sandbox-key"})
    assert response.status_code == 401


async def test_unknown_key_is_refused_and_not_counted(tmp_path):
    path = tmp_path / "fs.sqlite"
    async with sandbox_client(path, authenticated=False) as client:
        response = await client.get(OWNERS, headers=auth("not-a-key"))
    assert response.status_code == 401
    assert "x-ratelimit-remaining" not in response.headers
    assert seed.usage(path)["used"] == 0


async def test_token_header_is_accepted_and_every_answer_carries_remaining(tmp_path):
    async with sandbox_client(tmp_path / "fs.sqlite") as client:
        first = await client.get(OWNERS)
        missing = await client.get(api("contacts/123"))
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining"] == "999"  # garden: 1,000 per hour
    assert missing.status_code == 404 and missing.headers["X-RateLimit-Remaining"] == "998"  # errors count too


async def owners_answers(path: Path, count: int, **reset_options: object) -> list[httpx.Response]:
    """The answers to `count` owners reads on a sandbox at `path` reset with `reset_options`."""
    seed.reset(path, **reset_options)
    async with sandbox_client(path) as client:
        return [await client.get(OWNERS) for _ in range(count)]


@pytest.mark.parametrize(("plan", "left"), [("blossom", 999), ("estate", 1999), ("forest", 4999)])
async def test_plan_sets_the_hourly_limit(tmp_path, plan, left):
    [response] = await owners_answers(tmp_path / "fs.sqlite", 1, plan=plan)
    assert int(response.headers["X-RateLimit-Remaining"]) == left


async def test_sprout_plan_has_no_api_access(tmp_path):
    [response] = await owners_answers(tmp_path / "fs.sqlite", 1, plan="sprout")
    assert response.status_code == 403
    assert response.json() == {"errors": {"code": 403, "message": ["API access is not available on the Sprout plan"]}}


async def test_hourly_limit_answers_429_in_the_errors_envelope_with_retry_after(tmp_path):
    *accepted, refused = await owners_answers(tmp_path / "fs.sqlite", 4, hourly_limit=3)
    assert [response.status_code for response in accepted] == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["errors"]["code"] == 429
    assert "per hour" in refused.json()["errors"]["message"][0]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["X-RateLimit-Remaining"] == "0"


async def test_per_minute_cap_answers_429_before_the_hourly_limit(tmp_path):
    *accepted, refused = await owners_answers(tmp_path / "fs.sqlite", 3, minute_limit=2)
    assert [response.status_code for response in accepted] == [200, 200]
    assert refused.status_code == 429
    assert "per minute" in refused.json()["errors"]["message"][0]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "998"  # the refused call is not counted


async def test_limit_is_per_account_across_apps_and_keys(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path, hourly_limit=2)
    with open_state(path).connect() as conn:
        create_user(conn, "second@firm.example", "Second", "User", api_key="second-key")
    async with sandbox_client(path) as one, sandbox_client(path, authenticated=False) as two:
        assert (await one.get(OWNERS)).status_code == 200
        assert (await two.get(api("selector/deal_pipelines"), headers=auth("second-key"))).status_code == 200
        assert (await one.get(OWNERS)).status_code == 429


async def test_reset_usage_starts_a_new_hour(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path, hourly_limit=1)
    async with sandbox_client(path) as client:
        assert (await client.get(OWNERS)).status_code == 200
        assert (await client.get(OWNERS)).status_code == 429
        seed.reset_usage(path)
        assert (await client.get(OWNERS)).status_code == 200


async def test_injected_503_answers_the_errors_envelope(tmp_path):
    path = tmp_path / "fs.sqlite"
    [response] = await owners_answers(path, 1, faults="503:1")
    assert response.status_code == 503
    assert response.json() == {"errors": {"code": 503, "message": ["Service temporarily unavailable"]}}
    assert response.headers["Retry-After"] == "1"
    assert injected_faults(open_state(path)) == {"503": 1}


def test_reset_refuses_unknown_options_and_plans(tmp_path):
    with pytest.raises(ValueError, match="unknown option"):
        seed.reset(tmp_path / "fs.sqlite", hourly_limt=5)
    with pytest.raises(ValueError, match="unknown plan"):
        seed.reset(tmp_path / "fs.sqlite", plan="platinum")


async def test_owners_need_an_admin_key_while_other_selectors_answer(tmp_path):
    path = tmp_path / "fs.sqlite"
    seed.reset(path)
    with open_state(path).connect() as conn:
        create_user(conn, "plain@firm.example", "Plain", "User", api_key="plain-key")
    async with sandbox_client(path, authenticated=False) as client:
        owners = await client.get(OWNERS, headers=auth("plain-key"))
        pipelines = await client.get(api("selector/deal_pipelines"), headers=auth("plain-key"))
    assert owners.status_code == 403
    assert owners.json() == {"errors": {"code": 403, "message": ["You are not authorised to perform this operation."]}}
    assert pipelines.status_code == 200
