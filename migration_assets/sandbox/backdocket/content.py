"""Document bytes of the BackDocket emulator, generated on the fly and never stored.

A document's content is a pure function of its private content key and declared size: a 64 KiB
block seeded by the key, repeated and cut to the size. Two documents with the same key and size
(the "same file on two parents" dirty class) have the same bytes and the same sha256; a 40 MiB
document costs nothing in SQLite and streams in chunks.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from urllib.parse import quote

BLOCK = 64 * 1024


@lru_cache(maxsize=64)
def _block(key: str) -> bytes:
    return random.Random(f"backdocket-document-{key}").randbytes(BLOCK)


def chunks(key: str, size: int) -> Iterator[bytes]:
    """The content of size `size` for content key `key`, in chunks of at most 64 KiB."""
    block, left = _block(key), size
    while left > 0:
        piece = block[: min(left, BLOCK)]
        left -= len(piece)
        yield piece


def content(key: str, size: int) -> bytes:
    """The whole content at once (tests and small documents only)."""
    return b"".join(chunks(key, size))


def sha256(key: str, size: int) -> str:
    """Hex sha256 of the content, computed block by block."""
    digest = hashlib.sha256()
    for piece in chunks(key, size):
        digest.update(piece)
    return digest.hexdigest()


async def stream(key: str, size: int) -> AsyncIterator[bytes]:
    """`chunks` as an async iterator for a StreamingResponse."""
    for piece in chunks(key, size):
        yield piece


def disposition(file_name: str) -> str:
    """A Content-Disposition header that survives any name: an ASCII fallback plus RFC 5987 UTF-8."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback or 'document'}\"; filename*=UTF-8''{quote(file_name, safe='')}"
