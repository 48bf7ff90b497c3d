"""File bytes that emulators generate on the fly and never store.

A file's content is a pure function of its key and declared size: a 64 KiB block seeded by the key,
repeated and cut to the size. The same key and size give the same bytes and sha256 (the "same file
on two parents" dirty class), and a 40 MiB file costs nothing in SQLite and streams in chunks.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from urllib.parse import quote

BLOCK = 64 * 1024


class SyntheticContent:
    """The generated files of one emulator; `namespace` keeps two systems' files apart."""

    def __init__(self, namespace: str, *, fallback_name: str) -> None:
        self.namespace, self.fallback_name = namespace, fallback_name
        self._block = lru_cache(maxsize=64)(self._make_block)

    def _make_block(self, key: object) -> bytes:
        return random.Random(f"{self.namespace}-{key}").randbytes(BLOCK)

    def chunks(self, key: object, size: int) -> Iterator[bytes]:
        """The content of `size` bytes for `key`, in chunks of at most 64 KiB."""
        block, left = self._block(key), size
        while left > 0:
            piece = block[: min(left, BLOCK)]
            left -= len(piece)
            yield piece

    def content(self, key: object, size: int) -> bytes:
        """The whole content at once (tests and small files only)."""
        return b"".join(self.chunks(key, size))

    def sha256(self, key: object, size: int) -> str:
        """Hex sha256 of the content, computed block by block."""
        digest = hashlib.sha256()
        for piece in self.chunks(key, size):
            digest.update(piece)
        return digest.hexdigest()

    async def stream(self, key: object, size: int) -> AsyncIterator[bytes]:
        """`chunks` as an async iterator for a StreamingResponse."""
        for piece in self.chunks(key, size):
            yield piece

    def disposition(self, file_name: str) -> str:
        """A Content-Disposition header that survives any name: an ASCII fallback plus RFC 5987 UTF-8."""
        fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name)
        return (
            f"attachment; filename=\"{fallback or self.fallback_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"
        )
