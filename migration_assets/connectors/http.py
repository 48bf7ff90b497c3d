"""The one HTTP layer every connector uses.

It owns what all remote APIs need alike: an async httpx client (a real transport, or the sandbox
emulator in process through `httpx.ASGITransport`), authentication (static header or an OAuth 2.0
client-credentials token cached until shortly before it expires), admission control learnt from the
server, retries, timeouts, request statistics for benchmarks, and redaction of secrets in logs.

Retries. 429 and 503 (throttled) wait for `Retry-After` (or an exponential backoff with jitter)
and are retried until the retry time budget is spent; 500, 502 and 504 and transport errors are
retried with exponential backoff and jitter, at most `RetryPolicy.attempts` times within the same
budget. The OAuth token request gets the same loop; a throttled or failing token endpoint ends as
RateLimited or ConnectorError, and AuthError ("refused the client credentials") is kept for a real
400/401 `invalid_client`.

Lost responses. A connection that drops or a read that times out after the request was sent, and
a 502/504 from a gateway, leave the outcome unknown: the server may have applied the request.
Idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, PATCH upserts, and POSTs the caller marks
`idempotent=True`) are retried; any other POST raises `LostResponse` so that the connector looks
the record up before sending it again. A request whose body is a stream is never re-sent.

Admission control lives in `limiter.py` (AdaptiveLimiter, one per system identity).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NoReturn

import httpx
from pydantic import SecretStr

from migration_assets.connectors.limiter import (
    THROTTLE_STATUSES,
    AdaptiveLimiter,
    RateHeaders,
    RateHint,
    RateHintReader,
    Ticket,
    shared_limiter,
)
from migration_assets.errors import AuthError, ConnectorError, LostResponse, RateLimited, RemoteRejected

log = logging.getLogger("migration_assets.http")

SERVER_ERROR_STATUSES = frozenset({500, 502, 504})
RETRY_STATUSES = THROTTLE_STATUSES | SERVER_ERROR_STATUSES
# Statuses after which a non-idempotent request may have been applied (a gateway gave up waiting).
UNKNOWN_OUTCOME_STATUSES = frozenset({502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# reads wait for a slot ahead of queued writes: a load's writes wait for its reads (existence,
# before-images), so a read queued behind the writes in flight left the server without the next ones
READS = frozenset({"GET", "HEAD"})
# Transport errors raised before any byte of the request reached the server: always safe to retry.
UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# OAuth error codes that mean the client id or secret itself was refused (RFC 6749 section 5.2).
REFUSED_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client"})

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_RETRY_BUDGET = 300.0


# -- auth and policy ---------------------------------------------------------------------------------
@dataclass
class RequestStats:
    """Counters a load step reports and `make bench` prints (per session; the limiter part of the
    snapshot is the identity's, shared by its sessions)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429/503 answers received
    busy_seconds: float = 0.0  # summed request latency (concurrent requests overlap)
    started: float = field(default_factory=time.monotonic)
    throttled_by_status: dict[int, int] = field(default_factory=dict)
    server_errors: dict[int, int] = field(default_factory=dict)  # 500/502/504 answers received
    transport_errors: int = 0
    lost_responses: int = 0  # answers lost after sending (retried or raised as LostResponse)
    limiter: AdaptiveLimiter | None = field(default=None, repr=False)

    def count_status(self, status: int) -> None:
        if status in THROTTLE_STATUSES:
            self.throttled += 1
            self.throttled_by_status[status] = self.throttled_by_status.get(status, 0) + 1
        elif status in SERVER_ERROR_STATUSES:
            self.server_errors[status] = self.server_errors.get(status, 0) + 1

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "busy_seconds": round(self.busy_seconds, 3),
            "elapsed_seconds": round(time.monotonic() - self.started, 3),
            "transport_errors": self.transport_errors,
            "lost_responses": self.lost_responses,
        }
        out.update({f"throttled_{s}": n for s, n in sorted(self.throttled_by_status.items())})
        out.update({f"server_errors_{s}": n for s, n in sorted(self.server_errors.items())})
        if self.limiter is not None:
            out.update(self.limiter.snapshot())
        return out


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
    """How long one request keeps being retried.

    Attributes:
        attempts: tries for server errors (500/502/504) and transport errors.
        base_delay: first backoff in seconds; doubles per attempt, plus up to 50% jitter.
        max_delay: ceiling of one backoff (a server's Retry-After is honoured as given).
        throttled_seconds: the retry time budget: no retry starts once this many seconds have
            passed since the first try, or when its wait would end after them.
    """

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 30.0
    throttled_seconds: float = DEFAULT_RETRY_BUDGET

    def backoff(self, attempt: int) -> float:
        delay = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        return delay + random.uniform(0, delay / 2)


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret (and bearer tokens) in `text` by '***'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"(Bearer|ApiKey)\s+[A-Za-z0-9._~+/=!-]+", r"\1 ***", text)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The `Retry-After` of `response` in seconds (delta-seconds or an HTTP date), or None."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


