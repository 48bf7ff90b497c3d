"""Dataverse emulator: service protection limits and entitlement counter (checklist 16-17)."""

from __future__ import annotations

import asyncio

from migration_assets.sandbox.dataverse.core import ODataError
from migration_assets.sandbox.dataverse.limits import ServiceProtection
from migration_assets.sandbox.dataverse.store import Options, open_state
from migration_assets.sandbox.dataverse.testing import batch_body, sandbox_client


async def test_requests_over_window_are_429_with_retry_after(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", requests_per_window=2, window_seconds=120) as dv:
        statuses = [(await dv.get("accounts")).status_code for _ in range(2)]
        throttled = await dv.get("accounts")
    assert statuses == [200, 200]
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 120
    assert throttled.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 2 over time window of 120 seconds.",
    }


async def test_execution_time_budget_is_429_0x80072321(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", execution_ms_per_window=0.001) as dv:
        await dv.get("accounts")
        throttled = await dv.get("accounts")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "0x80072321"
    assert int(throttled.headers["Retry-After"]) >= 1


def test_concurrent_requests_over_limit_are_refused(tmp_path):
    limiter, options = ServiceProtection(open_state(tmp_path / "dv.sqlite")), Options({"max_concurrency": 1})
    limiter.admit("client", options)
    try:
        limiter.admit("client", options)
    except ODataError as error:
        assert error.status == 429 and error.code == "0x80072326"
        assert error.message == "Number of concurrent requests exceeded the limit of 1."
        assert error.headers["Retry-After"] == "1"
    else:
        raise AssertionError("second concurrent request was admitted")
    limiter.release("client", 5)
    limiter.admit("client", options)


async def test_concurrency_limit_over_http(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", max_concurrency=1) as dv:
        # Two large batches keep the emulator busy long enough to overlap.
        items = [("POST", "/api/data/v9.2/accounts", {"name": str(i)}, {}) for i in range(400)]
        body = batch_body("b", items).encode()
        headers = {"Content-Type": "multipart/mixed; boundary=b"}
        responses = await asyncio.gather(*(dv.post("$batch", content=body, headers=headers) for _ in range(2)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 429]
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "0x80072326" and throttled.headers["Retry-After"]


async def test_responses_carry_dop_hint_and_burst_remaining(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite", requests_per_window=10) as dv:
        response = await dv.get("accounts")
    assert response.headers["x-ms-dop-hint"] == "4"
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "9"


async def test_entitlement_counts_operations_without_throttling(tmp_path):
    async with sandbox_client(tmp_path / "dv.sqlite") as dv:
        for _ in range(3):
            await dv.get("accounts")
        environment = (await dv.get("sandbox/environment")).json()
    assert environment["entitlement_requests_24h"] >= 3
