"""Salesforce connector: token and instance_url, registry wiring, secrets kept out of errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from migration_assets.connectors import open_destination, resolve_connection
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.connectors.salesforce.system import SYSTEM
from migration_assets.errors import AuthError, RemoteRejected


def connect(tmp_path: Path, **changes: object) -> SalesforceDestination:
    conn = resolve_connection("salesforce", state_dir=tmp_path, environ={})
    return SalesforceDestination.from_connection(replace(conn, **changes))


def test_env_names_point_at_login_url_and_connected_app() -> None:
    ENV = SYSTEM.env
    assert (ENV.base_url, ENV.token_url) == ("SALESFORCE_LOGIN_URL", "SALESFORCE_TOKEN_URL")
    assert (ENV.client_id, ENV.client_secret) == ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET")


def test_real_org_connection_comes_from_the_environment(tmp_path: Path) -> None:
    environ = {
        "SALESFORCE_LOGIN_URL": "https://acme.my.salesforce.com/",
        "SALESFORCE_CLIENT_ID": "id",
        "SALESFORCE_CLIENT_SECRET": "s3cret",
    }
    conn = resolve_connection("salesforce", state_dir=tmp_path, environ=environ)
    sf = SalesforceDestination.from_connection(conn)
    assert not conn.sandbox and sf.session.auth.token_url == "https://acme.my.salesforce.com/services/oauth2/token"
    assert "s3cret" not in repr(conn)


async def test_data_calls_use_the_instance_url_from_the_token(tmp_path: Path) -> None:
    conn = resolve_connection("salesforce", state_dir=tmp_path, environ={})
    sf = open_destination("salesforce", conn)
    assert isinstance(sf, SalesforceDestination)
    token = await sf.session.token()
    assert token and token.extra["instance_url"] == "http://salesforce.sandbox"
    assert await sf.client.url("/limits") == "http://salesforce.sandbox/services/data/v62.0/limits"
    assert "Account" in (await sf.describe(["Account"])).tables
    await sf.aclose()


async def test_bad_client_secret_raises_auth_error_without_the_secret(tmp_path: Path) -> None:
    sf = connect(tmp_path, client_secret=SecretStr("wrong-secret-123"))
    with pytest.raises(AuthError) as caught:
        await sf.describe(["Account"])
    assert "wrong-secret-123" not in str(caught.value) and "invalid_client" in str(caught.value)
    await sf.aclose()


async def test_rejected_request_error_shows_neither_secret_nor_token(tmp_path: Path) -> None:
    sf = connect(tmp_path)
    with pytest.raises(RemoteRejected) as caught:
        await sf.read_back("Account", "Name", ["x"], ["Foo__c"])
    token = await sf.session.token()
    message = str(caught.value)
    assert "INVALID_FIELD" in message and token and token.access_token not in message
    assert "sf-sandbox-secret" not in message
    await sf.aclose()


async def test_expired_session_is_renewed_once(tmp_path: Path) -> None:
    sf = connect(tmp_path)
    token = await sf.session.token()
    assert token
    token.access_token = "00Dexpired!token"  # the org no longer knows this session
    assert "Account" in (await sf.describe(["Account"])).tables
    await sf.aclose()
