"""`POST $batch`: multipart/mixed requests with atomic change sets (reference section 5).

Real: CRLF line ends only (else 400 "Stream was not readable."), ≤ 1,000 operations, change sets
all-or-nothing, `$n` Content-ID references (undeclared → 400 "Content-ID Reference: '$n' does not
exist in the batch context."), no GET inside a change set, stop at the first failure unless
`Prefer: odata.continue-on-error`, `batchresponse_`/`changesetresponse_` parts in order, part-level
`Prefer: return=representation`. The batch counts as one request for service protection and each
operation for the entitlement counter. Each change set is atomic and what ran before a failure
stays written, as in Dataverse; ours: what ran is committed every `LOCK_SLICE_SECONDS`, so a long
batch never holds the write lock (and other requests' admission) for longer than that.
Invented/unconfirmed: the texts of the >1,000 and GET-in-change-set refusals; a stopped batch
answers 400 with the parts up to the failure.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from migration_assets.sandbox.dataverse import api, store
from migration_assets.sandbox.dataverse.core import API_PREFIX, Call, Ctx, ODataError, Result
from migration_assets.sandbox.dataverse.model import load_catalog

MAX_OPERATIONS = 1000
LOCK_SLICE_SECONDS = 0.02  # ours: the longest a batch holds the write lock before committing what ran
CRLF = "\r\n"
REFERENCE_RE = re.compile(r"^\$(\d+)")


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


def boundary_of(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not match or not content_type.lower().startswith("multipart/mixed"):
        raise ODataError(400, "0x0", "The content type of a $batch request must be multipart/mixed with a boundary.")
    return match.group(1)


def split_parts(text: str, boundary: str) -> list[tuple[dict[str, str], str]]:
    """MIME parts between `--boundary` lines: (lower-case headers, content)."""
    delimiter = f"--{boundary}"
    pieces = text.split(delimiter)
    if len(pieces) < 2 or not pieces[-1].startswith("--"):
        raise ODataError(400, "0x0", "Stream was not readable.")
    parts = []
    for piece in pieces[1:-1]:
        head, sep, content = piece.removeprefix(CRLF).partition(CRLF + CRLF)
        if not sep:
            raise ODataError(400, "0x0", "Stream was not readable.")
        parts.append((parse_headers(head), content.removesuffix(CRLF)))
    return parts


def parse_headers(block: str) -> dict[str, str]:
    headers = {}
    for line in block.split(CRLF):
        if line.strip():
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers


def parse_operation(mime: dict[str, str], content: str) -> Operation:
    head, _, body = content.partition(CRLF + CRLF)
    lines = head.split(CRLF)
    words = lines[0].split()
    if len(words) < 2:
        raise ODataError(400, "0x0", f"Invalid request line in $batch part: '{lines[0]}'.")
    headers = parse_headers(CRLF.join(lines[1:]))
    content_id = mime.get("content-id") or headers.get("content-id")
    return Operation(words[0].upper(), words[1], headers, body.encode(), content_id)


def parse(call: Call) -> list[Operation | ChangeSet]:
    """The batch's top-level items.

    Raises:
        ODataError: 400 for LF-only line ends, malformed parts, GET in a change set, > 1,000 operations.
    """
    text = call.body.decode("utf-8", errors="replace")
    if re.search(r"(?<!\r)\n", text):
        raise ODataError(400, "0x0", "Stream was not readable.")
    items: list[Operation | ChangeSet] = []
    for mime, content in split_parts(text, boundary_of(call.headers.get("content-type", ""))):
        if mime.get("content-type", "").lower().startswith("multipart/mixed"):
            change_set = ChangeSet(
                [parse_operation(m, c) for m, c in split_parts(content, boundary_of(mime["content-type"]))]
            )
            if any(op.method == "GET" for op in change_set.operations):
                raise ODataError(400, "0x0", "GET requests are not allowed inside a change set.")
            items.append(change_set)
        else:
            items.append(parse_operation(mime, content))
    total = sum(len(i.operations) if isinstance(i, ChangeSet) else 1 for i in items)
    if total > MAX_OPERATIONS:
        raise ODataError(400, "0x0", f"The batch contains {total} operations; the maximum is {MAX_OPERATIONS}.")
    return items


# ---------------------------------------------------------------- execution


def resolve_url(ctx: Ctx, url: str, references: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Path below the API prefix and query of a part URL (absolute, rooted or relative, or `$n`)."""
    match = REFERENCE_RE.match(url)
    if match:
        target = references.get(match.group(1))
        if target is None:
            raise ODataError(
                400, "0x0", f"Content-ID Reference: '${match.group(1)}' does not exist in the batch context."
            )
        url = target + url[match.end() :]
    parts = urlsplit(url)
    path = unquote(parts.path)
    if API_PREFIX in path:
        path = path.split(API_PREFIX, 1)[1]
    return path.lstrip("/"), dict(parse_qsl(parts.query))


