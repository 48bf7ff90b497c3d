"""Where and how to reach one system (a real tenant, or the in-process sandbox emulator)."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client of the process: loading the certificate store takes tens
    of milliseconds, which each extract step (a client of its own) would pay again."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Connection:
    """Where and how to reach one system; `transport` is set for the in-process sandbox."""

    system: str
    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_key: SecretStr | None = None
    transport: httpx.AsyncBaseTransport | None = None
    sandbox: bool = False
    options: Mapping[str, Any] | None = None
    # further identities of the same tenant (application users): (client id, secret) each
    extra_credentials: tuple[tuple[str, SecretStr], ...] = ()

    def http_client(self, *, timeout: float | httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
        # No cookie jar on purpose: Dataverse recommends dropping the affinity cookie.
        return httpx.AsyncClient(
            base_url=self.base_url,
            transport=self.transport,
            verify=_tls(),
            timeout=timeout,
            cookies=None,
            follow_redirects=False,
        )

    def describe(self) -> dict[str, Any]:
        """Which target this is, safe to show in logs, metadata and reports (no secrets)."""
        target = "sandbox (in-process emulator)" if self.sandbox else self.base_url
        return {"system": self.system, "target": target, "base_url": self.base_url, "sandbox": self.sandbox}
