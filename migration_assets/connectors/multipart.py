"""Streamed multipart/form-data uploads shared by the destinations that take files that way
(Salesforce ContentVersion, Freshsales documents): safe file names and a body that streams the file
bytes through, so a file is never held whole in memory."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Sequence

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
MAX_NAME = 255


def safe_file_name(name: str) -> str:
    """A file name without folders, control or reserved characters, at most 255 characters, its
    extension kept.

    Args:
        name: the original name (may contain a path).

    Returns:
        The cleaned name ("file" when nothing is left).
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = _UNSAFE.sub("_", base).strip(" .") or "file"
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        base = (stem if keep else base)[: MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return base


async def multipart_body(
    boundary: str,
    fields: Sequence[tuple[str, str, str | None]],
    file_field: str,
    file_name: str,
    content_type: str,
    chunks: AsyncIterator[bytes],
) -> AsyncIterator[bytes]:
    """Yield a multipart/form-data body: the form fields, then the file part streamed through.

    Args:
        boundary: the multipart boundary.
        fields: (name, value, content type or None) of each form field, in order.
        file_field: the name of the file part.
        file_name: the (safe) file name of the file part.
        content_type: MIME type of the file.
        chunks: the file bytes.
    """
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
        + (f"Content-Type: {part_type}\r\n" if part_type else "")
        + f"\r\n{value}\r\n"
        for name, value, part_type in fields
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    yield head.encode("utf-8")
    async for chunk in chunks:
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()
