"""The BackDocket source connector against the strict emulator (no HTTP is patched): OAuth with
refresh on expiry, cursor paging, delta with overlap and de-duplication, deletions, downloads."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.backdocket import CATALOG, BackDocketSource
from migration_assets.connectors.backdocket.settings import DELTA_OVERLAP, OBJECT_OF_PATH, PATHS
from migration_assets.connectors.base import Deletion
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HttpSession, OAuthClientCredentials, RetryPolicy
from migration_assets.errors import AuthError, MigrationError, RateLimited, RemoteRejected
from migration_assets.sandbox._common import injected_faults
from migration_assets.sandbox.backdocket import build, create_app, expire_tokens, generate, mutate, seed
from migration_assets.sandbox.backdocket.store import CLIENT_ID, CLIENT_SECRET, open_state
from migration_assets.systems import declarations
from migration_assets_tests.emulators import seeded_template, working_copy

HOST = "http://backdocket.sandbox"
SCALE, SEED = 30, 8
Factory = Callable[..., BackDocketSource]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = seeded_template(tmp_path_factory, generate, "backdocket.sqlite", scale=SCALE, seed=SEED)
    open_state(path).set_options({"rate_limit": 100000})
    return path


@pytest.fixture(scope="module")
def dataset() -> dict[str, list[dict]]:
    return build(scale=SCALE, seed=SEED)


@pytest.fixture
def state_path(template: Path, tmp_path: Path) -> Path:
    return working_copy(template, tmp_path)


@pytest.fixture
async def make(state_path: Path) -> AsyncIterator[Factory]:
    """Build connectors through `from_connection`; `seen` collects every request (observed, not mocked)."""
    opened: list[BackDocketSource] = []

    def factory(*, seen: list[httpx.Request] | None = None, base_url: str = HOST + "/api/v1", **options: object):
        connection = Connection(
            system="backdocket",
            base_url=base_url,
            token_url=HOST + "/oauth/token",
            client_id=CLIENT_ID,
            client_secret=SecretStr(CLIENT_SECRET),
            transport=_Observed(httpx.ASGITransport(app=create_app(state_path)), seen),
            sandbox=True,
            options={"rate_per_second": 1000, "burst": 1000, **options},
        )
        source = BackDocketSource.from_connection(connection)
        opened.append(source)
        return source

    yield factory
    for source in opened:
        await source.aclose()


class _Observed(httpx.AsyncBaseTransport):
    """Passes every request to the emulator and remembers it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, seen: list[httpx.Request] | None) -> None:
        self.inner, self.seen = inner, seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.seen is not None:
            self.seen.append(request)
        return await self.inner.handle_async_request(request)


async def _records(source: BackDocketSource, obj: str, since: str | None = None) -> list[dict]:
    return [r async for page in source.extract(obj, since=since) for r in page]


def _live_ids(dataset: dict, resource: str) -> set[str]:
    return {d["id"] for d in dataset[resource] if not d["deleted_at"]}


# -- catalog and declaration ----------------------------------------------------------------------
def test_catalog_lists_every_field_the_api_returns(dataset: dict) -> None:
    assert set(CATALOG) == set(PATHS)
    for obj, source_obj in CATALOG.items():
        served = {k for d in dataset[PATHS[obj]] for k in d if not k.startswith("_")}
        assert {f.name for f in source_obj.fields} == served, obj
        assert source_obj.id_field == "id" and source_obj.updated_field == "updated_at"
        assert all(f.type in ("int", "str", "bool", "float", "json", "datetime", "date") for f in source_obj.fields)
        assert set(source_obj.parents.values()) <= set(CATALOG), obj
    assert CATALOG["claims"].parents["matter_id"] == "matters"


def test_system_declaration_names_the_connector_env_and_sandbox() -> None:
    declared = declarations()["backdocket"]
    assert declared.role == "source" and declared.connector_class() is BackDocketSource
    assert declared.env.names() == {
        "base_url": "BACKDOCKET_BASE_URL",
        "token_url": "BACKDOCKET_TOKEN_URL",
        "client_id": "BACKDOCKET_CLIENT_ID",
        "client_secret": "BACKDOCKET_CLIENT_SECRET",
    }
    hooks = declared.seeding()
    assert all(callable(getattr(hooks, name)) for name in ("reset", "generate", "people", "simulate_delta"))


# -- auth -------------------------------------------------------------------------------------------
async def test_missing_client_credentials_raise_auth_error() -> None:
    with pytest.raises(AuthError, match="BACKDOCKET_CLIENT_ID"):
        BackDocketSource.from_connection(Connection(system="backdocket", base_url=HOST))


