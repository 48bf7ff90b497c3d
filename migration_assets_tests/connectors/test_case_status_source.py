"""The Case Status source connector against the strict emulator (no HTTP is patched)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors import open_source, resolve_connection
from migration_assets.connectors.case_status import CATALOG, CaseStatusSource
from migration_assets.connectors.case_status.client import MAX_PAGES_AHEAD, _Flow
from migration_assets.connectors.case_status.settings import PATHS
from migration_assets.connectors.http import HeaderAuth, HttpSession
from migration_assets.errors import AuthError, MigrationError, RemoteRejected
from migration_assets.sandbox.case_status import content, create_app, generate, mutate
from migration_assets.sandbox.case_status.generator import build
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system

SEED = 3
BOX = system("case_status")
Factory = Callable[..., CaseStatusSource]


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    path = BOX.state_path(tmp_path)
    generate(path, scale=50, seed=SEED)
    open_state(path).set_options({"rate_per_second": 1000, "burst": 1000})
    return path


@pytest.fixture
async def make(state_path: Path) -> AsyncIterator[Factory]:
    """Build connectors over the emulator; `seen` collects every requested URL (observed, not mocked)."""
    opened: list[CaseStatusSource] = []

    def factory(*, key: str = "cs-sandbox-key", seen: list[httpx.URL] | None = None, **options: object):
        async def record(request: httpx.Request) -> None:
            if seen is not None:
                seen.append(request.url)

        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(state_path)),
            base_url=BOX.sandbox.host,
            event_hooks={"request": [record]},
        )
        auth = HeaderAuth("Authorization", SecretStr("ApiKey " + key))
        source = CaseStatusSource(HttpSession("case_status", client, auth=auth, rate=50, burst=50), **options)
        opened.append(source)
        return source

    yield factory
    for source in opened:
        await source.aclose()


async def _records(source: CaseStatusSource, obj: str, since: str | None = None) -> list[dict]:
    return [r async for page in source.extract(obj, since=since) for r in page]


async def test_extracts_every_record_of_every_object_across_pages(make: Factory, state_path: Path) -> None:
    expected = {
        r: [d["id"] for d in docs if not d.get("deleted_at")]
        for r, docs in build(scale=50, seed=SEED).items()
    }
    source = make()
    for obj in PATHS:
        ids = [r["id"] for r in await _records(source, obj)]
        assert sorted(ids) == sorted(expected[PATHS[obj]]), obj


async def test_small_pages_stop_on_the_short_page(make: Factory) -> None:
    seen: list[httpx.URL] = []
    source = make(page_size=7, seen=seen)
    pages = [page async for page in source.extract("clients")]
    total = sum(len(p) for p in pages)
    assert all(len(p) == 7 for p in pages[:-1])
    assert len(pages) == total // 7 + (1 if total % 7 else 0)
    # pages are asked ahead (several in flight): the short page ends the listing, what lies past it is
    # at most the pages then in flight, and no page number is skipped or asked twice
    numbers = sorted(int(u.params["page[number]"]) for u in seen)
    assert numbers == list(range(1, len(numbers) + 1))
    assert total // 7 + 1 <= len(numbers) <= total // 7 + 1 + MAX_PAGES_AHEAD


async def test_since_filter_works_without_the_updated_since_extension(
    make: Factory, state_path: Path
) -> None:
    mutate.update(state_path, "cases", 3, {"priority": "Urgent"}, now="2026-11-05T12:00:00Z")
    mutate.update(state_path, "cases", 9, {"priority": "Low"}, now="2026-11-05T12:30:00Z")
    seen: list[httpx.URL] = []
    source = make(seen=seen)
    changed = await _records(source, "cases", since="2026-11-05T12:00:00Z")
    assert sorted(r["id"] for r in changed) == [3, 9]
    assert seen and not any("updated_since" in u.params for u in seen)


async def test_offset_less_checkpoint_is_read_as_utc(make: Factory, state_path: Path) -> None:
    mutate.update(state_path, "matters", 2, {"status": "Closed"}, now="2026-11-05T12:00:00Z")
    changed = await _records(make(), "matters", since="2026-11-05T12:00:00")
    assert [r["id"] for r in changed] == [2]
    later = await _records(make(), "matters", since="2026-11-05T13:00:00+01:00")  # the same instant
    assert [r["id"] for r in later] == [2]


async def test_updated_since_option_filters_on_the_server_with_the_same_result(
    make: Factory, state_path: Path
) -> None:
    mutate.update(state_path, "messages", 5, {"content": "edited"}, now="2026-11-05T12:00:00Z")
    seen: list[httpx.URL] = []
    changed = await _records(
        make(use_updated_since=True, seen=seen), "messages", since="2026-11-05T12:00:00Z"
    )
    assert [r["id"] for r in changed] == [5]
    assert len(seen) == 1 and seen[0].params["updated_since"] == "2026-11-05T12:00:00Z"


async def test_latest_change_and_changed_since_poll_the_api(make: Factory, state_path: Path) -> None:
    source = make()
    before = await source.latest_change("clients")
    assert before is not None and before < "2026-11-01"
    assert await source.changed_since("clients", "2026-11-05T00:00:00Z") == 0
    mutate.update(state_path, "clients", 1, {"company": "Acme LLC"}, now="2026-11-05T08:00:00Z")
    mutate.create(
        state_path, "clients", {"first_name": "New", "last_name": "Client"}, now="2026-11-05T09:00:00Z"
    )
    assert await source.latest_change("clients") == "2026-11-05T09:00:00Z"
    assert await source.changed_since("clients", "2026-11-05T00:00:00Z") == 2


async def test_singleton_portal_config_is_one_page_of_one_record(make: Factory) -> None:
    pages = [page async for page in make().extract("portal_config")]
    assert len(pages) == 1 and len(pages[0]) == 1 and "branding" in pages[0][0]


async def test_deleted_since_names_catalog_objects(make: Factory, state_path: Path) -> None:
    mutate.delete(state_path, "case-events", 4, now="2026-11-05T12:00:00Z")
    mutate.delete(state_path, "clients", 6, now="2026-11-05T13:00:00Z")
    deletions = await make().deleted_since("2026-11-05T12:00:00Z")
    assert [(d.object, d.id, d.deleted_at) for d in deletions] == [
        ("case_events", "4", "2026-11-05T12:00:00Z"),
        ("clients", "6", "2026-11-05T13:00:00Z"),
    ]


async def test_download_streams_the_declared_byte_count(make: Factory) -> None:
    files = await _records(make(), "files")
    doc = max((f for f in files if f["size"] < 1_000_000), key=lambda f: f["size"])
    digest, total, chunks = hashlib.sha256(), 0, 0
    async for chunk in make().download("files", str(doc["id"])):
        digest.update(chunk)
        total, chunks = total + len(chunk), chunks + 1
    assert total == doc["size"]
    assert chunks > 1  # streamed in pieces, not one blob
    assert digest.digest() == hashlib.sha256(content.content(doc["id"], doc["size"])).digest()


async def test_download_of_missing_file_raises_remote_rejected(make: Factory) -> None:
    with pytest.raises(RemoteRejected) as error:
        async for _ in make().download("files", "999999"):
            pass
    assert error.value.status == 404


async def test_download_of_a_non_file_object_is_refused(make: Factory) -> None:
    with pytest.raises(MigrationError, match="files"):
        async for _ in make().download("cases", "1"):
            pass


async def test_throttled_requests_are_retried_until_every_record_is_returned(
    make: Factory, state_path: Path
) -> None:
    open_state(state_path).set_options({"rate_per_second": 1, "burst": 2})
    source = make(page_size=10)
    records = await _records(source, "clients")
    expected = [c["id"] for c in build(scale=50, seed=SEED)["clients"] if not c.get("deleted_at")]
    assert sorted(r["id"] for r in records) == sorted(expected)
    assert source.session.stats.throttled > 0


async def test_throttled_download_is_retried_after_retry_after(make: Factory, state_path: Path) -> None:
    open_state(state_path).set_options({"rate_per_second": 1, "burst": 1})
    source = make()
    doc = (await _records(source, "users"))[0]  # spends the only token
    assert doc["id"]
    files = [f for f in build(scale=50, seed=SEED)["files"] if 0 < f["size"] < 1_000_000 and "_blob" not in f]
    size = sum([len(chunk) async for chunk in source.download("files", str(files[0]["id"]))])
    assert size == files[0]["size"]
    assert source.session.stats.throttled >= 1


async def test_wrong_api_key_raises_auth_error(make: Factory) -> None:
    with pytest.raises(AuthError):
        await _records(make(key="not-the-key"), "users")


async def test_unknown_object_error_lists_known_objects(make: Factory) -> None:
    with pytest.raises(MigrationError, match=r"no object 'contacts' \(known: .*clients"):
        await _records(make(), "contacts")


def test_catalog_documents_pick_lists_and_parents() -> None:
    cases = CATALOG["cases"]
    assert cases.field("status").values == (  # type: ignore[union-attr]
        "Intake", "Active", "Pending", "On Hold", "Closed", "Closed Won", "Closed Lost",
    )  # fmt: skip
    assert cases.field("priority").values == ("Low", "Normal", "High", "Urgent")  # type: ignore[union-attr]
    assert CATALOG["messages"].field("direction").values == ("inbound", "outbound")  # type: ignore[union-attr]
    assert cases.parents["client_ids"] == "clients"
    assert CATALOG["matters"].parents["case_id"] == "cases"
    assert set(CATALOG) == set(PATHS) | {"note_images", "client_nps"}


async def test_registry_opens_the_sandbox_when_no_credentials_are_set(state_path: Path) -> None:
    connection = resolve_connection("case_status", state_dir=state_path.parent, environ={})
    assert connection.sandbox and connection.api_key is not None
    source = open_source("case_status", connection)
    try:
        assert isinstance(source, CaseStatusSource)
        assert source.session.auth is not None and "cs-sandbox-key" not in repr(source.session.auth)
        users = await _records(source, "users")
        assert len(users) == 8
    finally:
        await source.aclose()


def test_pages_ahead_follow_how_many_pages_the_server_answers_at_once() -> None:
    # a server answering one page at a time: a page every 10 ms, one alone also took 10 ms
    serial = _Flow()
    serial.answers.extend(i * 0.01 for i in range(8))
    serial.fastest = 0.01
    assert serial.needed() == 2  # more in flight would only queue (and ask past the end)
    # a server answering many at once: 7 pages in 50 ms, one alone took 200 ms
    parallel = _Flow()
    parallel.answers.extend([0.0, 0.01, 0.02, 0.03, 0.03, 0.04, 0.05, 0.05])
    parallel.fastest = 0.2
    assert parallel.needed() == 29  # capped by the limiter's slots and MAX_PAGES_AHEAD when asked
    assert _Flow().needed() == 2  # no rate yet
