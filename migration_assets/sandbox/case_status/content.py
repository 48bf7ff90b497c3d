"""File bytes of the Case Status emulator, generated on the fly from a file's id and declared size
(`sandbox/_content.py`)."""

from __future__ import annotations

from migration_assets.sandbox._content import BLOCK, SyntheticContent

_FILES = SyntheticContent("case-status-file", fallback_name="file")
chunks, content, sha256 = _FILES.chunks, _FILES.content, _FILES.sha256
stream, disposition = _FILES.stream, _FILES.disposition

__all__ = ["BLOCK", "chunks", "content", "disposition", "sha256", "stream"]
