"""The Interactive source connector against the strict emulator (no HTTP is patched): cursor
paging, property selection, flattened associations, delta through the search API beyond its cap
and under edits, deletions, downloads, throttling and faults."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from migration_assets.connectors.base import SourceConnector
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HeaderAuth, HttpSession, RetryPolicy
from migration_assets.connectors.interactive import CATALOG, InteractiveSource, settings
from migration_assets.errors import AuthError, MigrationError, RemoteRejected
from migration_assets.sandbox.interactive import SANDBOX_TOKEN, create_app, generate, mutate, seed
from migration_assets.sandbox.interactive.meta import chunks
from migration_assets.sandbox.interactive.store import open_state
from migration_assets_tests.emulators import seeded_template, working_copy

HOST = "http://interactive.sandbox"
SINCE = "2026-06-01T00:00:00Z"
Factory = Callable[..., InteractiveSource]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_template(tmp_path_factory, generate, "interactive.sqlite", scale=60, seed=9)


@pytest.fixture
def state_path(template: Path, tmp_path: Path) -> Path:
    return working_copy(template, tmp_path, open_state, {"ten_secondly_limit": 100_000, "search_per_second": 100_000})


@pytest.fixture
async def make(state_path: Path) -> AsyncIterator[Factory]:
    """Connectors over the emulator; `seen` collects every request (observed, not mocked)."""
    opened: list[InteractiveSource] = []

    def factory(
        *,
        token: str = SANDBOX_TOKEN,
        seen: list[httpx.Request] | None = None,
        retry: RetryPolicy = settings.RETRY,
        **options: object,
    ):
        async def record(request: httpx.Request) -> None:
            if seen is not None:
                seen.append(request)

        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(state_path)), base_url=HOST, event_hooks={"request": [record]}
        )
        auth = HeaderAuth("Authorization", SecretStr(f"Bearer {token}"))
        session = HttpSession("interactive", client, auth=auth, rate=1000, burst=1000, retry=retry)
        source = InteractiveSource(session, **{"search_rate": 1000.0, **options})  # type: ignore[arg-type]
        opened.append(source)
        return source

    yield factory
    for source in opened:
        await source.aclose()


async def _rows(source: InteractiveSource, obj: str, since: str | None = None) -> list[dict]:
    return [r async for page in source.extract(obj, since=since) for r in page]


def _db(path: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def _live(path: Path, otype: str) -> set[str]:
    return {str(r[0]) for r in _db(path, "select id from objects where type = ? and archived = 0", otype)}


# -- connection and catalog ---------------------------------------------------------------------
async def test_from_connection_needs_a_private_app_token() -> None:
    with pytest.raises(AuthError, match="INTERACTIVE_TOKEN"):
        InteractiveSource.from_connection(Connection(system="interactive", base_url=HOST))


async def test_from_connection_reads_the_sandbox_with_its_bearer_token(state_path: Path) -> None:
    def connect(token: str) -> InteractiveSource:
        transport = httpx.ASGITransport(app=create_app(state_path))
        conn = Connection("interactive", HOST, api_key=SecretStr(token), transport=transport, sandbox=True)
        return InteractiveSource.from_connection(conn, search_rate=1000.0)

    source = connect(SANDBOX_TOKEN)
    assert isinstance(source, SourceConnector)
    assert len(await _rows(source, "owners")) == 6
    await source.aclose()
    refused = connect("pat-na1-revoked")
    with pytest.raises(AuthError):
        await _rows(refused, "deals")
    await refused.aclose()


def test_every_catalog_object_reads_by_id_and_updated_at() -> None:
    crm = {"contacts", "companies", "deals", "calls", "emails", "meetings", "tasks", "notes", "spouse_links"}
    assert set(CATALOG) == crm | {"owners", "pipelines", "pipeline_stages", "files", "flows"}
    for obj in CATALOG.values():
        assert obj.id_field == "id" and obj.updated_field == "updatedAt" and obj.field("updatedAt")
        assert all(obj.field(f) for f in obj.parents), obj.name
    assert CATALOG["contacts"].parents["primary_company_id"] == "companies"
    assert CATALOG["spouse_links"].parents["spouse_contact_id"] == "contacts"


async def test_catalog_properties_exist_and_enumerations_match_the_properties_api(make: Factory) -> None:
    source = make()
    for obj, crm in settings.CRM.items():
        described = {p["name"]: p for p in await source.properties(obj)}
        for prop in crm.properties:
            assert prop.name in described, (obj, prop.name)
            options = {o["value"] for o in described[prop.name]["options"]}
            assert set(prop.values) <= options, (obj, prop.name)


async def test_an_unknown_object_is_refused_with_the_known_ones(make: Factory) -> None:
    with pytest.raises(MigrationError, match="contacts"):
        await _rows(make(), "tickets")


# -- full extract -------------------------------------------------------------------------------
async def test_extracts_every_live_record_of_every_crm_object(make: Factory, state_path: Path) -> None:
    source = make()
    for obj, crm in settings.CRM.items():
        api = crm.api or "2-4815162"
        ids = [r["id"] for r in await _rows(source, obj)]
        assert len(ids) == len(set(ids)) and set(ids) == _live(state_path, api), obj


async def test_small_pages_follow_the_after_cursor(make: Factory, state_path: Path) -> None:
    seen: list[httpx.Request] = []
    rows = await _rows(make(page_size=7, seen=seen), "companies")
    lists = [r for r in seen if r.method == "GET" and r.url.path == "/crm/v3/objects/companies"]
    assert len(rows) == 34 and len(lists) == 5
    afters = [parse_qs(r.url.query.decode()).get("after") for r in lists]
    assert afters[0] is None and all(afters[1:])
    assert all(parse_qs(r.url.query.decode())["limit"] == ["7"] for r in lists)


async def test_requests_the_catalog_properties_and_keeps_their_string_values(make: Factory) -> None:
    seen: list[httpx.Request] = []
    rows = await _rows(make(seen=seen), "deals")
    asked = parse_qs(next(r for r in seen if r.url.path == "/crm/v3/objects/deals").url.query.decode())
    assert asked["properties"][0].split(",") == list(settings.CRM["deals"].property_names)
    assert asked["archived"] == ["false"]
    assert all(isinstance(r["amount"], str) for r in rows if r.get("amount") is not None)
    assert any("," in (r.get("amount") or "") for r in rows)
    assert {"id", "createdAt", "updatedAt", "archived", "contact_ids", "company_ids", "primary_company_id"} <= set(
        rows[0]
    )


async def test_contacts_carry_their_companies_and_primary_company(make: Factory, state_path: Path) -> None:
    rows = {r["id"]: r for r in await _rows(make(), "contacts")}
    links = _db(
        state_path,
        "select from_id, to_id, type_id from associations where from_type = 'contacts' and to_type = 'companies'",
    )
    for contact, row in rows.items():
        mine = [(str(t), k) for f, t, k in links if str(f) == contact]
        assert sorted(row["company_ids"]) == sorted({t for t, _ in mine})
        assert row["primary_company_id"] == next((t for t, k in mine if k == 1), None)
        assert row["primary_company_id"] == row.get("associatedcompanyid")
    assert any(len(r["company_ids"]) == 2 and r["primary_company_id"] is None for r in rows.values())
    assert any(r["company_ids"] == [] for r in rows.values())


async def test_companies_carry_parent_and_children_including_loops(make: Factory) -> None:
    rows = {r["id"]: r for r in await _rows(make(), "companies")}
    a, b = rows["2000011"], rows["2000012"]
    assert (a["parent_company_id"], b["parent_company_id"]) == ("2000012", "2000011")
    assert a["child_company_ids"] == ["2000012"]
    assert any(r["parent_company_id"] == r["id"] for r in rows.values())
    assert all(r["parent_company_id"] == r.get("hs_parent_company_id") for r in rows.values())


async def test_spouse_links_name_the_client_and_the_spouse(make: Factory) -> None:
    rows = await _rows(make(), "spouse_links")
    assert len(rows) == 12
    for row in rows:
        assert sorted(row["contact_ids"]) == sorted([row["client_contact_id"], row["spouse_contact_id"]])


async def test_engagements_carry_contacts_companies_deals_and_attachment_lists(make: Factory) -> None:
    notes = await _rows(make(), "notes")
    assert all(len(n["contact_ids"]) == 1 for n in notes)
    assert any(n["deal_ids"] for n in notes)
    attached = [n for n in notes if n.get("hs_attachment_ids")]
    assert attached and all(n["attachment_ids"] == n["hs_attachment_ids"].split(";") for n in attached)


async def test_owners_pipelines_stages_files_and_flows(make: Factory) -> None:
    source = make()
    owners = await _rows(source, "owners")
    assert len(owners) == 6 and [o["archived"] for o in owners].count(True) == 1
    pipelines, stages = await _rows(source, "pipelines"), await _rows(source, "pipeline_stages")
    assert len(pipelines) == 2 and len(stages) == 13
    won = next(s for s in stages if s["id"] == "closedwon")
    assert (won["pipeline_id"], won["probability"], won["isClosed"]) == ("default", "1.0", "true")
    assert len(await _rows(source, "files")) == 18
    flows = await _rows(source, "flows")
    assert len(flows) == 4 and all(f["definition"]["actions"] for f in flows)


# -- delta through the search API ---------------------------------------------------------------
async def test_delta_returns_exactly_the_records_changed_since(make: Factory, state_path: Path) -> None:
    seen: list[httpx.Request] = []
    rows = await _rows(make(seen=seen), "deals", since=SINCE)
    expected = {
        str(r[0])
        for r in _db(
            state_path,
            "select id from objects where type = 'deals' and archived = 0 and updated_at >= ?",
            "2026-06-01T00:00:00.000Z",
        )
    }
    assert {r["id"] for r in rows} == expected and len(rows) == len(expected) > 5
    searches = [json.loads(r.content) for r in seen if r.url.path.endswith("/search")]
    assert searches[0]["filterGroups"][0]["filters"][0]["propertyName"] == "hs_lastmodifieddate"
    assert searches[0]["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert all(s["limit"] == 200 for s in searches)
    assert rows[0]["company_ids"] is not None  # associations come with the delta too


async def test_a_delta_larger_than_the_search_cap_is_read_whole(make: Factory, state_path: Path) -> None:
    """The real cap is 10,000 results per query; the option lowers it to 20 to keep this fast."""
    open_state(state_path).set_options({"search_cap": 20})
    seen: list[httpx.Request] = []
    source = make(seen=seen, search_page_size=200)
    responses: list[int] = []
    source.session.client.event_hooks["response"] = [lambda r: _append(responses, r.status_code)]
    rows = await _rows(source, "contacts", since="2020-01-01T00:00:00Z")
    assert len(rows) == len({r["id"] for r in rows}) == len(_live(state_path, "contacts")) == 88
    assert 400 not in responses
    assert sum(1 for r in seen if r.url.path.endswith("/search")) >= 88 // 20


async def _append(into: list[int], value: int) -> None:
    into.append(value)


async def test_records_edited_while_paging_are_neither_lost_nor_repeated(make: Factory, state_path: Path) -> None:
    first = str(
        _db(
            state_path,
            "select id from objects where type = 'contacts' and archived = 0 and updated_at >= ? "
            "order by updated_at limit 1",
            "2026-06-01T00:00:00.000Z",
        )[0][0]
    )
    knob = {"object": "contacts", "page": 1, "ids": [first], "at": "2026-12-24T00:00:00Z"}
    open_state(state_path).set_options({"bump_when_served": knob})
    expected = {
        str(r[0])
        for r in _db(
            state_path,
            "select id from objects where type = 'contacts' and archived = 0 and updated_at >= ?",
            "2026-06-01T00:00:00.000Z",
        )
    }
    rows = await _rows(make(search_page_size=5), "contacts", since=SINCE)
    assert len(rows) == len({r["id"] for r in rows})
    assert {r["id"] for r in rows} == expected
    assert next(r for r in rows if r["id"] == first)["updatedAt"] == "2026-12-24T00:00:00.000Z"


async def test_more_records_at_one_instant_than_a_page_are_all_read(make: Factory, state_path: Path) -> None:
    same = sorted(_live(state_path, "contacts"))[:23]
    for rid in same:
        mutate.update(state_path, "contacts", int(rid), {"jobtitle": "Trustee"}, at="2026-12-01T00:00:00Z")
    rows = await _rows(make(search_page_size=5), "contacts", since="2026-11-30T00:00:00Z")
    assert sorted(r["id"] for r in rows) == same


async def test_non_crm_objects_filter_on_updated_at(make: Factory) -> None:
    source = make()
    every = await _rows(source, "owners")
    recent = await _rows(source, "owners", since=SINCE)
    assert {o["id"] for o in recent} == {o["id"] for o in every if o["updatedAt"] >= "2026-06-01"}


async def test_deleted_since_lists_records_archived_in_the_window(make: Factory, state_path: Path) -> None:
    changes = seed.simulate_delta(state_path, now="2026-11-02T12:00:00Z")
    source = make()
    deletions = await source.deleted_since("2026-11-02T09:00:00Z")
    assert sorted(f"{d.object}/{d.id}" for d in deletions) == sorted(changes["archived"])
    assert all(d.deleted_at.startswith("2026-11-02T11:00") for d in deletions)
    changed = await _rows(source, "contacts", since="2026-11-02T09:00:00Z")
    assert {f"contacts/{r['id']}" for r in changed} == {
        c for c in changes["updated"] + changes["created"] if c.startswith("contacts/")
    }
    assert len(await source.deleted_since("2020-01-01T00:00:00Z")) > len(deletions)


# -- files --------------------------------------------------------------------------------------
async def test_download_streams_the_file_bytes_in_chunks(make: Factory) -> None:
    source = make()
    pieces = [piece async for piece in source.download("files", "11000002")]
    meta_size = sum(len(p) for p in pieces)
    assert hashlib.sha256(b"".join(pieces)).digest() == hashlib.sha256(b"".join(chunks(11000002, meta_size))).digest()
    big = 0
    async for piece in source.download("files", "11000008"):
        assert len(piece) <= settings.DOWNLOAD_CHUNK
        big += len(piece)
    assert big > 25 * 1024 * 1024


async def test_a_missing_attachment_is_a_404_rejection(make: Factory) -> None:
    with pytest.raises(RemoteRejected) as caught:
        _ = [piece async for piece in make().download("files", "11090009")]
    assert caught.value.status == 404
    with pytest.raises(MigrationError):
        _ = [piece async for piece in make().download("notes", "7000001")]


# -- limits and faults --------------------------------------------------------------------------
async def test_throttled_requests_wait_and_finish(make: Factory, state_path: Path) -> None:
    open_state(state_path).set_options({"ten_secondly_limit": 6, "ten_secondly_window": 0.3})
    source = make(page_size=5)
    rows = await _rows(source, "companies")
    assert len(rows) == 34 and source.session.stats.throttled > 0


async def test_the_search_limit_is_waited_out(make: Factory, state_path: Path) -> None:
    open_state(state_path).set_options({"search_per_second": 1, "search_window": 0.2})
    source = make(search_page_size=10)
    rows = await _rows(source, "deals", since=SINCE)
    assert rows and source.search_session.stats.throttled > 0


async def test_injected_faults_are_retried_without_changing_the_result(make: Factory, state_path: Path) -> None:
    clean = sorted(r["id"] for r in await _rows(make(), "contacts", since=SINCE))
    open_state(state_path).set_options({"faults": "503:0.2,timeout:0.1", "faults_seed": 4, "faults_retry_after": 0})
    source = make(retry=RetryPolicy(attempts=10, base_delay=0.01, max_delay=0.05))
    assert sorted(r["id"] for r in await _rows(source, "contacts", since=SINCE)) == clean
    assert source.session.stats.retries > 0