async def test_wrong_secret_raises_auth_error_without_leaking_it(state_path: Path) -> None:
    connection = Connection(
        system="backdocket",
        base_url=HOST,
        token_url=HOST + "/oauth/token",
        client_id=CLIENT_ID,
        client_secret=SecretStr("not-the-secret"),
        transport=httpx.ASGITransport(app=create_app(state_path)),
    )
    source = BackDocketSource.from_connection(connection)
    with pytest.raises(AuthError) as raised:
        await _records(source, "users")
    assert "not-the-secret" not in str(raised.value)
    await source.aclose()


async def test_an_expired_token_is_refreshed_once_and_the_extract_goes_on(
    make: Factory, state_path: Path, dataset: dict
) -> None:
    seen: list[httpx.Request] = []
    source = make(seen=seen, page_size=10)
    pages = source.extract("contacts")
    first = await anext(pages)
    assert expire_tokens(state_path) == 1
    rest = [r async for page in pages for r in page]
    assert {r["id"] for r in first + rest} == _live_ids(dataset, "contacts")
    assert [r.url.path for r in seen].count("/oauth/token") == 2


async def test_base_url_with_or_without_the_api_prefix_reaches_the_same_api(make: Factory, dataset: dict) -> None:
    for base_url in (HOST, HOST + "/api/v1"):
        users = await _records(make(base_url=base_url), "users")
        assert {u["id"] for u in users} == _live_ids(dataset, "users")


# -- extract ----------------------------------------------------------------------------------------
async def test_extracts_every_live_record_of_every_object(make: Factory, dataset: dict) -> None:
    source = make()
    for obj, path in PATHS.items():
        ids = [r["id"] for r in await _records(source, obj)]
        assert len(ids) == len(set(ids)) and set(ids) == _live_ids(dataset, path), obj


async def test_nested_values_stay_json_in_the_raw_records(make: Factory) -> None:
    claim = (await _records(make(), "claims"))[0]
    assert isinstance(claim["status_history"], list) and isinstance(claim["custom_fields"], dict)


async def test_pages_follow_next_cursor_until_it_is_null(make: Factory, dataset: dict) -> None:
    seen: list[httpx.Request] = []
    source = make(seen=seen, page_size=9)
    pages = [page async for page in source.extract("claims")]
    live = len(_live_ids(dataset, "claims"))
    assert [len(p) for p in pages[:-1]] == [9] * (len(pages) - 1) and sum(map(len, pages)) == live
    lists = [r for r in seen if r.url.path == "/api/v1/claims"]
    assert len(lists) == len(pages) and "cursor" not in lists[0].url.params
    assert all(r.url.params["limit"] == "9" and r.url.params["cursor"] for r in lists[1:])


def test_page_size_above_200_is_refused_before_any_request(make: Factory) -> None:
    with pytest.raises(ValueError, match="page_size"):
        make(page_size=201)


async def test_unknown_object_raises_migration_error(make: Factory) -> None:
    with pytest.raises(MigrationError, match="known: "):
        await _records(make(), "leads")


async def test_delta_rereads_from_since_minus_the_overlap(make: Factory, state_path: Path) -> None:
    since = "2026-11-10T12:00:00Z"
    mutate.update(state_path, "matters", "m-00002", {"status": "Closed"}, now="2026-11-10T11:57:00Z")
    mutate.update(state_path, "matters", "m-00003", {"status": "Closed"}, now="2026-11-10T12:30:00Z")
    mutate.update(state_path, "matters", "m-00004", {"status": "Closed"}, now="2026-11-10T11:50:00Z")
    seen: list[httpx.Request] = []
    records = await _records(make(seen=seen), "matters", since=since)
    assert {r["id"] for r in records} == {"m-00002", "m-00003"}
    assert DELTA_OVERLAP.total_seconds() == 300
    assert seen[-1].url.params["updated_since"] == "2026-11-10T11:55:00Z"


async def test_a_record_changed_during_the_extract_is_yielded_once(make: Factory, state_path: Path) -> None:
    source = make(page_size=5)
    pages = source.extract("tasks")
    first = await anext(pages)
    # stamped after every seeded record, so the emulator serves it again on the last page
    mutate.update(state_path, "tasks", first[0]["id"], {"status": "Cancelled"}, now="2026-11-20T00:00:00Z")
    ids = [r["id"] for r in first] + [r["id"] async for page in pages for r in page]
    assert len(ids) == len(set(ids)) and first[0]["id"] in ids