@dataclass(frozen=True)
class SessionSettings:
    """One system's HttpSession settings: each connector's settings.py holds its defaults, and
    `Connection.options` may override any of them by the option names below.

    Attributes:
        concurrency: requests in flight at first (option `concurrency`).
        max_concurrency: ceiling of the concurrency limit (option `max_concurrency`).
        connect_timeout: seconds to connect (option `connect_timeout`).
        read_timeout: seconds to wait for an answer (option `read_timeout`).
        retry_budget_seconds: the retry time budget of one request (option `retry_budget_seconds`).
        rate: a hard ceiling in requests per second, None to let the server decide (option
            `rate_per_second`).
    """

    concurrency: int = 8
    max_concurrency: int = 64
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    retry_budget_seconds: float = DEFAULT_RETRY_BUDGET
    rate: float | None = None

    def with_options(self, options: Mapping[str, Any] | None) -> SessionSettings:
        """These settings with the ones `options` names replaced (other options are ignored)."""
        opts = options or {}
        return replace(self, **{f: cast(opts[o]) for o, (f, cast) in _OPTIONS.items() if opts.get(o) is not None})

    def session_kwargs(self) -> dict[str, Any]:
        """The HttpSession keyword arguments."""
        return asdict(self)


# Connection option -> (SessionSettings field, type)
_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "concurrency": ("concurrency", int),
    "max_concurrency": ("max_concurrency", int),
    "connect_timeout": ("connect_timeout", float),
    "read_timeout": ("read_timeout", float),
    "retry_budget_seconds": ("retry_budget_seconds", float),
    "rate_per_second": ("rate", float),
}


# -- the session -------------------------------------------------------------------------------------
@dataclass
class _Call:
    """One logical request across its tries."""

    method: str
    url: str
    safe: bool = True  # re-sending after a lost answer cannot duplicate anything
    replayable: bool = True  # the body can be sent again (not a stream)
    what: str = ""
    started: float = field(default_factory=time.monotonic)
    attempt: int = 0
    refreshed: bool = False

    def __post_init__(self) -> None:
        self.what = self.what or f"{self.method} {self.url}"


