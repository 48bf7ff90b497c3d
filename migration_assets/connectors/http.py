"""The one HTTP layer every connector uses.

It owns what all remote APIs need alike: an async httpx client (a real transport, or the sandbox
emulator in process through `httpx.ASGITransport`), authentication (static header or an OAuth 2.0
client-credentials token cached until shortly before it expires), a token-bucket rate limit and a
concurrency bound, retries with exponential backoff and jitter that honour `Retry-After` on 429 and
503, timeouts, request statistics for benchmarks, and redaction of secrets in anything logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from migration_assets.errors import AuthError, ConnectorError, RateLimited, RemoteRejected

log = logging.getLogger("migration_assets.http")

RETRY_STATUSES = frozenset({429, 503})


@dataclass
class RequestStats:
    """Counters a load step reports and `make bench` prints."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429/503 answers received
    busy_seconds: float = 0.0  # summed request latency (concurrent requests overlap)
    started: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "busy_seconds": round(self.busy_seconds, 3),
            "elapsed_seconds": round(time.monotonic() - self.started, 3),
        }


class TokenBucket:
    """Client-side rate limit: `rate` requests per second with bursts of `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.updated = float(burst), time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass(frozen=True)
class OAuthClientCredentials:
    """OAuth 2.0 client-credentials grant (Entra ID for Dataverse, Salesforce connected apps)."""

    token_url: str
    client_id: str
    client_secret: SecretStr
    scope: str | None = None


@dataclass(frozen=True)
class HeaderAuth:
    """A static credential header, e.g. `Authorization: ApiKey <key>` (Case Status)."""

    name: str
    value: SecretStr


@dataclass
class Token:
    access_token: str
    expires_at: float
    extra: dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 30.0
    # a 429/503 that says when to come back (Retry-After) is retried for this long, however many
    # attempts that takes: under service protection the whole session waits its turn
    throttled_seconds: float = 300.0

    def gives_up(self, attempt: int, started: float, retry_after: str | None) -> bool:
        if retry_after is not None:
            return time.monotonic() - started >= self.throttled_seconds
        return attempt >= self.attempts


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret (and bearer tokens) in `text` by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(Bearer|ApiKey)\s+[A-Za-z0-9._~+/=!-]+", r"\1 ***", text)


class HttpSession:
    """Authenticated, rate-bounded, retrying async HTTP session for one remote system.

    Args:
        system: name used in errors and logs ("dataverse", "case_status", ...).
        client: the httpx.AsyncClient to use; its transport decides real network vs sandbox.
        auth: OAuthClientCredentials, HeaderAuth or None.
        rate: requests per second allowed by the client-side token bucket.
        burst: bucket size.
        concurrency: maximum requests in flight.
        retry: RetryPolicy for 429/503 and transport errors.
    """

    def __init__(
        self,
        system: str,
        client: httpx.AsyncClient,
        *,
        auth: OAuthClientCredentials | HeaderAuth | None = None,
        rate: float = 50.0,
        burst: int = 50,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.system = system
        self.client = client
        self.auth = auth
        self.bucket = TokenBucket(rate, burst)
        self.semaphore = asyncio.Semaphore(concurrency)
        self._resume_at = 0.0  # monotonic time before which no request is sent (after a 429)
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.stats = RequestStats()
        self._token: Token | None = None
        self._token_lock = asyncio.Lock()

    # -- auth -------------------------------------------------------------------------------
    def _secrets(self) -> list[str]:
        out: list[str] = []
        if isinstance(self.auth, OAuthClientCredentials):
            out.append(self.auth.client_secret.get_secret_value())
        elif isinstance(self.auth, HeaderAuth):
            out.append(self.auth.value.get_secret_value())
        if self._token:
            out.append(self._token.access_token)
        return out

    async def token(self, *, refresh: bool = False) -> Token | None:
        """The cached OAuth token, fetched (again) when missing, expiring or `refresh` is set."""
        if not isinstance(self.auth, OAuthClientCredentials):
            return None
        async with self._token_lock:
            if refresh or self._token is None or self._token.expires_at - 60 < time.time():
                self._token = await self._fetch_token(self.auth)
            return self._token

    async def _fetch_token(self, auth: OAuthClientCredentials) -> Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret.get_secret_value(),
        }
        if auth.scope:
            form["scope"] = auth.scope
        response = await self.client.post(auth.token_url, data=form)
        self.stats.requests += 1
        if response.status_code != 200:
            raise AuthError(
                f"token endpoint refused the client credentials ({response.status_code}): "
                + redact(response.text[:300], self._secrets()),
                system=self.system,
                status=response.status_code,
            )
        body = response.json()
        expires_in = float(body.get("expires_in", 3600))
        return Token(body["access_token"], time.time() + expires_in, body)

    async def _auth_headers(self, refresh: bool = False) -> dict[str, str]:
        if isinstance(self.auth, HeaderAuth):
            return {self.auth.name: self.auth.value.get_secret_value()}
        token = await self.token(refresh=refresh)
        return {"Authorization": f"Bearer {token.access_token}"} if token else {}

    # -- requests ---------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request with auth, rate limit, retries; raise a ConnectorError unless the
        status is in `expect`."""
        refreshed = False
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            await self._throttle_pause()
            await self.bucket.acquire()
            sent = time.monotonic()
            try:
                async with self.semaphore:
                    all_headers = {**(headers or {}), **await self._auth_headers()}
                    response = await self.client.request(method, url, headers=all_headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retry.attempts:
                    raise ConnectorError(f"{method} {url} failed: {exc!r}", system=self.system) from exc
                await asyncio.sleep(self._backoff(attempt, None))
                self.stats.retries += 1
                continue
            finally:
                self.stats.busy_seconds += time.monotonic() - sent
                self.stats.requests += 1
            oauth = isinstance(self.auth, OAuthClientCredentials)
            if response.status_code == 401 and not refreshed and oauth:
                refreshed = True  # an expired token: fetch a new one once, then retry
                await self.token(refresh=True)
                continue
            if response.status_code in RETRY_STATUSES:
                self.stats.throttled += 1
                if self.retry.gives_up(attempt, started, response.headers.get("Retry-After")):
                    raise RateLimited(
                        f"{method} {url} still throttled after {attempt} attempts",
                        system=self.system,
                        status=response.status_code,
                        body=_body(response),
                    )
                delay = self._backoff(attempt, response.headers.get("Retry-After"))
                log.info("%s throttled (%s); retrying in %.2fs", self.system, response.status_code, delay)
                self.stats.retries += 1
                self._pause_all(delay)
                continue
            if response.status_code in expect:
                return response
            self._raise_for(response, method, url)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> AsyncIterator[httpx.Response]:
        """Like `request`, but the body is left to stream (downloads never sit whole in memory).
        Retries (429/503, transport errors, one token refresh) happen only before the body starts:
        bytes already handed out cannot be taken back."""
        refreshed = False
        for attempt in range(1, self.retry.attempts + 1):
            await self._throttle_pause()
            await self.bucket.acquire()
            delay: float | None = None
            try:
                all_headers = {**(headers or {}), **await self._auth_headers()}
                async with self.client.stream(method, url, headers=all_headers, **kwargs) as response:
                    self.stats.requests += 1
                    status = response.status_code
                    if status in expect:
                        yield response
                        return
                    await response.aread()
                    if status == 401 and not refreshed and isinstance(self.auth, OAuthClientCredentials):
                        refreshed, delay = True, 0.0
                        await self.token(refresh=True)
                    elif status in RETRY_STATUSES and attempt < self.retry.attempts:
                        self.stats.throttled += 1
                        delay = self._backoff(attempt, response.headers.get("Retry-After"))
                        self._pause_all(delay)
                        delay = 0.0
                    else:
                        self._raise_for(response, method, url)
            except httpx.TransportError as exc:
                if attempt == self.retry.attempts:
                    raise ConnectorError(f"{method} {url} failed: {exc!r}", system=self.system) from exc
                delay = self._backoff(attempt, None)
            self.stats.retries += 1
            await asyncio.sleep(delay or 0)
        raise RateLimited(
            f"{method} {url} still throttled after {self.retry.attempts} tries", system=self.system
        )

    def _pause_all(self, delay: float) -> None:
        """A 429 holds back every request of this session, not only the one refused: requests in
        flight at the same time would otherwise use up their retries against the same window."""
        self._resume_at = max(self._resume_at, time.monotonic() + delay)

    async def _throttle_pause(self) -> None:
        while (wait := self._resume_at - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.retry.max_delay) + random.uniform(0, 0.05)
            except ValueError:
                pass
        delay = min(self.retry.base_delay * 2 ** (attempt - 1), self.retry.max_delay)
        return delay + random.uniform(0, delay / 2)

    def _raise_for(self, response: httpx.Response, method: str, url: str) -> None:
        body = _body(response)
        text = redact(str(body)[:500], self._secrets())
        error = AuthError if response.status_code in (401, 403) else RemoteRejected
        raise error(
            f"{method} {url} -> {response.status_code}: {text}",
            system=self.system,
            status=response.status_code,
            body=body,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text
