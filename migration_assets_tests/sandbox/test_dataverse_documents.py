"""Dataverse emulator: the SharePoint-like (Graph-shaped) document store."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest

from migration_assets.sandbox.dataverse import seed
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.testing import HOST, TOKEN_PATH, token_form

DRIVE = "/graph/v1.0/sites/sandbox/drive/root:"
KIB = 1024


@pytest.fixture
def state(tmp_path):
    return tmp_path / "dv.sqlite"


@asynccontextmanager
async def graph_client(state, **options):
    if options:
        seed.reset(state, **options)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=HOST) as bare:
        token = (await bare.post(TOKEN_PATH, data=token_form())).json()["access_token"]
        bare.headers["Authorization"] = f"Bearer {token}"
        yield bare


async def test_small_upload_returns_drive_item_and_stores_file(state):
    async with graph_client(state) as graph:
        response = await graph.put(f"{DRIVE}/Cases/C-1/brief.pdf:/content", content=b"%PDF-1.7 hello")
    item = response.json()
    assert response.status_code == 201
    assert item["name"] == "brief.pdf" and item["size"] == 14 and item["file"]["mimeType"] == "application/pdf"
    assert item["webUrl"] == "https://sandbox.sharepoint.local/sites/sandbox/Shared Documents/Cases/C-1/brief.pdf"
    assert item["parentReference"]["path"] == "/drive/root:/Cases/C-1"
    assert (state.parent / "dv_documents" / "Cases" / "C-1" / "brief.pdf").read_bytes() == b"%PDF-1.7 hello"
    assert seed.document_listing(state)[0]["path"] == "Cases/C-1/brief.pdf"


async def test_simple_upload_over_4_mib_is_413(state):
    async with graph_client(state) as graph:
        response = await graph.put(f"{DRIVE}/big.bin:/content", content=b"x" * (4 * 1024 * KIB + 1))
    assert response.status_code == 413


async def test_upload_session_in_chunks(state):
    data = bytes(range(256)) * (2 * 320 * 4) + b"tail"  # 2 x 320 KiB + 4 bytes
    async with graph_client(state) as graph:
        session = (await graph.post(f"{DRIVE}/Cases/big.docx:/createUploadSession", json={})).json()
        url, total, step = session["uploadUrl"], len(data), 320 * KIB
        first = await graph.put(url, content=data[:step], headers={"Content-Range": f"bytes 0-{step - 1}/{total}"})
        second = await graph.put(
            url, content=data[step : 2 * step], headers={"Content-Range": f"bytes {step}-{2 * step - 1}/{total}"}
        )
        last = await graph.put(
            url, content=data[2 * step :], headers={"Content-Range": f"bytes {2 * step}-{total - 1}/{total}"}
        )
        item = await graph.get(f"{DRIVE}/Cases/big.docx")
    assert first.status_code == 202 and first.json()["nextExpectedRanges"] == [f"{step}-"]
    assert second.status_code == 202
    assert last.status_code == 201 and last.json()["size"] == total
    assert item.json()["size"] == total
    assert (state.parent / "dv_documents" / "Cases" / "big.docx").read_bytes() == data


async def test_chunk_not_multiple_of_320_kib_is_rejected(state):
    async with graph_client(state) as graph:
        url = (await graph.post(f"{DRIVE}/a.bin:/createUploadSession", json={})).json()["uploadUrl"]
        response = await graph.put(url, content=b"x" * 1000, headers={"Content-Range": "bytes 0-999/5000"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalidRequest"


async def test_out_of_order_chunk_is_416(state):
    async with graph_client(state) as graph:
        url = (await graph.post(f"{DRIVE}/a.bin:/createUploadSession", json={})).json()["uploadUrl"]
        response = await graph.put(url, content=b"x" * 10, headers={"Content-Range": "bytes 10-19/20"})
    assert response.status_code == 416 and response.json()["nextExpectedRanges"] == ["0-"]


async def test_file_over_document_limit_is_413_max_file_size_exceeded(state):
    async with graph_client(state, document_max_bytes=1000) as graph:
        url = (await graph.post(f"{DRIVE}/a.bin:/createUploadSession", json={})).json()["uploadUrl"]
        response = await graph.put(url, content=b"x" * 10, headers={"Content-Range": "bytes 0-9/2000"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "maxFileSizeExceeded"


@pytest.mark.parametrize("name", ['bad"name.pdf', "what?.pdf", "a|b.pdf", " lead.pdf", "trail.pdf ", "..", "x:y.pdf"])
async def test_names_sharepoint_forbids_are_rejected(state, name):
    async with graph_client(state) as graph:
        response = await graph.put(f"{DRIVE}/Cases/{name}:/content", content=b"x")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalidRequest"


async def test_unknown_item_is_404_and_children_are_listed(state):
    async with graph_client(state) as graph:
        missing = await graph.get(f"{DRIVE}/nothing.pdf")
        await graph.put(f"{DRIVE}/Cases/C-1/a.pdf:/content", content=b"a")
        await graph.put(f"{DRIVE}/Cases/b.pdf:/content", content=b"b")
        children = (await graph.get(f"{DRIVE}/Cases:/children")).json()["value"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"
    assert [c["name"] for c in children] == ["C-1", "b.pdf"] and "folder" in children[0]


async def test_document_store_needs_a_token(state):
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=HOST) as anonymous:
        response = await anonymous.put(f"{DRIVE}/a.pdf:/content", content=b"x")
    assert response.status_code == 401


async def test_delete_by_path_then_404_item_not_found(state):
    async with graph_client(state) as dv:
        await dv.put(f"{DRIVE}/a/b.txt:/content", content=b"x")
        assert (await dv.delete(f"{DRIVE}/a/b.txt")).status_code == 204
        again = await dv.delete(f"{DRIVE}/a/b.txt")
        assert again.status_code == 404 and again.json()["error"]["code"] == "itemNotFound"
        assert (await dv.get(f"{DRIVE}/a/b.txt")).status_code == 404
    assert not (state.parent / "dv_documents" / "a" / "b.txt").exists()


async def test_delete_by_item_id_under_both_drive_addresses(state):
    async with graph_client(state) as dv:
        first = (await dv.put(f"{DRIVE}/x/1.txt:/content", content=b"1")).json()["id"]
        second = (await dv.put(f"{DRIVE}/x/2.txt:/content", content=b"2")).json()["id"]
        assert (await dv.get(f"/graph/v1.0/sites/sandbox/drive/items/{first}")).json()["name"] == "1.txt"
        assert (await dv.delete(f"/graph/v1.0/sites/sandbox/drive/items/{first}")).status_code == 204
        assert (await dv.delete(f"/graph/v1.0/drives/sandbox/items/{second}")).status_code == 204
        assert (await dv.get(f"/graph/v1.0/drives/sandbox/items/{second}")).status_code == 404
        assert seed.document_listing(state) == []


async def test_deleting_a_folder_deletes_what_is_in_it(state):
    async with graph_client(state) as dv:
        await dv.put(f"{DRIVE}/f/1.txt:/content", content=b"1")
        await dv.put(f"{DRIVE}/f/g/2.txt:/content", content=b"2")
        await dv.put(f"{DRIVE}/f_other.txt:/content", content=b"3")
        assert (await dv.delete(f"{DRIVE}/f")).status_code == 204
    assert [d["path"] for d in seed.document_listing(state)] == ["f_other.txt"]


async def test_without_a_sharepoint_site_the_drive_is_not_found(state):
    async with graph_client(state, sharepoint_site=False) as dv:
        response = await dv.put(f"{DRIVE}/a.txt:/content", content=b"x")
        sites = (await dv.get("/api/data/v9.2/sharepointsites")).json()["value"]
    assert response.status_code == 404 and response.json()["error"]["message"] == "Requested site could not be found"
    assert sites == []
    seed.provision_sharepoint(state)
    async with graph_client(state) as dv:
        assert (await dv.put(f"{DRIVE}/a.txt:/content", content=b"x")).status_code == 201
