"""File bytes of the Case Status emulator, generated on the fly and never stored.

A file's content is a pure function of its id and declared size: a 64 KiB block seeded by the id,
repeated and cut to the size. A 30 MB file therefore costs nothing in SQLite and streams in chunks.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

BLOCK = 64 * 1024


def _block(file_id: int) -> bytes:
    return random.Random(f"case-status-file-{file_id}").randbytes(BLOCK)


def chunks(file_id: int, size: int) -> Iterator[bytes]:
    """The content of file `file_id` with `size` bytes, in chunks of at most 64 KiB."""
    block, left = _block(file_id), size
    while left > 0:
        piece = block[: min(left, BLOCK)]
        left -= len(piece)
        yield piece


def content(file_id: int, size: int) -> bytes:
    """The whole content at once (tests and small files only)."""
    return b"".join(chunks(file_id, size))


async def stream(file_id: int, size: int) -> AsyncIterator[bytes]:
    """`chunks` as an async iterator for a StreamingResponse."""
    for piece in chunks(file_id, size):
        yield piece


def disposition(file_name: str) -> str:
    """A Content-Disposition header that survives any name: an ASCII fallback plus RFC 5987 UTF-8."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(file_name, safe='')}"