async def test_delta_after_simulated_changes_returns_the_changed_records(make: Factory, state_path: Path) -> None:
    changes = seed.simulate_delta(state_path, now="2026-12-02T12:00:00Z")
    since = changes["window"][0]
    changed: set[str] = set()
    source = make()
    for obj in ("contacts", "matters", "claims", "tasks", "intake_submissions", "calendar_events"):
        changed |= {f"{PATHS[obj]}/{r['id']}" for r in await _records(source, obj, since=since)}
    assert set(changes["created"] + changes["updated"]) == changed


async def test_record_by_id_and_404_for_unknown_ones(make: Factory, dataset: dict) -> None:
    source = make()
    claim = next(d for d in dataset["claims"] if not d["deleted_at"])
    assert (await source.get("claims", claim["id"]))["claim_number"] == claim["claim_number"]
    with pytest.raises(RemoteRejected) as raised:
        await source.get("claims", "cl-99999")
    assert raised.value.status == 404 and raised.value.body["error"]["code"] == "not_found"


# -- deletions --------------------------------------------------------------------------------------
async def test_deleted_since_lists_deletions_with_catalog_object_names(make: Factory, state_path: Path) -> None:
    changes = seed.simulate_delta(state_path, now="2026-12-02T12:00:00Z")
    deletions = await make().deleted_since(changes["window"][0])
    assert all(isinstance(d, Deletion) for d in deletions)
    assert {f"{PATHS[d.object]}/{d.id}" for d in deletions} == set(changes["deleted"])
    assert {d.object for d in deletions} <= set(OBJECT_OF_PATH.values())


# -- downloads ----------------------------------------------------------------------------------------
async def test_download_streams_chunks_matching_the_sha256(make: Factory, dataset: dict) -> None:
    doc = max(
        (d for d in dataset["documents"] if d["storage"] == "cloud" and not d["deleted_at"]),
        key=lambda d: d["size_bytes"] if d["size_bytes"] < 1 << 20 else 0,
    )
    digest, size, largest = hashlib.sha256(), 0, 0
    async for chunk in make().download("documents", doc["id"]):
        digest.update(chunk)
        size, largest = size + len(chunk), max(largest, len(chunk))
    assert (size, digest.hexdigest()) == (doc["size_bytes"], doc["sha256"])
    assert largest <= 64 * 1024 < size


async def test_onsite_document_raises_remote_rejected_naming_the_warehouse(make: Factory, dataset: dict) -> None:
    doc = next(d for d in dataset["documents"] if d["storage"] == "onsite_warehouse" and not d["deleted_at"])
    with pytest.raises(RemoteRejected, match="held in the onsite warehouse") as raised:
        _ = [c async for c in make().download("documents", doc["id"])]
    assert raised.value.status == 409 and raised.value.body["error"]["code"] == "not_available"


async def test_download_of_a_missing_document_raises_remote_rejected_404(make: Factory) -> None:
    with pytest.raises(RemoteRejected) as raised:
        _ = [c async for c in make().download("documents", "d-99999")]
    assert raised.value.status == 404


async def test_download_of_another_object_is_refused(make: Factory) -> None:
    with pytest.raises(MigrationError, match="documents"):
        _ = [c async for c in make().download("notes", "n-00001")]


# -- limits and faults ----------------------------------------------------------------------------------
async def test_throttling_past_the_retry_budget_raises_rate_limited(state_path: Path) -> None:
    open_state(state_path).set_options({"rate_limit": 2})
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST)
    auth = OAuthClientCredentials(HOST + "/oauth/token", CLIENT_ID, SecretStr(CLIENT_SECRET))
    session = HttpSession("backdocket", client, auth=auth, retry=RetryPolicy(throttled_seconds=0))
    source = BackDocketSource(session, page_size=5)
    with pytest.raises(RateLimited) as raised:
        await _records(source, "contacts")
    assert raised.value.status == 429 and raised.value.body["error"]["code"] == "rate_limited"
    await source.aclose()


async def test_injected_timeouts_are_retried_and_nothing_is_lost(
    make: Factory, state_path: Path, dataset: dict
) -> None:
    # seed 4: the token request passes, then three of the next thirteen requests time out
    open_state(state_path).set_options({"faults": "timeout:0.15", "faults_seed": 4})
    ids = {r["id"] for r in await _records(make(page_size=5), "contacts")}
    assert ids == _live_ids(dataset, "contacts")
    assert injected_faults(open_state(state_path)).get("timeout", 0) >= 1
