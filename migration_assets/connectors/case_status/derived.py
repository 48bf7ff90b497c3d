"""Views the Case Status connector derives from real resources, for what the API keeps inside them.

No Case Status endpoint serves these; the connector computes them from the pages it reads, so a
spec can treat them as source objects (extract, sample, delta, download) without any server change:

- `note_images`: one record per inline image pasted into a note's rich text as a `data:` URI (the
  editor's copy-paste form). Id `<note id>-<n>` (n from 1, in document order); file name
  `note-<note id>-image-<n>.<ext>`; the note's case, content type, decoded size and the note's
  timestamps. `download("note_images", id)` reads the note again and decodes that image, so a
  migration can re-host it as a file (the note's own text no longer needs to carry it).
- `client_nps`: one record per client with NPS responses: `responses`, the client's answers in the
  order they were given (responded_at, then id), each with id, case_id, stage_name, score, comment
  and responded_at, as the API returned them (scores outside the documented 0-10 stay as they are);
  `created_at`/`updated_at` are the earliest and latest of its responses, so a delta picks up a
  client whenever one of its answers changed.

Deltas: the underlying resource is paged through completely (the real API has no filter) and a
derived record is kept when its own `updated_at` is at or after the checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from typing import Any

from migration_assets.connectors.base import SourceField, SourceObject
from migration_assets.errors import MigrationError

Record = dict[str, Any]
Pages = Callable[[str], AsyncIterator[list[Record]]]  # base object -> its pages, unfiltered

# <img ... src="data:image/png;base64,...." ...>, quotes either way, attributes in any order
_INLINE = re.compile(
    r"""<img\b[^>]*?\bsrc\s*=\s*(["'])data:(image/[a-z0-9.+-]+);base64,([^"'>]*)\1""", re.IGNORECASE
)
_EXTENSIONS = {"image/jpeg": "jpg", "image/svg+xml": "svg", "image/x-icon": "ico"}
NPS_FIELDS = ("id", "case_id", "stage_name", "score", "comment", "responded_at")


def _f(name: str, type_: str = "str", description: str = "") -> SourceField:
    return SourceField(name, type_, (), description)  # type: ignore[arg-type]


STAMPS = (_f("created_at", "datetime"), _f("updated_at", "datetime"))
DERIVED: dict[str, SourceObject] = {
    "note_images": SourceObject(
        "note_images",
        (
            _f("id", description="<note id>-<n>: the n-th inline image of the note"),
            _f("note_id", "int"),
            _f("case_id", "int"),
            _f("position", "int", description="1 for the note's first inline image"),
            _f("file_name", description="note-<note id>-image-<n>.<ext>"),
            _f("content_type"),
            _f("size", "int", description="decoded bytes"),
            *STAMPS,
        ),
        parents={"note_id": "notes", "case_id": "cases"},
    ),
    "client_nps": SourceObject(
        "client_nps",
        (
            _f("id", "int", description="the client's id"),
            _f("client_id", "int"),
            _f("responses", "json", description="[{id, case_id, stage_name, score, comment, responded_at}]"),
            _f("count", "int", description="responses of the client"),
            *STAMPS,
        ),
        parents={"client_id": "clients"},
    ),
}
BASE_OBJECT = {"note_images": "notes", "client_nps": "nps_responses"}


def inline_images(html: Any) -> list[tuple[str, bytes]]:
    """(content type, bytes) of every `data:` URI image of an HTML text, in document order.

    A payload that is not valid base64 gives empty bytes (the image is listed, with size 0).
    """
    if not isinstance(html, str):
        return []
    out = []
    for match in _INLINE.finditer(html):
        try:
            data = base64.b64decode(re.sub(r"\s+", "", match.group(3)), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        out.append((match.group(2).lower(), data))
    return out


def image_records(note: Mapping[str, Any]) -> list[Record]:
    """The `note_images` records of one note."""
    out = []
    for n, (content_type, data) in enumerate(inline_images(note.get("body_html")), start=1):
        ext = _EXTENSIONS.get(content_type, content_type.split("/", 1)[1].split("+", 1)[0])
        out.append(
            {
                "id": f"{note['id']}-{n}",
                "note_id": note["id"],
                "case_id": note.get("case_id"),
                "position": n,
                "file_name": f"note-{note['id']}-image-{n}.{ext}",
                "content_type": content_type,
                "size": len(data),
                "created_at": note.get("created_at"),
                "updated_at": note.get("updated_at"),
            }
        )
    return out


def nps_records(responses: list[Record], parse: Callable[[str], datetime]) -> list[Record]:
    """The `client_nps` records of a list of NPS responses (responses without a client are left out)."""
    by_client: dict[Any, list[Record]] = {}
    for response in responses:
        if response.get("client_id") is not None:
            by_client.setdefault(response["client_id"], []).append(response)

    def order(r: Record) -> tuple[str, int]:
        stamp = r.get("responded_at") or r.get("created_at")
        return (parse(stamp).isoformat() if stamp else "", int(r.get("id") or 0))

    out = []
    for client_id, answers in by_client.items():
        answers.sort(key=order)
        stamps = [parse(r["updated_at"]) for r in answers if r.get("updated_at")]
        created = [parse(r["created_at"]) for r in answers if r.get("created_at")]
        out.append(
            {
                "id": client_id,
                "client_id": client_id,
                "responses": [{k: r.get(k) for k in NPS_FIELDS} for r in answers],
                "count": len(answers),
                "created_at": _iso(min(created)) if created else None,
                "updated_at": _iso(max(stamps)) if stamps else None,
            }
        )
    return sorted(out, key=lambda r: r["id"])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def extract(
    obj: str, pages: Pages, *, cutoff: datetime | None, parse: Callable[[str], datetime], page_size: int
) -> AsyncIterator[list[Record]]:
    """Yield pages of a derived object (see the module docstring).

    Args:
        obj: a name of DERIVED.
        pages: reads every page of a real object (no delta filter).
        cutoff: keep records updated at or after it (None: all).
        parse: the connector's timestamp parser (offset-less values are UTC).
        page_size: records per yielded page.
    """

    def kept(record: Record) -> bool:
        stamp = record.get("updated_at")
        return cutoff is None or (bool(stamp) and parse(stamp) >= cutoff)

    if obj == "note_images":
        async for page in pages(BASE_OBJECT[obj]):
            found = [r for note in page for r in image_records(note) if kept(r)]
            for start in range(0, len(found), page_size):
                yield found[start : start + page_size]
        return
    responses = [r async for page in pages(BASE_OBJECT[obj]) for r in page]
    found = [r for r in nps_records(responses, parse) if kept(r)]
    for start in range(0, len(found), page_size):
        yield found[start : start + page_size]


def image_of(note: Mapping[str, Any], record_id: str) -> bytes:
    """The bytes of inline image `record_id` (`<note id>-<n>`) of `note`.

    Raises:
        MigrationError: the note has no such image (any more).
    """
    n = int(record_id.rpartition("-")[2])
    images = inline_images(note.get("body_html"))
    if not 1 <= n <= len(images):
        raise MigrationError(f"case_status: note {note.get('id')} has no inline image {n} (it has {len(images)})")
    return images[n - 1][1]


def note_of(record_id: str) -> str:
    """The note id of a `note_images` id.

    Raises:
        MigrationError: not of the form `<note id>-<n>`.
    """
    note, dash, n = record_id.rpartition("-")
    if not dash or not note.isdigit() or not n.isdigit():
        raise MigrationError(f"case_status: {record_id!r} is not a note image id (<note id>-<n>)")
    return note
