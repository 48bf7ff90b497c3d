"""The multipart `$batch` body writer and response parser (real format, reference §5).

A batch is a list of groups: a change set (several requests, atomic) or a lone request. Bodies use
CRLF line ends only. The response has one part per group in order; a change set answers with a
nested `changesetresponse` holding one part per request, or, when it failed, a single error part.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_STATUS = re.compile(r"^HTTP/\d(?:\.\d)?\s+(\d{3})")


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a batch; `url` is the path from the host (`/api/data/v9.2/...`)."""

    method: str
    url: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartResponse:
    """One answered request: status, headers (lower-case names) and the JSON body (or None)."""

    status: int
    headers: Mapping[str, str]
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status < 400

    def error_text(self) -> str:
        """`"<code> <message>"` from a Dataverse error body, or the raw status."""
        return error_text(self.status, self.body)


def error_text(status: int, body: Any) -> str:
    """Render a Dataverse or Graph error body `{"error":{"code","message"}}` as `"<code> <message>"`.

    Args:
        status: HTTP status, used when the body has no error object.
        body: parsed JSON (or text).

    Returns:
        The error string stored in WriteResult.error.
    """
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        err = body["error"]
        return f"{err.get('code') or '0x0'} {err.get('message', '')}".strip()
    if isinstance(body, Mapping) and "error" in body:  # OAuth-style {"error": "...", "error_description"}
        return f"{body['error']} {body.get('error_description', '')}".strip()
    return f"HTTP {status} {str(body or '')[:300]}".strip()


def group_error(answers: list[list[PartResponse]] | str, n: int) -> tuple[int | None, str | None]:
    """(status, error) of the first failed request of group `n`, or (None, None) when all succeeded.

    Args:
        answers: parsed `$batch` groups, or the error text of a batch refused as a whole.
        n: the group's position.
    """
    if isinstance(answers, str):
        return 0, answers
    if n >= len(answers) or not answers[n]:
        return 0, "not processed: the batch stopped early"
    failed = next((r for r in answers[n] if not r.ok), None)
    return (None, None) if failed is None else (failed.status, failed.error_text())


def build_batch(groups: Sequence[Sequence[BatchRequest] | BatchRequest]) -> tuple[str, bytes]:
    """Write a `$batch` body.

    Args:
        groups: each item is a change set (a sequence of requests) or a single request.

    Returns:
        (Content-Type header value, body bytes with CRLF line ends).
    """
    boundary = f"batch_{uuid.uuid4().hex}"
    lines: list[str] = []
    content_id = 0
    for group in groups:
        lines.append(f"--{boundary}")
        if isinstance(group, BatchRequest):
            content_id += 1
            lines += _request_part(group, None)
            continue
        changeset = f"changeset_{uuid.uuid4().hex}"
        lines += [f'Content-Type: multipart/mixed; boundary="{changeset}"', ""]
        for request in group:
            content_id += 1
            lines.append(f"--{changeset}")
            lines += _request_part(request, content_id)
        lines.append(f"--{changeset}--")
    lines.append(f"--{boundary}--")
    lines.append("")
    return f'multipart/mixed; boundary="{boundary}"', CRLF.join(lines).encode("utf-8")


def _request_part(request: BatchRequest, content_id: int | None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{request.method} {request.url} HTTP/1.1"]
    for name, value in request.headers.items():
        lines.append(f"{name}: {value}")
    if request.body is not None:
        lines += ["Content-Type: application/json; type=entry", "", orjson.dumps(request.body).decode()]
    else:
        lines.append("")
    return lines


def parse_batch(content_type: str, body: bytes) -> list[list[PartResponse]]:
    """Parse a `$batch` response into one list of responses per group, in order.

    Args:
        content_type: the response Content-Type (carries the boundary).
        body: the response bytes.

    Returns:
        For each group: the responses of its requests (a failed change set gives one error response).

    Raises:
        ValueError: when the response is not multipart.
    """
    boundary = _boundary(content_type)
    groups: list[list[PartResponse]] = []
    for part in _split(body.decode("utf-8", errors="replace"), boundary):
        headers, payload = _split_headers(part)
        ctype = headers.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            inner = _split(payload, _boundary(ctype))
            groups.append([_http_response(_split_headers(p)[1]) for p in inner])
        else:
            groups.append([_http_response(payload)])
    return groups


def _boundary(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if not match:
        raise ValueError(f"no multipart boundary in {content_type!r}")
    return match.group(1)


def _split(text: str, boundary: str) -> list[str]:
    """The parts between `--boundary` delimiters (tolerates LF-only answers)."""
    text = text.replace("\r\n", "\n")
    parts = text.split(f"--{boundary}")
    out = []
    for part in parts[1:]:
        if part.startswith("--"):
            break
        out.append(part.strip("\n"))
    return out


def _split_headers(part: str) -> tuple[dict[str, str], str]:
    if part.startswith("\n"):  # no headers, only a body
        return {}, part[1:]
    head, _, payload = part.partition("\n\n")
    headers = {}
    for line in head.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, payload


def _http_response(text: str) -> PartResponse:
    status_line, _, rest = text.partition("\n")
    match = _STATUS.match(status_line.strip())
    status = int(match.group(1)) if match else 500
    headers, payload = _split_headers(rest) if rest.strip() else ({}, "")
    payload = payload.strip()
    parsed: Any = None
    if payload:
        try:
            parsed = orjson.loads(payload)
        except ValueError:
            parsed = payload
    return PartResponse(status, headers, parsed)
