"""The Case Status source connector: page-number paging, delta pickup, deletions, file downloads.

The real API has no incremental filter, so delta pickup pages through everything and keeps records
whose `updated_at` is at or after the checkpoint (offset-less timestamps are read as UTC). The
emulator's `updated_since` extension is used only when `use_updated_since=True`. The derived views
(`note_images`, `client_nps`, see derived.py) are computed from the pages of their resource.

Every request is a GET (idempotent): a lost answer is simply asked again. The request rate is learnt
from the API's 429s by the shared HttpSession limiter (settings.HTTP; Connection.options
`concurrency`, `connect_timeout`, `read_timeout`, `retry_budget_seconds`, `rate_per_second`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import SecretStr

from migration_assets import json_text
from migration_assets.connectors.base import Deletion, SourceConnector, SourceObject
from migration_assets.connectors.case_status import derived, settings
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HeaderAuth, HttpSession
from migration_assets.errors import (
    AuthError,
    ConnectorError,
    MigrationError,
    known_values,
)

Record = dict[str, Any]
MAX_PAGES_AHEAD = 16  # page requests in flight per listing at most


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp from the API; a value without offset is UTC.

    Raises:
        ValueError: when `value` is not ISO 8601.
    """
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class CaseStatusSource(SourceConnector):
    """Reads Case Status through `/v1/api/<resource>` with `Authorization: ApiKey <key>`.

    Args:
        session: an HttpSession whose client points at the API (or the sandbox transport).
        use_updated_since: filter deltas on the server with the emulator's `updated_since`
            extension instead of comparing `updated_at` client-side (the real API has no filter).
        page_size: records per page, at most 100.
    """

    system: ClassVar[str] = "case_status"
    catalog: ClassVar[Mapping[str, SourceObject]] = settings.CATALOG
    page_size: ClassVar[int] = settings.PAGE_SIZE
    rate_per_second: ClassVar[float] = settings.RATE_PER_SECOND

    def __init__(
        self, session: HttpSession, *, use_updated_since: bool = False, page_size: int = settings.PAGE_SIZE
    ) -> None:
        super().__init__(session)
        if not 1 <= page_size <= settings.PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {settings.PAGE_SIZE}, got {page_size}")
        self.use_updated_since = use_updated_since
        self.size = page_size

    @classmethod
    def from_connection(cls, connection: Connection, **options: Any) -> Self:
        """Build the connector for a real tenant or the sandbox.

        Raises:
            AuthError: when the connection has no API key.
        """
        if connection.api_key is None:
            raise AuthError("no API key configured (set CASE_STATUS_API_KEY)", system=cls.system)
        auth = HeaderAuth("Authorization", SecretStr("ApiKey " + connection.api_key.get_secret_value()))
        http = settings.HTTP.with_options(connection.options)
        session = HttpSession(cls.system, connection.http_client(), auth=auth, **http.session_kwargs())
        return cls(session, **options)

    # -- records ----------------------------------------------------------------------------
    def _path(self, obj: str) -> str:
        if obj not in settings.PATHS:
            raise MigrationError(f"case_status has no object {obj!r} {known_values(settings.PATHS)}")
        return f"{settings.API_PREFIX}/{settings.PATHS[obj]}"

    async def _get(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.session.request("GET", url, params=dict(params or {}), expect=(200,))
        return json_text.response_json(response)

    async def extract(self, obj: str, *, since: str | None = None) -> AsyncIterator[list[Record]]:
        """Yield pages of raw records of `obj`, only those updated at or after `since` if given.

        Pages by `page[number]` (from 1) and `size`, several in flight, stopping on a short page.

        Raises:
            MigrationError: for an unknown object.
            ConnectorError: when the API refuses a request.
        """
        if obj in derived.DERIVED:
            cutoff = parse_time(since) if since is not None else None
            async for page in derived.extract(
                obj, self._all_pages, cutoff=cutoff, parse=parse_time, page_size=self.size
            ):
                yield page
            return
        path = self._path(obj)
        if obj in settings.SINGLETONS:
            doc = await self._get(path)
            if since is None or _changed(doc, parse_time(since)):
                yield [doc]
            return
        cutoff = parse_time(since) if since is not None else None
        params: dict[str, Any] = {"size": self.size}
        if cutoff is not None and self.use_updated_since:
            params["updated_since"] = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        async for page in self._numbered_pages(path, params):
            kept = page if cutoff is None else [r for r in page if _changed(r, cutoff)]
            if kept:
                yield kept

    async def _numbered_pages(self, path: str, params: Mapping[str, Any]) -> AsyncIterator[list[Record]]:
        """Every page of a listing, in order, stopping after the first short page. Pages are asked
        ahead (page numbers need no answer to know the next one): as many as the server answers at
        once (`_Flow`), no more than the identity's limiter admits (plus one, so that it can grow)
        and MAX_PAGES_AHEAD, or two while a learnt rate paces the requests. What is asked past the
        end is one short or empty page per page ahead (those not sent yet are cancelled and give
        their paced start back). The first page is asked alone: most short listings (deltas, small
        objects) end there."""
        ahead: deque[asyncio.Task] = deque()
        flow = _Flow()
        number = 1
        try:
            while True:
                wanted = 1 if number == 1 else self._pages_ahead(flow)  # the first page alone
                while len(ahead) < wanted:
                    page_params = {**params, "page[number]": number}
                    ahead.append(asyncio.ensure_future(flow.timed(self._get, path, page_params)))
                    number += 1
                page = await ahead.popleft()
                if not isinstance(page, list):
                    raise ConnectorError(
                        f"GET {path} returned {type(page).__name__}, expected a list", system=self.system
                    )
                yield page
                if len(page) < self.size:
                    return
        finally:
            for task in ahead:
                task.cancel()
            await asyncio.gather(*ahead, return_exceptions=True)

    def _pages_ahead(self, flow: _Flow) -> int:
        limiter = self.session.limiter
        if limiter.pacing() is not None:  # a rate holds requests back: more ahead only wastes requests
            return 2
        return max(1, min(MAX_PAGES_AHEAD, limiter.slots() + 1, flow.needed()))

    async def _all_pages(self, obj: str) -> AsyncIterator[list[Record]]:
        async for page in self.extract(obj):
            yield page

    async def latest_change(self, obj: str) -> str | None:
        """The greatest `updated_at` of `obj` (as the API wrote it), or None when it has no records."""
        latest: tuple[datetime, str] | None = None
        async for page in self.extract(obj):
            for record in page:
                if record.get("updated_at"):
                    stamp = (parse_time(record["updated_at"]), record["updated_at"])
                    latest = stamp if latest is None or stamp[0] > latest[0] else latest
        return latest[1] if latest else None

    async def changed_since(self, obj: str, since: str) -> int:
        """How many records of `obj` were updated at or after `since`."""
        return sum([len(page) async for page in self.extract(obj, since=since)])

    async def deleted_since(self, since: str) -> list[Deletion]:
        """Records deleted at or after `since` (the emulator's `/v1/api/deleted`)."""
        stamp = parse_time(since).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = await self._get(f"{settings.API_PREFIX}/deleted", {"since": stamp})
        return [
            Deletion(
                object=settings.OBJECT_OF_PATH.get(r["object"], r["object"]),
                id=str(r["id"]),
                deleted_at=r["deleted_at"],
            )
            for r in rows
        ]

    # -- files ------------------------------------------------------------------------------
    async def download(self, obj: str, record_id: str) -> AsyncIterator[bytes]:
        """Stream the bytes of file `record_id` in chunks, never the whole file in memory (an inline
        image of `note_images` is decoded from its note: it is small and whole already).

        Raises:
            MigrationError: when `obj` is not "files" or "note_images", or the note has no such image.
            RemoteRejected: when the file or its content does not exist (404).
            AuthError, RateLimited: refused credentials, or throttling beyond the retry budget.
        """
        if obj == "note_images":
            note = await self._get(f"{settings.API_PREFIX}/notes/{derived.note_of(record_id)}")
            yield derived.image_of(note, record_id)
            return
        if obj != "files":
            raise MigrationError(f"case_status can only download 'files' and 'note_images', not {obj!r}")
        url = f"{settings.API_PREFIX}/files/{record_id}/content"
        async with self.session.stream("GET", url) as response:
            async for chunk in response.aiter_bytes(settings.DOWNLOAD_CHUNK):
                yield chunk


class _Flow:
    """How many pages in flight keep the server busy. By Little's law that is its answer rate times
    the time one page takes when nothing queues (the shortest seen): past it, pages only queue at
    the server, and those past the end of the listing are still served for nothing. One more than
    that is asked, so that the count grows while the answers speed up with it."""

    ANSWERS = 8  # recent answers the rate is measured over

    def __init__(self) -> None:
        self.answers: deque[float] = deque(maxlen=self.ANSWERS)
        self.fastest = math.inf

    async def timed(self, get: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """`await get(*args)`, its answer counted."""
        asked = time.monotonic()
        page = await get(*args)
        now = time.monotonic()
        self.answers.append(now)
        self.fastest = min(self.fastest, now - asked)
        return page

    def needed(self) -> int:
        """Pages to keep in flight: 2 until two answers give a rate."""
        if len(self.answers) < 2 or self.answers[-1] <= self.answers[0]:
            return 2
        rate = (len(self.answers) - 1) / (self.answers[-1] - self.answers[0])
        return math.ceil(rate * self.fastest) + 1


def _changed(record: Mapping[str, Any], cutoff: datetime) -> bool:
    stamp = record.get("updated_at")
    return bool(stamp) and parse_time(stamp) >= cutoff
