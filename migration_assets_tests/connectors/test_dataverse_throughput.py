"""DataverseDestination's bulk paths against the strict emulator: existence in one listing, bulk
messages for rows whose existence is known (and `$batch` when one is refused), reads of many records
by paging, several application users with ownership kept, and the limiter under service protection
(counted by the emulator's own per-identity window, never by the clock)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.base import UpsertRow
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.connectors.registry import Connection
from migration_assets.sandbox import sandbox
from migration_assets.sandbox._common import SharedWindow
from migration_assets.sandbox.dataverse import bootstrap, store
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.limits import WINDOW_NAME
from migration_assets.sandbox.dataverse.seed import reset
from migration_assets_tests.connectors.test_dataverse_connector import EXT, key_requirement

BOX = sandbox("dynamics365")


def connector(state: Path, **options) -> DataverseDestination:
    """A connector on its own app over `state`, with the sandbox's further app users available."""
    connection = Connection(
        system="dynamics365",
        base_url=BOX.host,
        token_url=BOX.host + (BOX.token_path or ""),
        client_id=BOX.credentials["client_id"],
        client_secret=SecretStr(BOX.credentials["client_secret"]),
        transport=httpx.ASGITransport(app=create_app(state)),
        sandbox=True,
        options={"publisher_prefix": "cs", **options},
        extra_credentials=tuple((c["client_id"], SecretStr(c["client_secret"])) for c in BOX.extra_credentials),
    )
    return DataverseDestination.from_connection(connection)


def rows(n: int, *, start: int = 0, exists: bool | None = None) -> list[UpsertRow]:
    return [UpsertRow(f"A-{i}", {"name": f"Firm {i}"}, exists=exists) for i in range(start, start + n)]


def stored(state: Path, entity: str) -> list[dict]:
    with sqlite3.connect(state) as conn:
        return [json.loads(d) for (d,) in conn.execute("select data from records where entity = ?", (entity,))]


def sent(dv: DataverseDestination) -> int:
    return sum(api.session.stats.requests for api in dv.writers)


@pytest.fixture
async def keyed(tmp_path: Path):
    state = tmp_path / "dv.sqlite"
    reset(state)
    dv = connector(state)
    await dv.apply_schema([key_requirement("account")])
    yield dv, state
    await dv.aclose()


async def test_existence_of_many_rows_is_one_listing_of_the_key_column(keyed) -> None:
    dv, _state = keyed
    await dv.upsert("account", EXT, rows(300))
    before = sent(dv)
    found = await dv.existing("account", EXT, [f"A-{i}" for i in range(150, 450)])
    assert found == {f"A-{i}" for i in range(150, 300)}
    assert sent(dv) - before == 1  # 300 records fit one page of the listing; `In` reads would take 3


async def test_rows_known_new_or_existing_go_through_create_and_update_multiple(keyed) -> None:
    dv, state = keyed
    await dv.upsert("account", EXT, [UpsertRow("warm", {"name": "w"}, exists=False)])  # metadata read
    before = sent(dv)
    created = await dv.upsert("account", EXT, rows(50, exists=False))
    assert [r.operation for r in created] == ["created"] * 50 and all(r.destination_id for r in created)
    assert len({r.destination_id for r in created}) == 50
    assert sent(dv) - before == 1  # one CreateMultiple
    updated = await dv.upsert("account", EXT, [UpsertRow("A-3", {"name": "Renamed"}, exists=True)])
    assert updated[0].ok and updated[0].operation == "updated"
    names = {r[EXT]: r["name"] for r in stored(state, "account") if r.get(EXT)}
    assert names["A-3"] == "Renamed" and len(names) == 51


async def test_a_refused_bulk_request_goes_through_batch_where_only_the_bad_row_fails(keyed) -> None:
    dv, state = keyed
    batch = [*rows(5, exists=False), UpsertRow("A-bad", {"name": "x" * 200, "numberofemployees": "many"}, exists=False)]
    results = await dv.upsert("account", EXT, batch)
    assert [r.ok for r in results] == [True] * 5 + [False]
    assert len([r for r in stored(state, "account") if r.get(EXT)]) == 5


async def test_reading_back_many_records_pages_through_the_table(keyed) -> None:
    dv, _state = keyed
    await dv.upsert("account", EXT, rows(1200, exists=False))
    before = sent(dv)
    found = await dv.read_back("account", EXT, [f"A-{i}" for i in range(1200)], ["name"])
    assert len(found) == 1200 and found["A-7"]["name"] == "Firm 7"
    assert sent(dv) - before == 1  # one page of 5,000 instead of 12 `In` reads


async def test_several_application_users_share_the_batches_and_new_records_keep_the_primary_owner(
    tmp_path: Path,
) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state, app_users=3)
    dv = connector(state, identities=3, batch_size=10)
    try:
        await dv.apply_schema([key_requirement("account")])
        assert len({api.session.limiter for api in dv.writers}) == 3  # a limiter each
        await dv.upsert("account", EXT, rows(200, exists=False))
    finally:
        await dv.aclose()
    window = SharedWindow(store.open_state(state), WINDOW_NAME)
    users = [store.app_user(n)[0] for n in (1, 2, 3)]
    assert all(window.used(u, 3600) > 0 for u in users)  # every identity wrote some batches
    accounts = [r for r in stored(state, "account") if r.get(EXT)]
    assert len(accounts) == 200
    assert {r["ownerid"]["id"] for r in accounts} == {bootstrap.APP_USER_ID}
    assert {r["createdby"]["id"] for r in accounts} == {bootstrap.app_user_id(u) for u in users}


async def test_limiter_stays_under_the_service_protection_window_with_under_1_percent_429s(
    tmp_path: Path,
) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state, requests_per_window=40, window_seconds=1)
    dv = connector(state)
    identity, samples = store.CLIENT_ID, []
    window = SharedWindow(store.open_state(state), WINDOW_NAME)
    total, claimed = 600, 0

    async def worker() -> None:
        nonlocal claimed
        while claimed < total:
            claimed += 1
            number = claimed
            await dv.api.get_json("WhoAmI")
            if number % 5 == 0 and number > total // 2:
                samples.append(window.used(identity, 1))

    try:
        await asyncio.gather(*(worker() for _ in range(4)))
    finally:
        await dv.aclose()
    stats = dv.session.stats
    # the requests in flight when the first 429 comes back (the limit is learnt from it) are answered
    # 429 too: at most the concurrency reached before it, which is the run's peak; beyond them, < 1%
    learning = dv.session.limiter.peak_in_flight
    assert (stats.throttled_by_status.get(429, 0) - learning) / stats.requests < 0.01
    assert max(samples) <= 40
    # the pace it learnt sits just under the limit (what a loaded machine then reaches is the bench's
    # business: `bench.limits` reports the utilization)
    assert 0.9 * 40 <= (dv.session.limiter.pacing() or 0) <= 40