def substitute(value: Any, references: dict[str, str]) -> Any:
    """Replace `"$n"` strings in a JSON body by the referenced record URL."""
    if isinstance(value, dict):
        return {k: substitute(v, references) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, references) for v in value]
    if isinstance(value, str):
        match = REFERENCE_RE.fullmatch(value)
        if match:
            if match.group(1) not in references:
                raise ODataError(400, "0x0", f"Content-ID Reference: '{value}' does not exist in the batch context.")
            return references[match.group(1)]
    return value


def execute(ctx: Ctx, op: Operation, references: dict[str, str]) -> Result:
    """Run one operation under a savepoint (undone if it fails)."""
    ctx.conn.execute("savepoint op")
    try:
        path, query = resolve_url(ctx, op.url, references)
        body = op.body
        if body.strip():
            body = json.dumps(substitute(json.loads(body), references)).encode()
        ctx.catalog = load_catalog(ctx.conn, ctx.catalog)  # earlier parts may have changed metadata
        store.count_entitlement(ctx.conn, 1)
        result = api.dispatch(ctx, Call(op.method, path, query, op.headers, body))
    except (ODataError, ValueError) as error:
        ctx.conn.execute("rollback to op")
        ctx.conn.execute("release op")
        if isinstance(error, ODataError):
            return error.result()
        return ODataError(400, "0x80048d19", f"Error identified in Payload provided by the user: {error}").result()
    ctx.conn.execute("release op")
    if op.content_id and "OData-EntityId" in result.headers:
        references[op.content_id] = result.headers["OData-EntityId"]
    return result


def run_change_set(ctx: Ctx, change_set: ChangeSet) -> tuple[list[tuple[Operation, Result]], bool]:
    """All operations or none: on a failure everything is rolled back and only the error returned."""
    ctx.conn.execute("savepoint changeset")
    references: dict[str, str] = {}
    done = []
    for op in change_set.operations:
        result = execute(ctx, op, references)
        if result.status >= 400:
            ctx.conn.execute("rollback to changeset")
            ctx.conn.execute("release changeset")
            return [(op, result)], False
        done.append((op, result))
    ctx.conn.execute("release changeset")
    return done, True


def run(ctx: Ctx, call: Call) -> Result:
    """Answer a `$batch` request.

    Args:
        ctx: request context (its connection is in a write transaction, committed after each part).
        call: the HTTP call with the multipart body.

    Returns:
        200 multipart response (400 when stopped at a failure without continue-on-error).
    """
    if call.method != "POST":
        raise ODataError(405, "0x0", "$batch only accepts POST.")
    items = parse(call)
    keep_going = call.prefers("odata.continue-on-error")
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[str] = []
    status = 200
    held = time.monotonic()
    for item in items:
        if isinstance(item, ChangeSet):
            results, ok = run_change_set(ctx, item)
            chunks.append(change_set_part(results) if ok else response_part(*results[0]))
        else:
            result = execute(ctx, item, {})
            ok = result.status < 400
            chunks.append(response_part(item, result))
        if not ok and not keep_going:
            status = 400
            break
        if time.monotonic() - held > LOCK_SLICE_SECONDS:
            # what ran stays written (as in Dataverse, each change set is its own transaction):
            # commit and let other requests and the shared counters take the write lock
            ctx.let_others_write()
            held = time.monotonic()
    body = "".join(f"--{boundary}{CRLF}{chunk}" for chunk in chunks) + f"--{boundary}--{CRLF}"
    headers = {"content-type": f"multipart/mixed; boundary={boundary}", "OData-Version": "4.0"}
    if keep_going:
        headers["Preference-Applied"] = "odata.continue-on-error"
    return Result(status, body.encode(), headers)


def response_part(op: Operation, result: Result, content_id: bool = False) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id and op.content_id:
        lines.append(f"Content-ID: {op.content_id}")
    payload, media_type = result.encoded()
    http = [f"HTTP/1.1 {result.status} {HTTPStatus(result.status).phrase}", "OData-Version: 4.0"]
    http += [f"{k}: {v}" for k, v in result.headers.items() if k.lower() != "content-type"]
    if media_type and result.status not in (204, 304):
        http.append(f"Content-Type: {media_type}")
    text = payload.decode() if result.status not in (204, 304) else ""
    return CRLF.join(lines) + CRLF + CRLF + CRLF.join(http) + CRLF + CRLF + text + CRLF


def change_set_part(results: list[tuple[Operation, Result]]) -> str:
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = "".join(f"--{boundary}{CRLF}{response_part(op, r, content_id=True)}" for op, r in results)
    return f"Content-Type: multipart/mixed; boundary={boundary}{CRLF}{CRLF}{inner}--{boundary}--{CRLF}"
