"""The Case Status emulator refuses what the real API refuses and serves the real shapes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.case_status import content, create_app, generate, mutate
from migration_assets.sandbox.case_status.generator import build
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system
from migration_assets_tests.emulators import api_fixture

BASE_URL = system("case_status").sandbox.host
KEY = {"Authorization": "ApiKey " + system("case_status").sandbox.credentials["api_key"]}
SEED = 11


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    path = tmp_path / "case_status.sqlite"
    generate(path, scale=30, seed=SEED)
    # Generous limits so only the rate-limit tests meet a 429.
    open_state(path).set_options({"rate_per_second": 1000, "burst": 1000})
    return path


api = api_fixture(create_app, BASE_URL, KEY)


async def _all(api: httpx.AsyncClient, resource: str, **params: object) -> list[dict]:
    out, number = [], 1
    while True:
        page = (await api.get(f"/v1/api/{resource}", params={"page[number]": number, "size": 100, **params})).json()
        out += page
        if len(page) < 100:
            return out
        number += 1


# -- auth ---------------------------------------------------------------------------------------
async def test_missing_api_key_is_rejected_with_401_detail(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/clients", headers={"Authorization": ""})
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("header", ["ApiKey wrong-key", "Bearer cs-sandbox-key", "cs-sandbox-key"])
async def test_wrong_key_or_scheme_is_rejected_with_401(api: httpx.AsyncClient, header: str) -> None:
    response = await api.get("/v1/api/messages", headers={"Authorization": header})
    assert response.status_code == 401


async def test_download_also_requires_the_api_key(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/files/1/content", headers={"Authorization": ""})
    assert response.status_code == 401


# -- paging ---------------------------------------------------------------------------------------
async def test_list_is_a_bare_array_of_10_records_by_default(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/messages")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 10


async def test_pages_numbered_from_1_cover_every_record_once_and_end_short(api: httpx.AsyncClient) -> None:
    expected = {c["id"] for c in build(scale=30, seed=SEED)["clients"] if not c.get("deleted_at")}
    seen, number = [], 1
    while True:
        page = (await api.get("/v1/api/clients", params={"page[number]": number, "size": 7})).json()
        seen += [c["id"] for c in page]
        if len(page) < 7:
            break
        number += 1
    assert sorted(seen) == sorted(expected)
    assert number == len(expected) // 7 + 1


async def test_page_past_the_end_is_an_empty_array(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/clients", params={"page[number]": 99, "size": 100})
    assert response.status_code == 200 and response.json() == []


async def test_size_above_100_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/cases", params={"size": 101})
    assert response.status_code == 400
    assert "size" in response.json()["detail"]


@pytest.mark.parametrize("params", [{"page[number]": 0}, {"page[number]": "two"}, {"size": 0}])
async def test_malformed_page_or_size_is_rejected_with_400(api: httpx.AsyncClient, params: dict) -> None:
    assert (await api.get("/v1/api/cases", params=params)).status_code == 400


async def test_unknown_query_parameter_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/cases", params={"page": 2})
    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown query parameter: page"}


async def test_repeated_query_parameter_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/cases?size=5&size=6")
    assert response.status_code == 400


async def test_lists_sort_by_updated_at_then_id(api: httpx.AsyncClient) -> None:
    records = await _all(api, "messages")
    keys = [(m["updated_at"], m["id"]) for m in records]
    assert keys == sorted(keys)


# -- filters --------------------------------------------------------------------------------------
async def test_updated_since_is_inclusive(api: httpx.AsyncClient) -> None:
    cases = await _all(api, "cases")
    pivot = cases[len(cases) // 2]["updated_at"]
    since = await _all(api, "cases", updated_since=pivot)
    assert since[0]["updated_at"] == pivot
    assert {c["id"] for c in since} == {c["id"] for c in cases if c["updated_at"] >= pivot}


async def test_updated_since_must_be_iso_8601(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/cases", params={"updated_since": "yesterday"})
    assert response.status_code == 400


async def test_case_id_filter_lists_only_that_cases_records(api: httpx.AsyncClient) -> None:
    messages = await _all(api, "messages")
    case_id = next(m["case_id"] for m in messages if m["case_id"])
    filtered = await _all(api, "messages", case_id=case_id)
    assert filtered and {m["case_id"] for m in filtered} == {case_id}
    assert len(filtered) == sum(1 for m in messages if m["case_id"] == case_id)


async def test_case_id_filter_matches_the_string_case_id_of_files(api: httpx.AsyncClient) -> None:
    files = await _all(api, "files")
    case_id = files[0]["case_id"]
    assert isinstance(case_id, str)
    assert {f["case_id"] for f in await _all(api, "files", case_id=case_id)} == {case_id}


async def test_case_id_filter_on_a_resource_without_case_is_rejected(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/api/clients", params={"case_id": 1})
    assert response.status_code == 400


# -- single records ---------------------------------------------------------------------------------
async def test_record_by_id_is_the_listed_document(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/v1/api/cases", params={"size": 1})).json()[0]
    response = await api.get(f"/v1/api/cases/{listed['id']}")
    assert response.status_code == 200 and response.json() == listed


@pytest.mark.parametrize("path", ["/v1/api/cases/999999", "/v1/api/cases/abc", "/v1/api/widgets", "/v1/api/widgets/1"])
async def test_unknown_id_or_resource_returns_404_detail(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


async def test_portal_config_is_a_single_object(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v1/api/portal-config")).json()
    assert isinstance(body, dict) and {"branding", "features", "access_rules"} <= set(body)
    assert (await api.get("/v1/api/portal-config", params={"size": 10})).status_code == 400


async def test_private_emulator_keys_never_reach_responses(api: httpx.AsyncClient) -> None:
    assert not any(key.startswith("_") for f in await _all(api, "files") for key in f)


# -- deletions ------------------------------------------------------------------------------------
async def test_deleted_record_leaves_lists_and_shows_in_deleted_listing(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    mutate.delete(state_path, "clients", 2, now="2026-11-05T10:00:00Z")
    assert 2 not in {c["id"] for c in await _all(api, "clients")}
    assert (await api.get("/v1/api/clients/2")).status_code == 404
    deleted = (await api.get("/v1/api/deleted", params={"since": "2026-11-05T10:00:00Z"})).json()
    assert deleted == [{"object": "clients", "id": 2, "deleted_at": "2026-11-05T10:00:00Z"}]
    later = (await api.get("/v1/api/deleted", params={"since": "2026-11-05T10:00:01Z"})).json()
    assert later == []


async def test_deleted_listing_requires_since(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/api/deleted")).status_code == 400


async def test_updated_record_moves_to_the_end_of_the_list(api: httpx.AsyncClient, state_path: Path) -> None:
    mutate.update(state_path, "cases", 1, {"status": "Closed"}, now="2026-11-06T00:00:00Z")
    cases = await _all(api, "cases")
    assert cases[-1]["id"] == 1 and cases[-1]["status"] == "Closed"
    assert cases[-1]["updated_at"] == "2026-11-06T00:00:00Z"


async def test_created_record_gets_the_next_id_and_the_given_stamps(api: httpx.AsyncClient, state_path: Path) -> None:
    doc = mutate.create(state_path, "notes", {"case_id": 1, "body_html": "<p>new</p>"}, now="2026-11-07T00:00:00Z")
    assert doc["id"] == len(build(scale=30, seed=SEED)["notes"]) + 1
    stored = (await api.get(f"/v1/api/notes/{doc['id']}")).json()
    assert stored["created_at"] == stored["updated_at"] == "2026-11-07T00:00:00Z"


def test_mutations_refuse_unknown_resources_and_records(state_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown Case Status resource"):
        mutate.create(state_path, "widgets", {})
    with pytest.raises(KeyError):
        mutate.update(state_path, "cases", 999999, {"name": "x"})


# -- rate limit -------------------------------------------------------------------------------------
async def test_requests_past_the_burst_get_429_with_integer_retry_after(
    api: httpx.AsyncClient, state_path: Path
) -> None:
    open_state(state_path).set_options({"rate_per_second": 1, "burst": 3})
    statuses = [(await api.get("/v1/api/users")).status_code for _ in range(3)]
    throttled = await api.get("/v1/api/users")
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json() == {"detail": "Rate limit exceeded"}
    assert throttled.headers["Retry-After"].isdigit() and int(throttled.headers["Retry-After"]) >= 1


async def test_default_limit_allows_a_burst_of_10(tmp_path: Path) -> None:
    app = create_app(tmp_path / "fresh.sqlite")  # default options: 5 req/s, burst 10
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, headers=KEY) as client:
        statuses = [(await client.get("/v1/api/users")).status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


async def test_rate_limit_is_per_api_key_and_not_spent_by_bad_keys(api: httpx.AsyncClient, state_path: Path) -> None:
    open_state(state_path).set_options({"rate_per_second": 1, "burst": 1})
    for _ in range(3):
        assert (await api.get("/v1/api/users", headers={"Authorization": "ApiKey nope"})).status_code == 401
    assert (await api.get("/v1/api/users")).status_code == 200


# -- files ----------------------------------------------------------------------------------------
async def test_file_content_streams_declared_bytes_with_headers(api: httpx.AsyncClient) -> None:
    files = await _all(api, "files")
    doc = next(f for f in files if 0 < f["size"] < 1_000_000)
    async with api.stream("GET", f"/v1/api/files/{doc['id']}/content") as response:
        assert response.status_code == 200
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert response.headers["Content-Type"].startswith(doc["content_type"])
    assert int(response.headers["Content-Length"]) == doc["size"] == len(body)
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert hashlib.sha256(body).digest() == hashlib.sha256(content.content(doc["id"], doc["size"])).digest()


def test_content_disposition_keeps_unsafe_names_quoted() -> None:
    header = content.disposition('../../a "b"/é.pdf')
    assert header.startswith('attachment; filename="../../a _b_/_.pdf"')
    assert "filename*=UTF-8''..%2F..%2Fa%20%22b%22%2F%C3%A9.pdf" in header


async def test_file_with_missing_blob_returns_404(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite"
    generate(path, scale=200, seed=SEED)  # 1 file in 25 has a missing blob; 100 files here
    missing = next(f for f in build(scale=200, seed=SEED)["files"] if f.get("_blob") == "missing")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(path)), base_url=BASE_URL, headers=KEY
    ) as client:
        metadata = await client.get(f"/v1/api/files/{missing['id']}")
        response = await client.get(f"/v1/api/files/{missing['id']}/content")
    assert metadata.status_code == 200
    assert response.status_code == 404 and "detail" in response.json()


async def test_content_of_unknown_file_returns_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/v1/api/files/999999/content")).status_code == 404


# -- reporting ------------------------------------------------------------------------------------
async def test_reporting_cases_wraps_spaced_keys_in_results(api: httpx.AsyncClient) -> None:
    response = await api.get("/reporting/cases", params={"page[number]": 1, "size": 100})
    assert response.status_code == 200
    results = response.json()["results"]
    cases = await _all(api, "cases")
    assert [r["Internal ID"] for r in results] == [c["id"] for c in cases]
    row = next(r for r in results if r["Clients"])
    assert {"Internal ID", "Integration ID", "Case Name", "Practice Area", "Status", "Last Updated"} <= set(row)
    assert "Client 1 Email" in row["Clients"]
    assert (await api.get("/reporting/cases", params={"size": 101})).status_code == 400
