"""ContentVersion bytes: decoding, size limit, storage next to the SQLite file, read-back.

Real: VersionData as base64 in a JSON body, or a multipart body with an `entity_content` JSON part and a
`VersionData` binary part; ContentDocumentId filled in on the new version; the bytes served at
`/sobjects/ContentVersion/<id>/VersionData`. Invented: the size limit is the option `max_file_bytes`
(default 25 MB, the seed's limit; real orgs allow 2 GB through multipart) and an oversized file is
refused with 400 `FILE_SIZE_LIMIT_EXCEEDED` (a real StatusCode; the message is ours).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import BinaryIO

from migration_assets.sandbox.salesforce.faults import SfError

_CHUNK = 1 << 20


def too_large(size: int, limit: int) -> SfError:
    """FILE_SIZE_LIMIT_EXCEEDED for a file of `size` bytes over `limit`."""
    return SfError(
        "FILE_SIZE_LIMIT_EXCEEDED",
        f"File size {size} bytes exceeds the limit of {limit} bytes",
        ["VersionData"],
    )


def decode_version_data(text: str, limit: int) -> bytes:
    """The bytes of a base64 VersionData value.

    Raises:
        SfError: JSON_PARSER_ERROR when not base64, FILE_SIZE_LIMIT_EXCEEDED past `limit`.
    """
    # Check the decoded size before decoding so an oversized body never sits in memory twice.
    approx = len(text) * 3 // 4 - text[-2:].count("=")
    if approx > limit:
        raise too_large(approx, limit)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SfError("JSON_PARSER_ERROR", "VersionData is not valid base64", ["VersionData"]) from None


def write_blob(folder: Path, version_id: str, data: bytes | BinaryIO, limit: int) -> tuple[int, str]:
    """Store the bytes of a version; returns (size, md5 hex).

    Raises:
        SfError: FILE_SIZE_LIMIT_EXCEEDED when a stream turns out larger than `limit` (file removed).
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / version_id
    digest, size = hashlib.md5(usedforsecurity=False), 0
    with target.open("wb") as out:
        if isinstance(data, bytes):
            out.write(data)
            digest.update(data)
            size = len(data)
        else:
            while chunk := data.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    target.unlink(missing_ok=True)
                    raise too_large(size, limit)
                out.write(chunk)
                digest.update(chunk)
    return size, digest.hexdigest()


def blob_path(folder: Path, version_id: str) -> Path:
    """Where the bytes of one ContentVersion are stored."""
    return folder / version_id


def file_type(path_on_client: str) -> tuple[str, str]:
    """(FileExtension, FileType) derived from PathOnClient as Salesforce does (PDF, WORD_X, ...)."""
    ext = Path(path_on_client).suffix.lstrip(".").lower()
    kinds = {
        "pdf": "PDF",
        "doc": "WORD",
        "docx": "WORD_X",
        "xls": "EXCEL",
        "xlsx": "EXCEL_X",
        "png": "PNG",
        "jpg": "JPG",
        "jpeg": "JPG",
        "txt": "TEXT",
        "csv": "CSV",
        "zip": "ZIP",
        "eml": "EML",
        "msg": "MSG",
    }
    return ext, kinds.get(ext, "UNKNOWN")
