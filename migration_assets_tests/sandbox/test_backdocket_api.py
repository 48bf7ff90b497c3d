"""The BackDocket emulator's data API: cursor paging, inclusive updated_since, strict parameters,
records by id, deletions, document content, and the error shape of every refusal."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox._documents import utc_z
from migration_assets.sandbox.backdocket import RESOURCES, build, create_app, generate, mutate
from migration_assets.sandbox.backdocket.params import encode_cursor
from migration_assets.sandbox.backdocket.store import CLIENT_ID, CLIENT_SECRET, open_state
from migration_assets_tests.emulators import asgi_client, dataset_fixture, state_fixtures

HOST = "http://backdocket.sandbox"
SCALE, SEED = 60, 17
GOOD = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


template, state_path = state_fixtures(
    generate, "backdocket.sqlite", scale=SCALE, seed=SEED, open_state=open_state, options={"rate_limit": 100000}
)
dataset = dataset_fixture(build, scale=SCALE, seed=SEED)


@pytest.fixture
async def api(state_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(state_path), HOST) as client:
        token = (await client.post("/oauth/token", data=GOOD)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


async def _walk(api: httpx.AsyncClient, resource: str, **params: object) -> tuple[list[dict], int]:
    records, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await api.get(f"/api/v1/{resource}", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        records += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return records, pages


# -- paging -------------------------------------------------------------------------------------
async def test_every_resource_lists_its_live_records_once_in_updated_at_id_order(
    api: httpx.AsyncClient, dataset: dict
) -> None:
    for resource in RESOURCES:
        records, _ = await _walk(api, resource, limit=7)
        expected = {d["id"] for d in dataset[resource] if not d["deleted_at"]}
        assert [r["id"] for r in records] == list(dict.fromkeys(r["id"] for r in records)), resource
        assert {r["id"] for r in records} == expected, resource
        keys = [(utc_z(r["updated_at"]), r["id"]) for r in records]
        assert keys == sorted(keys), resource


async def test_records_never_show_private_keys_and_always_carry_the_stamps(api: httpx.AsyncClient) -> None:
    for resource in RESOURCES:
        for record in (await api.get(f"/api/v1/{resource}", params={"limit": 200})).json()["data"]:
            assert not any(k.startswith("_") for k in record), resource
            assert {"id", "created_at", "updated_at", "deleted_at"} <= set(record), resource
            assert record["deleted_at"] is None


async def test_default_page_is_100_records(api: httpx.AsyncClient) -> None:
    body = (await api.get("/api/v1/contacts")).json()
    assert len(body["data"]) == 100 and body["next_cursor"]


async def test_limit_of_200_is_the_largest_page(api: httpx.AsyncClient, dataset: dict) -> None:
    live = sum(1 for d in dataset["tasks"] if not d["deleted_at"])
    assert live > 100
    body = (await api.get("/api/v1/tasks", params={"limit": 200})).json()
    assert len(body["data"]) == min(live, 200)


@pytest.mark.parametrize("limit", ["201", "0", "-1", "ten", "1.5", ""])
async def test_limit_outside_1_to_200_is_rejected_with_400(api: httpx.AsyncClient, limit: str) -> None:
    error = _assert_error(await api.get("/api/v1/contacts", params={"limit": limit}), 400, "invalid_request")
    assert error["details"] == [{"param": "limit"}]


async def test_next_cursor_is_null_when_the_last_page_is_exactly_full(api: httpx.AsyncClient, dataset: dict) -> None:
    total = sum(1 for d in dataset["users"] if not d["deleted_at"])
    body = (await api.get("/api/v1/users", params={"limit": total})).json()
    assert len(body["data"]) == total and body["next_cursor"] is None


async def test_pages_follow_the_cursor_without_gaps_or_repeats(api: httpx.AsyncClient, dataset: dict) -> None:
    records, pages = await _walk(api, "contacts", limit=25)
    live = sum(1 for d in dataset["contacts"] if not d["deleted_at"])
    assert len(records) == len({r["id"] for r in records}) == live
    assert pages == -(-live // 25)


@pytest.mark.parametrize("cursor", ["garbage", "e30", "e30.0000000000000000", "..", "eyJyIjoiY29udGFjdHMifQ.x"])
async def test_malformed_cursor_is_rejected_with_400_invalid_cursor(api: httpx.AsyncClient, cursor: str) -> None:
    _assert_error(await api.get("/api/v1/contacts", params={"cursor": cursor}), 400, "invalid_cursor")


async def test_edited_cursor_is_rejected_with_400_invalid_cursor(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/contacts", params={"limit": 5})).json()["next_cursor"]
    _, _, signature = cursor.partition(".")
    forged = encode_cursor("contacts", None, ("2000-01-01T00:00:00Z", "c-00001")).partition(".")[0]
    _assert_error(await api.get("/api/v1/contacts", params={"cursor": f"{forged}.{signature}"}), 400, "invalid_cursor")


async def test_cursor_of_another_resource_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/contacts", params={"limit": 5})).json()["next_cursor"]
    _assert_error(await api.get("/api/v1/matters", params={"cursor": cursor}), 400, "invalid_cursor")


async def test_cursor_with_a_different_updated_since_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/contacts", params={"limit": 5})).json()["next_cursor"]
    params = {"cursor": cursor, "updated_since": "2020-01-01T00:00:00Z"}
    _assert_error(await api.get("/api/v1/contacts", params=params), 400, "invalid_cursor")


# -- updated_since ------------------------------------------------------------------------------
async def test_updated_since_is_inclusive(api: httpx.AsyncClient, dataset: dict) -> None:
    live = sorted((utc_z(d["updated_at"]), d["id"]) for d in dataset["matters"] if not d["deleted_at"])
    boundary, boundary_id = live[len(live) // 2]
    records, _ = await _walk(api, "matters", updated_since=boundary, limit=10)
    assert boundary_id in {r["id"] for r in records}
    assert {r["id"] for r in records} == {i for stamp, i in live if stamp >= boundary}


async def test_updated_since_without_offset_is_read_as_utc(api: httpx.AsyncClient, dataset: dict) -> None:
    stamp = sorted(utc_z(d["updated_at"]) for d in dataset["tasks"])[50]
    with_z, _ = await _walk(api, "tasks", updated_since=stamp)
    naive, _ = await _walk(api, "tasks", updated_since=stamp.rstrip("Z"))
    assert with_z == naive and with_z


async def test_malformed_updated_since_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    error = _assert_error(await api.get("/api/v1/tasks", params={"updated_since": "yesterday"}), 400, "invalid_request")
    assert error["details"] == [{"param": "updated_since"}]


async def test_updated_records_move_to_the_end_of_the_listing(api: httpx.AsyncClient, state_path: Path) -> None:
    mutate.update(state_path, "claims", "cl-00003", {"status": "Closed"}, now="2026-11-05T10:00:00Z")
    body = (await api.get("/api/v1/claims", params={"updated_since": "2026-11-05T10:00:00Z"})).json()
    assert [r["id"] for r in body["data"]] == ["cl-00003"] and body["data"][0]["status"] == "Closed"


# -- strict parameters, unknown things ------------------------------------------------------------
async def test_unknown_query_parameter_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    error = _assert_error(await api.get("/api/v1/contacts", params={"page": 2}), 400, "invalid_request")
    assert error["details"] == [{"param": "page"}]


async def test_repeated_query_parameter_is_rejected_with_400(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/contacts?limit=5&limit=6"), 400, "invalid_request")


async def test_unknown_resource_is_rejected_with_404(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/leads"), 404, "not_found")


async def test_unknown_path_is_rejected_with_404_error_body(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v2/contacts"), 404, "not_found")


async def test_writes_are_rejected_with_405(api: httpx.AsyncClient) -> None:
    _assert_error(await api.post("/api/v1/contacts", json={"full_name": "X"}), 405, "method_not_allowed")
    _assert_error(await api.delete("/api/v1/contacts/c-00001"), 405, "method_not_allowed")


# -- by id, deletions -----------------------------------------------------------------------------
async def test_record_by_id_is_served(api: httpx.AsyncClient, dataset: dict) -> None:
    claim = next(d for d in dataset["claims"] if not d["deleted_at"])
    body = (await api.get(f"/api/v1/claims/{claim['id']}")).json()
    assert body == claim


async def test_unknown_id_is_rejected_with_404(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/claims/cl-99999"), 404, "not_found")


async def test_deleted_record_by_id_is_rejected_with_404(api: httpx.AsyncClient, dataset: dict) -> None:
    gone = next(d for d in dataset["contacts"] if d["deleted_at"])
    _assert_error(await api.get(f"/api/v1/contacts/{gone['id']}"), 404, "not_found")


async def test_record_by_id_refuses_query_parameters_with_400(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/claims/cl-00001", params={"expand": "matter"}), 400, "invalid_request")


async def test_deleted_lists_soft_deleted_records_since_inclusive(api: httpx.AsyncClient, dataset: dict) -> None:
    expected = {(r, d["id"]) for r, docs in dataset.items() for d in docs if d["deleted_at"]}
    rows = (await api.get("/api/v1/deleted", params={"since": "2000-01-01T00:00:00Z"})).json()
    assert {(r["object"], r["id"]) for r in rows} == expected and expected
    assert all(set(r) == {"object", "id", "deleted_at"} for r in rows)
    latest = max(rows, key=lambda r: r["deleted_at"])
    assert (await api.get("/api/v1/deleted", params={"since": latest["deleted_at"]})).json()[-1] == latest


async def test_deleted_requires_since(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/deleted"), 400, "invalid_request")


async def test_deleted_refuses_paging_parameters(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/deleted", params={"since": "2020-01-01", "limit": 5}), 400, "invalid_request")


# -- document content -----------------------------------------------------------------------------
async def test_document_content_streams_the_declared_bytes_with_headers(api: httpx.AsyncClient, dataset: dict) -> None:
    doc = next(d for d in dataset["documents"] if d["storage"] == "cloud" and d["size_bytes"] < 1 << 20)
    async with api.stream("GET", f"/api/v1/documents/{doc['id']}/content") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(doc["mime_type"])
        assert int(response.headers["content-length"]) == doc["size_bytes"]
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        digest, size = hashlib.sha256(), 0
        async for chunk in response.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)
    assert (size, digest.hexdigest()) == (doc["size_bytes"], doc["sha256"])


async def test_oversized_document_streams_its_declared_size_in_chunks(api: httpx.AsyncClient, dataset: dict) -> None:
    doc = next(d for d in dataset["documents"] if d["size_bytes"] > 25 * 1024 * 1024 and d["storage"] == "cloud")
    async with api.stream("GET", f"/api/v1/documents/{doc['id']}/content") as response:
        assert int(response.headers["content-length"]) == doc["size_bytes"]
        digest, size = hashlib.sha256(), 0
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            size += len(chunk)
    assert (size, digest.hexdigest()) == (doc["size_bytes"], doc["sha256"])


async def test_onsite_warehouse_document_content_is_refused_with_409_not_available(
    api: httpx.AsyncClient, dataset: dict
) -> None:
    doc = next(d for d in dataset["documents"] if d["storage"] == "onsite_warehouse" and not d["deleted_at"])
    error = _assert_error(await api.get(f"/api/v1/documents/{doc['id']}/content"), 409, "not_available")
    assert error["details"][0]["storage"] == "onsite_warehouse"


async def test_content_of_unknown_document_is_rejected_with_404(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/documents/d-99999/content"), 404, "not_found")


async def test_content_refuses_query_parameters_with_400(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/api/v1/documents/d-00001/content", params={"inline": 1}), 400, "invalid_request")