class HttpSession:
    """Authenticated, adaptively limited, retrying async HTTP session for one remote system.

    Args:
        system: name used in errors and logs ("dataverse", "case_status", ...).
        client: the httpx.AsyncClient to use; its transport decides real network vs sandbox.
        auth: OAuthClientCredentials, HeaderAuth or None.
        rate: an optional hard ceiling in requests per second; None (the default) lets the server
            decide (see the module docstring).
        burst: accepted for compatibility; pacing has no bursts.
        concurrency: requests in flight at first (the limit then follows AIMD).
        retry: RetryPolicy (attempts, backoff, retry time budget).
        connect_timeout: seconds to open a connection.
        read_timeout: seconds to wait for any answer byte (also the write and pool timeouts).
        retry_budget_seconds: overrides `retry.throttled_seconds` (the retry time budget).
        max_concurrency: ceiling of the concurrency limit.
        rate_hints: reads the system's rate-limit headers (e.g. a RateHeaders), or None.
        identity: the limiter identity; by default `identity_of(system, client, auth)`.
    """

    def __init__(
        self,
        system: str,
        client: httpx.AsyncClient,
        *,
        auth: OAuthClientCredentials | HeaderAuth | None = None,
        rate: float | None = None,
        burst: int | None = None,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry_budget_seconds: float | None = None,
        max_concurrency: int = 64,
        rate_hints: RateHintReader | None = None,
        identity: str | None = None,
    ) -> None:
        self.system = system
        self.client = client
        self.auth = auth
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        if retry_budget_seconds is not None:
            self.retry = replace(self.retry, throttled_seconds=retry_budget_seconds)
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.rate_hints = rate_hints
        self.identity = identity or identity_of(system, client, auth)
        self.limiter = shared_limiter(
            self.identity, concurrency=concurrency, max_concurrency=max_concurrency, max_rate=rate
        )
        self.stats = RequestStats(limiter=self.limiter)
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
        """The cached OAuth token, fetched (again) when missing, expiring or `refresh` is set.

        Raises:
            AuthError: the endpoint refused the client credentials (or the request, 400/401/403).
            RateLimited: the endpoint still throttled (429/503) when the retry budget ran out.
            ConnectorError: the endpoint failed (5xx, transport errors) on every try, or answered
                something that is not a token.
        """
        if not isinstance(self.auth, OAuthClientCredentials):
            return None
        async with self._token_lock:
            if refresh or self._token is None or self._token.expires_at - 60 < time.time():
                self._token = await self._fetch_token(self.auth)
            return self._token

    async def _fetch_token(self, auth: OAuthClientCredentials) -> Token:
        """POST the client-credentials form; retried like any idempotent request (a grant repeated
        after a lost answer only issues another token)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret.get_secret_value(),
        }
        if auth.scope:
            form["scope"] = auth.scope
        call = _Call("POST", auth.token_url, what="token request")
        while True:
            call.attempt += 1
            try:
                response = await self.client.post(auth.token_url, data=form, timeout=self.timeout)
            except httpx.TransportError as exc:
                self.stats.requests += 1
                self.stats.transport_errors += 1
                delay = self._transport_retry(call, exc)
            else:
                self.stats.requests += 1
                if response.status_code == 200:
                    return self._parse_token(response)
                delay = self._token_retry(call, response)
            self.stats.retries += 1
            await asyncio.sleep(delay)

    def _parse_token(self, response: httpx.Response) -> Token:
        try:
            body = response.json()
            token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise ConnectorError(
                "token endpoint answered 200 without an access_token", system=self.system, status=200
            ) from None
        expires_in = float(body.get("expires_in", 3600))
        return Token(token, time.time() + expires_in, body)

    def _token_retry(self, call: _Call, response: httpx.Response) -> float:
        """The wait before retrying a failed token request, or the error to raise: RateLimited or
        ConnectorError for a throttled or failing endpoint, AuthError only for a refusal."""
        status = response.status_code
        self.stats.count_status(status)
        body = _body(response)
        text = redact(str(body)[:300], self._secrets())
        code = body.get("error") if isinstance(body, dict) else None
        if status in RETRY_STATUSES:
            wait = retry_after_seconds(response) if status in THROTTLE_STATUSES else None
            delay = wait if wait is not None else self.retry.backoff(call.attempt)
            if self._out_of_budget(call, delay, honoured=wait is not None):
                throttled = status in THROTTLE_STATUSES
                error = RateLimited if throttled else ConnectorError
                what = "still throttled" if throttled else "still failing"
                raise error(
                    f"token endpoint {what} ({status}) after {call.attempt} attempts: {text}",
                    system=self.system,
                    status=status,
                    body=body,
                )
            log.info("%s token endpoint answered %s; retrying in %.2fs", self.system, status, delay)
            return delay
        if status == 401 or (status == 400 and code in REFUSED_CLIENT_ERRORS):
            message = f"token endpoint refused the client credentials ({status}): {text}"
        elif status in (400, 403):
            message = f"token endpoint rejected the request ({status}): {text}"
        else:
            raise RemoteRejected(
                f"token endpoint answered {status}: {text}", system=self.system, status=status, body=body
            )
        raise AuthError(message, system=self.system, status=status)

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
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request with auth, admission control and retries.

        Args:
            method, url, headers: as httpx.
            expect: statuses returned; any other raises.
            idempotent: whether re-sending after a lost answer is safe; None decides by method
                (POST is not, the others are).
            **kwargs: passed to httpx (json, content, params, timeout...).

        Raises:
            LostResponse: a non-idempotent request was sent and its answer lost.
            RateLimited: still throttled when the retry budget ran out.
            AuthError: 401/403 (after one token refresh).
            RemoteRejected: any other status outside `expect`.
            ConnectorError: server or transport errors on every try.
        """
        call = _Call(method, url, _is_idempotent(method, idempotent), _replayable(kwargs))
        kwargs.setdefault("timeout", self.timeout)
        while True:
            call.attempt += 1
            ticket = await self.limiter.acquire(first=method in READS)
            sent = time.monotonic()
            try:
                all_headers = {**(headers or {}), **await self._auth_headers()}
                response = await self.client.request(method, url, headers=all_headers, **kwargs)
            except httpx.TransportError as exc:
                self.limiter.release(ticket)
                self._count(sent)
                delay = self._after_transport_error(call, exc)
                self.stats.retries += 1
                await asyncio.sleep(delay)
                continue
            except BaseException:
                self.limiter.release(ticket)
                raise
            self._admit_answer(ticket, response, sent)
            # a first 401 and the retried statuses are handled here even when `expect` lists them
            if await self._refreshed_token(call, response):
                continue
            if response.status_code in expect and response.status_code not in RETRY_STATUSES:
                return response
            delay = self._after_status(call, response)
            self.stats.retries += 1
            await asyncio.sleep(delay)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[httpx.Response]:
        """Like `request`, but the body is left to stream (downloads never sit whole in memory).
        Retries happen only before the body starts: bytes already handed out cannot be taken back.
        The request holds its admission slot until the body is read."""
        call = _Call(method, url, _is_idempotent(method, idempotent), _replayable(kwargs))
        kwargs.setdefault("timeout", self.timeout)
        while True:
            call.attempt += 1
            ticket: Ticket | None = await self.limiter.acquire(first=method in READS)
            sent, delay = time.monotonic(), 0.0
            try:
                all_headers = {**(headers or {}), **await self._auth_headers()}
                async with self.client.stream(method, url, headers=all_headers, **kwargs) as response:
                    if response.status_code in expect and response.status_code not in RETRY_STATUSES:
                        try:
                            yield response
                        finally:
                            self._admit_answer(ticket, response, sent)
                            ticket = None
                        return
                    await response.aread()
                    self._admit_answer(ticket, response, sent)
                    ticket = None
                    if await self._refreshed_token(call, response):
                        continue
                    delay = self._after_status(call, response)
            except httpx.TransportError as exc:
                if ticket is None:
                    raise ConnectorError(f"{method} {url} failed while streaming: {exc!r}", system=self.system) from exc
                self.limiter.release(ticket)
                ticket = None
                self._count(sent)
                delay = self._after_transport_error(call, exc)
            finally:
                if ticket is not None:
                    self.limiter.release(ticket)
            self.stats.retries += 1
            await asyncio.sleep(delay)

    # -- retry decisions ---------------------------------------------------------------------
    def _count(self, sent: float) -> None:
        self.stats.requests += 1
        self.stats.busy_seconds += time.monotonic() - sent

    def _admit_answer(self, ticket: Ticket, response: httpx.Response, sent: float) -> None:
        """Count the answer and tell the limiter what it said."""
        self._count(sent)
        status = response.status_code
        self.stats.count_status(status)
        hint = self.rate_hints(response.headers) if self.rate_hints else None
        wait = retry_after_seconds(response) if status in THROTTLE_STATUSES else None
        self.limiter.release(ticket, status=status, retry_after=wait, hint=hint)

    async def _refreshed_token(self, call: _Call, response: httpx.Response) -> bool:
        """On a first 401 with OAuth, fetch a new token (it may have expired) and say to retry."""
        if response.status_code != 401 or call.refreshed or not call.replayable:
            return False
        if not isinstance(self.auth, OAuthClientCredentials):
            return False
        call.refreshed = True
        await self.token(refresh=True)
        return True

    def _out_of_budget(self, call: _Call, delay: float, *, honoured: bool) -> bool:
        """Whether the next try would start after the retry time budget (or past the attempts,
        unless the server said when to come back)."""
        if time.monotonic() + delay - call.started > self.retry.throttled_seconds:
            return True
        return not honoured and call.attempt >= self.retry.attempts

    def _after_transport_error(self, call: _Call, exc: httpx.TransportError) -> float:
        """The wait before re-sending after a transport error, or the error to raise."""
        self.stats.transport_errors += 1
        lost = not isinstance(exc, UNSENT_ERRORS)
        if lost:
            self.stats.lost_responses += 1
        if lost and not call.safe:
            raise LostResponse(
                f"{call.method} {call.url}: the answer was lost after sending ({type(exc).__name__}); the "
                "request may have been applied, so it is not re-sent blindly",
                system=self.system,
            ) from exc
        if not call.replayable:
            raise ConnectorError(
                f"{call.method} {call.url} failed and its streamed body cannot be re-sent: {exc!r}",
                system=self.system,
            ) from exc
        return self._transport_retry(call, exc)

    def _transport_retry(self, call: _Call, exc: httpx.TransportError) -> float:
        delay = self.retry.backoff(call.attempt)
        if self._out_of_budget(call, delay, honoured=False):
            raise ConnectorError(
                f"{call.what} failed after {call.attempt} attempts: {exc!r}", system=self.system
            ) from exc
        log.info("%s %s: %s; retrying in %.2fs", self.system, call.what, type(exc).__name__, delay)
        return delay

    def _after_status(self, call: _Call, response: httpx.Response) -> float:
        """The wait before re-sending after an unexpected status, or the error to raise."""
        status = response.status_code
        if status not in RETRY_STATUSES:
            self._raise_for(response, call.method, call.url)
        body = _body(response)
        if status in UNKNOWN_OUTCOME_STATUSES and not call.safe:
            self.stats.lost_responses += 1
            raise LostResponse(
                f"{call.what} -> {status}: a gateway gave up waiting; the request may have been applied",
                system=self.system,
                status=status,
                body=body,
            )
        throttled = status in THROTTLE_STATUSES
        wait = retry_after_seconds(response) if throttled else None
        # a throttle pauses the whole identity in the limiter; other errors back off this request
        delay = self.limiter.paused_for() if throttled else self.retry.backoff(call.attempt)
        if not call.replayable or self._out_of_budget(call, max(delay, wait or 0.0), honoured=wait is not None):
            error = RateLimited if throttled else RemoteRejected
            reason = "its streamed body cannot be re-sent" if not call.replayable else f"after {call.attempt} attempts"
            raise error(
                f"{call.what} still {'throttled' if throttled else 'failing'} ({status}), {reason}: "
                + redact(str(body)[:300], self._secrets()),
                system=self.system,
                status=status,
                body=body,
            )
        log.info("%s %s -> %s; retrying in %.2fs", self.system, call.what, status, delay)
        return delay

    def _raise_for(self, response: httpx.Response, method: str, url: str) -> NoReturn:
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


