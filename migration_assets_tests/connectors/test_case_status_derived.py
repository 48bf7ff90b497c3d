"""The Case Status connector's derived views: inline images of notes (extracted, downloaded) and the
NPS answers of each client, read from the emulator through the real paging."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from migration_assets.connectors import open_source, resolve_connection
from migration_assets.connectors.case_status.derived import inline_images
from migration_assets.errors import MigrationError
from migration_assets.sandbox.case_status import generate, mutate
from migration_assets.sandbox.case_status.gen_activity import INLINE_GIF, INLINE_PNG
from migration_assets.sandbox.case_status.generator import build
from migration_assets.sandbox.case_status.store import open_state
from migration_assets.systems import system

SEED = 5
SCALE = 60


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = system("case_status").state_path(tmp_path)
    generate(path, scale=SCALE, seed=SEED)
    open_state(path).set_options({"rate_per_second": 1000, "burst": 1000})
    return tmp_path


def source(state_dir: Path):
    return open_source("case_status", resolve_connection("case_status", state_dir=state_dir, environ={}))


async def records(state_dir: Path, obj: str, since: str | None = None) -> list[dict]:
    src = source(state_dir)
    try:
        return [r async for page in src.extract(obj, since=since) for r in page]
    finally:
        await src.aclose()


def test_inline_images_are_found_in_document_order_with_either_quote_and_bad_base64_as_empty():
    html = (
        f"<p>a<img alt='x' src='data:image/gif;base64,{INLINE_GIF}'></p>"
        f'<img src="data:image/png;base64,{INLINE_PNG}"><img src="https://example.com/x.png">'
        '<img src="data:image/png;base64,@@not-base64@@">'
    )
    found = inline_images(html)
    assert [t for t, _ in found] == ["image/gif", "image/png", "image/png"]
    assert found[0][1] == base64.b64decode(INLINE_GIF) and found[2][1] == b""
    assert inline_images(None) == [] and inline_images("<p>no image</p>") == []


async def test_note_images_list_every_inline_image_and_download_its_bytes(state_dir: Path):
    notes = [n for n in build(scale=SCALE, seed=SEED)["notes"] if not n.get("deleted_at")]
    expected = {
        f"{n['id']}-{k}": data for n in notes for k, (_t, data) in enumerate(inline_images(n["body_html"]), start=1)
    }
    images = await records(state_dir, "note_images")
    assert {r["id"] for r in images} == set(expected) and len(expected) >= 4
    assert any(r["position"] == 2 for r in images)  # a note with two images
    src = source(state_dir)
    try:
        for image in images:
            assert image["file_name"] == f"note-{image['note_id']}-image-{image['position']}." + (
                "png" if image["content_type"] == "image/png" else "gif"
            )
            data = b"".join([c async for c in src.download("note_images", image["id"])])
            assert data == expected[image["id"]] and len(data) == image["size"] > 0
        with pytest.raises(MigrationError, match="has no inline image 9"):
            _ = [c async for c in src.download("note_images", f"{images[0]['note_id']}-9")]
        with pytest.raises(MigrationError, match="not a note image id"):
            _ = [c async for c in src.download("note_images", "x-1")]
    finally:
        await src.aclose()


async def test_client_nps_groups_each_clients_answers_in_order_and_keeps_out_of_range_scores(state_dir: Path):
    answers = [r for r in build(scale=SCALE, seed=SEED)["nps-responses"] if r.get("client_id") is not None]
    got = {r["client_id"]: r for r in await records(state_dir, "client_nps")}
    assert set(got) == {r["client_id"] for r in answers}
    for client_id, record in got.items():
        mine = sorted((r for r in answers if r["client_id"] == client_id), key=lambda r: (r["responded_at"], r["id"]))
        assert [r["id"] for r in record["responses"]] == [r["id"] for r in mine]
        assert record["count"] == len(mine) and record["id"] == client_id
        assert record["updated_at"] == max(r["updated_at"] for r in mine)
    assert any(a["score"] > 10 for r in got.values() for a in r["responses"])  # dirty values kept as they are


async def test_a_delta_returns_the_clients_and_notes_whose_answers_or_text_changed(state_dir: Path):
    path = system("case_status").state_path(state_dir)
    mutate.create(path, "nps-responses", {"client_id": 3, "case_id": 1, "score": 9}, now="2026-11-09T00:00:00Z")
    body = f'<p>new</p><img src="data:image/png;base64,{INLINE_PNG}">'
    note = mutate.create(path, "notes", {"case_id": 2, "body_html": body}, now="2026-11-09T00:00:00Z")
    changed = await records(state_dir, "client_nps", since="2026-11-08T00:00:00Z")
    assert [r["client_id"] for r in changed] == [3] and changed[0]["responses"][-1]["score"] == 9
    images = await records(state_dir, "note_images", since="2026-11-08T00:00:00Z")
    assert [r["id"] for r in images] == [f"{note['id']}-1"]
