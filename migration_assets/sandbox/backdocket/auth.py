"""The OAuth 2.0 client-credentials token endpoint of the BackDocket emulator and bearer checks.

BackDocket's only public programmatic surface is an MCP server protected by OAuth; the REST shape
here is ours. Real (RFC 6749): `POST /oauth/token` with a form body, client credentials in the form
(`client_secret_post`) or in HTTP Basic (`client_secret_basic`), the success body
`{"access_token", "token_type": "Bearer", "expires_in"}` and error bodies
`{"error", "error_description"}` (400 invalid_request / unsupported_grant_type / invalid_scope,
401 invalid_client). Our choices: opaque random tokens kept in SQLite (every process sees them),
the lifetime option `token_lifetime_seconds` (default 3600), the only scope "read", and no rate
limit on the token endpoint (the limit counts data calls per token owner).
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from migration_assets.sandbox.backdocket import store
from migration_assets.sandbox.backdocket.render import ApiError

FORM = "application/x-www-form-urlencoded"
FORM_FIELDS = frozenset({"grant_type", "client_id", "client_secret", "scope"})
SCOPES = frozenset({"read"})


class OAuthRefusal(Exception):
    """A token request refused with an RFC 6749 error (status, error code, description)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _form(raw: bytes, content_type: str) -> dict[str, str]:
    if content_type.split(";")[0].strip().lower() != FORM:
        raise OAuthRefusal(400, "invalid_request", f"The token request body must be {FORM}.")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError):
        raise OAuthRefusal(400, "invalid_request", "The token request body is not a valid form.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name not in FORM_FIELDS:
            raise OAuthRefusal(400, "invalid_request", f"Unknown parameter '{name}'.")
        if name in form:
            raise OAuthRefusal(400, "invalid_request", f"Parameter '{name}' is given more than once.")
        form[name] = value
    return form


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise OAuthRefusal(401, "invalid_client", "The Basic credentials are malformed.") from None
    if not sep:
        raise OAuthRefusal(401, "invalid_client", "The Basic credentials are malformed.")
    return unquote(client_id), unquote(secret)


def _client(form: dict[str, str], authorization: str) -> tuple[str, str]:
    basic = _basic(authorization) if authorization else None
    if basic is not None and ("client_id" in form or "client_secret" in form):
        raise OAuthRefusal(400, "invalid_request", "Use one client authentication method, not two.")
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not secret:
        raise OAuthRefusal(401, "invalid_client", "Client authentication failed: credentials are missing.")
    return client_id, secret


def issue(conn: sqlite3.Connection, raw: bytes, content_type: str, authorization: str) -> dict[str, Any]:
    """Check a token request and store a new token.

    Returns:
        The success body.

    Raises:
        OAuthRefusal: the RFC 6749 error to answer.
    """
    form = _form(raw, content_type)
    if "grant_type" not in form:
        raise OAuthRefusal(400, "invalid_request", "'grant_type' is required.")
    if form["grant_type"] != "client_credentials":
        raise OAuthRefusal(400, "unsupported_grant_type", "Only the client_credentials grant is supported.")
    client_id, secret = _client(form, authorization)
    opts = store.options(conn)
    expected = dict(opts["clients"]).get(client_id)
    if expected is None or not secrets.compare_digest(secret.encode(), str(expected).encode()):
        raise OAuthRefusal(401, "invalid_client", "Client authentication failed.")
    if "scope" in form and form["scope"] not in SCOPES:
        raise OAuthRefusal(400, "invalid_scope", f"Unknown scope '{form['scope']}' (known: read).")
    lifetime = int(opts["token_lifetime_seconds"])
    token = secrets.token_urlsafe(32)
    conn.execute("delete from tokens where expires_at < ?", (time.time() - 86400,))
    conn.execute("insert into tokens values (?, ?, ?)", (token, client_id, time.time() + lifetime))
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}


def token_owner(conn: sqlite3.Connection, authorization: str | None) -> str:
    """The client id behind `Authorization: Bearer <token>`.

    Raises:
        ApiError: 401 `unauthorized` (no bearer token), `invalid_token` (unknown) or `token_expired`.
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "A bearer token is required (Authorization: Bearer <token>).")
    row = conn.execute("select client_id, expires_at from tokens where token = ?", (token.strip(),)).fetchone()
    if row is None:
        raise ApiError(401, "invalid_token", "The access token is not valid.")
    if row["expires_at"] <= time.time():
        raise ApiError(401, "token_expired", "The access token has expired.")
    return str(row["client_id"])


def expire_tokens(state_path: Path) -> int:
    """Expire every token issued so far, as if their lifetime had run out (for expiry tests).

    Returns:
        How many tokens were expired.
    """
    with store.open_state(Path(state_path)).connect() as conn:
        return conn.execute("update tokens set expires_at = ?", (time.time() - 1,)).rowcount
