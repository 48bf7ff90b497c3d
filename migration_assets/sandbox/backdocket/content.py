"""Document bytes of the BackDocket emulator, generated on the fly from a document's private content
key and declared size (`sandbox/_content.py`): two documents with the same key and size are the
same file on two parents."""

from __future__ import annotations

from migration_assets.sandbox._content import BLOCK, SyntheticContent

_DOCUMENTS = SyntheticContent("backdocket-document", fallback_name="document")
chunks, content, sha256 = _DOCUMENTS.chunks, _DOCUMENTS.content, _DOCUMENTS.sha256
stream, disposition = _DOCUMENTS.stream, _DOCUMENTS.disposition

__all__ = ["BLOCK", "chunks", "content", "disposition", "sha256", "stream"]