def _is_idempotent(method: str, idempotent: bool | None) -> bool:
    return method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent


def _replayable(kwargs: Mapping[str, Any]) -> bool:
    """Whether the request body can be sent again (a stream or generator cannot)."""
    content = kwargs.get("content")
    return content is None or isinstance(content, bytes | bytearray | str | memoryview)


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


__all__ = [
    "AdaptiveLimiter",
    "HeaderAuth",
    "HttpSession",
    "OAuthClientCredentials",
    "RateHeaders",
    "RateHint",
    "RateHintReader",
    "RequestStats",
    "RetryPolicy",
    "SessionSettings",
    "Token",
    "identity_of",
    "redact",
    "retry_after_seconds",
    "shared_limiter",
]


def identity_of(system: str, client: httpx.AsyncClient, auth: Any) -> str:
    """`system|base URL|who` (+ `|<state file>` for an in-process sandbox), without secrets.

    `who` is the OAuth client id, or a digest of a static credential. An in-process sandbox (an ASGI
    app exposing `state.path`, as FaultInjection does) adds its state file: two sandboxes in one
    process are two services, as two tenants would be; an app without one is told apart by object.
    """
    if isinstance(auth, OAuthClientCredentials):
        who = f"client:{auth.client_id}"
    elif isinstance(auth, HeaderAuth):
        who = "key:" + hashlib.sha256(auth.value.get_secret_value().encode()).hexdigest()[:16]
    else:
        who = "anonymous"
    parts = [system, str(client.base_url).rstrip("/"), who]
    app = getattr(getattr(client, "_transport", None), "app", None)
    if app is not None:
        path = getattr(getattr(app, "state", None), "path", None)
        parts.append(f"sandbox:{path}" if path is not None else f"app:{id(app)}")
    return "|".join(parts)
