"""The BackDocket source connector: OAuth client credentials, cursor paging, delta pickup with an
overlap, deletions and streamed document downloads.

BackDocket publishes no REST API; the wire format is the design shared with our emulator
(shared/reference/source-systems.md section 2), so pointing the connector at a real endpoint that
follows it is configuration only (BACKDOCKET_BASE_URL, BACKDOCKET_TOKEN_URL, BACKDOCKET_CLIENT_ID,
BACKDOCKET_CLIENT_SECRET).

Delta pickup: `extract(obj, since=t)` asks for `updated_since = t - DELTA_OVERLAP` and keeps the
first copy of each id. Keyset paging by (updated_at, id) can serve a record twice when it changes
while the pages are read (it moves behind the cursor); the later copy is dropped, and its change is
picked up by the next delta, whose checkpoint is not after this extract started.

Every data request is a GET (idempotent: a lost answer is asked again); the token request is retried
by HttpSession like one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import SecretStr

from migration_assets import json_text
from migration_assets.connectors.backdocket import settings
from migration_assets.connectors.base import Deletion, SourceConnector, SourceObject
from migration_assets.connectors.connection import Connection
from migration_assets.connectors.http import HttpSession, OAuthClientCredentials
from migration_assets.errors import AuthError, ConnectorError, MigrationError, RemoteRejected, known_values

Record = dict[str, Any]


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; a value without offset is UTC.

    Raises:
        ValueError: when `value` is not ISO 8601.
    """
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BackDocketSource(SourceConnector):
    """Reads BackDocket through `/api/v1/<resource>` with a bearer token from client credentials.

    Args:
        session: an HttpSession with OAuthClientCredentials, whose client points at the API host
            (or the sandbox transport).
        prefix: the API path under the client's base URL ("/api/v1", or "" when the base URL
            already ends with it).
        page_size: records per page (`limit`), 1 to 200.
    """

    system: ClassVar[str] = settings.SYSTEM
    catalog: ClassVar[Mapping[str, SourceObject]] = settings.CATALOG

    def __init__(
        self, session: HttpSession, *, prefix: str = settings.API_PREFIX, page_size: int = settings.PAGE_SIZE
    ) -> None:
        super().__init__(session)
        if not 1 <= page_size <= settings.PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {settings.PAGE_SIZE}, got {page_size}")
        self.prefix = prefix.rstrip("/")
        self.page_size = page_size

    @classmethod
    def from_connection(cls, connection: Connection, **options: Any) -> Self:
        """Build the connector for a real endpoint or the sandbox.

        Args:
            connection: base_url is the API host, with or without "/api/v1"; token_url defaults to
                the host's "/oauth/token". `connection.options` and `options` may set page_size and
                the HttpSession settings (settings.HTTP: concurrency, max_concurrency,
                connect_timeout, read_timeout, retry_budget_seconds, and rate_per_second as a hard
                ceiling; without it the rate is learnt from the API's 429s).

        Raises:
            AuthError: when the client id or secret is missing.
        """
        if not connection.client_id or connection.client_secret is None:
            raise AuthError(
                "no client credentials configured (set BACKDOCKET_CLIENT_ID and BACKDOCKET_CLIENT_SECRET)",
                system=cls.system,
            )
        opts = {**(connection.options or {}), **options}
        base = connection.base_url.rstrip("/")
        parts = urlsplit(base)
        auth = OAuthClientCredentials(
            token_url=connection.token_url or f"{parts.scheme}://{parts.netloc}{settings.TOKEN_PATH}",
            client_id=connection.client_id,
            client_secret=SecretStr(connection.client_secret.get_secret_value()),
        )
        http = settings.HTTP.with_options(opts)
        session = HttpSession(
            cls.system, connection.http_client(), auth=auth, rate_hints=settings.RATE_HEADERS, **http.session_kwargs()
        )
        prefix = "" if parts.path.rstrip("/").endswith(settings.API_PREFIX) else settings.API_PREFIX
        return cls(session, prefix=prefix, page_size=int(opts.pop("page_size", settings.PAGE_SIZE)))

    # -- records ----------------------------------------------------------------------------
    def _path(self, obj: str) -> str:
        if obj not in settings.PATHS:
            raise MigrationError(f"backdocket has no object {obj!r} {known_values(settings.PATHS)}")
        return f"{self.prefix}/{settings.PATHS[obj]}"

    async def _get(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.session.request("GET", url, params=dict(params or {}), expect=(200,))
        return json_text.response_json(response)

    def _page(self, url: str, body: Any) -> tuple[list[Record], str | None]:
        if not (isinstance(body, dict) and isinstance(body.get("data"), list) and "next_cursor" in body):
            raise ConnectorError(f"GET {url} did not return {{data, next_cursor}}", system=self.system, body=body)
        return body["data"], body["next_cursor"]

    async def extract(self, obj: str, *, since: str | None = None) -> AsyncIterator[list[Record]]:
        """Yield pages of raw records of `obj`; with `since`, those updated at or after
        `since - DELTA_OVERLAP`. Each id is yielded once (see the module docstring).

        Raises:
            MigrationError: for an unknown object.
            ConnectorError: when the API refuses a request (AuthError, RateLimited, RemoteRejected).
        """
        url = self._path(obj)
        params: dict[str, Any] = {"limit": self.page_size}
        if since is not None:
            params["updated_since"] = utc_z(parse_time(since) - settings.DELTA_OVERLAP)
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            body = await self._get(url, {**params, "cursor": cursor} if cursor else params)
            records, cursor = self._page(url, body)
            fresh = [r for r in records if str(r["id"]) not in seen]
            seen.update(str(r["id"]) for r in fresh)
            if fresh:
                yield fresh
            if not cursor:
                return

    async def get(self, obj: str, record_id: str) -> Record:
        """One record by id.

        Raises:
            RemoteRejected: 404 when it does not exist or is deleted.
        """
        return await self._get(f"{self._path(obj)}/{record_id}")

    async def deleted_since(self, since: str) -> list[Deletion]:
        """Records deleted at or after `since` (`GET /api/v1/deleted`), with catalog object names."""
        rows = await self._get(f"{self.prefix}/deleted", {"since": utc_z(parse_time(since))})
        if not isinstance(rows, list):
            raise ConnectorError("GET /deleted did not return a list", system=self.system, body=rows)
        return [
            Deletion(
                object=settings.OBJECT_OF_PATH.get(r["object"], r["object"]),
                id=str(r["id"]),
                deleted_at=r["deleted_at"],
            )
            for r in rows
        ]

    # -- documents --------------------------------------------------------------------------
    async def download(self, obj: str, record_id: str) -> AsyncIterator[bytes]:
        """Stream the bytes of document `record_id` in chunks, never the whole file in memory.

        Raises:
            MigrationError: when `obj` is not "documents".
            RemoteRejected: 409 when the document is held in the onsite warehouse (the message says
                so, for the quarantine reason), 404 when it does not exist.
            AuthError, RateLimited: refused credentials, or throttling beyond the retry budget.
        """
        if obj not in settings.FILE_OBJECTS:
            raise MigrationError(f"backdocket can only download {sorted(settings.FILE_OBJECTS)}, not {obj!r}")
        url = f"{self.prefix}/documents/{record_id}/content"
        try:
            async with self.session.stream("GET", url) as response:
                async for chunk in response.aiter_bytes(settings.DOWNLOAD_CHUNK):
                    yield chunk
        except RemoteRejected as exc:
            if exc.status != 409:
                raise
            raise RemoteRejected(
                f"document {record_id} is {settings.ONSITE_REASON}; its content cannot be downloaded",
                system=self.system,
                status=exc.status,
                body=exc.body,
            ) from exc
