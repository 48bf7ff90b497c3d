"""The Dataverse emulator's optional realistic server model, its drive listing, WhoAmI and its
several application users (each rule its own test; no sleeps: the model's waits are the server's)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from migration_assets.sandbox.dataverse import bootstrap, store
from migration_assets.sandbox.dataverse.app import create_app
from migration_assets.sandbox.dataverse.seed import reset
from migration_assets.sandbox.dataverse.server_model import REALISTIC, ServerModel
from migration_assets.sandbox.dataverse.testing import HOST, TOKEN_PATH, sandbox_client, token_form

DRIVE = "/graph/v1.0/sites/sandbox/drive"


async def test_modelled_server_time_is_what_the_execution_time_limit_counts(tmp_path: Path) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state, server_model="realistic", latency_ms=0, ms_per_operation=150, execution_ms_per_window=300)
    async with sandbox_client(state) as client:
        answers = [await client.post("accounts", json={"name": f"Firm {n}"}) for n in range(3)]
    assert [a.status_code for a in answers[:2]] == [204, 204]  # 2 x 150 ms of modelled server time
    assert answers[2].status_code == 429
    assert answers[2].json()["error"]["code"] == "0x80072321"
    assert int(answers[2].headers["Retry-After"]) >= 1


async def test_without_the_model_a_request_counts_what_it_took(tmp_path: Path) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state, execution_ms_per_window=300)
    async with sandbox_client(state) as client:
        answers = [await client.post("accounts", json={"name": f"Firm {n}"}) for n in range(3)]
    assert [a.status_code for a in answers] == [204, 204, 204]


def test_an_unknown_server_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown server_model"):
        ServerModel.from_options({"server_model": "fast"})


def test_ceiling_is_the_least_of_the_three_limits_and_names_it() -> None:
    model = ServerModel.from_options({"server_model": "realistic"})
    assert model is not None
    limits = {"requests_per_window": 6000, "window_seconds": 300, "execution_ms_per_window": 1_200_000}
    ceiling = model.ceiling({**limits, "max_concurrency": 52}, 100)
    # 20 requests/s x 100 = 2,000/s; 4,000 ms/s / 10 ms = 400/s; 52 x 100 / 1.04 s = 5,000/s
    assert ceiling["binding"] == "execution_time"
    assert ceiling["records_per_second"] == pytest.approx(4000 / REALISTIC["ms_per_operation"])
    assert model.ceiling({**limits, "max_concurrency": 52}, 1)["binding"] == "requests"


async def test_drive_delta_lists_every_file_in_pages_with_parent_paths(tmp_path: Path) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state)
    async with sandbox_client(state) as client:
        for path in ("a/one.txt", "a/b/two.txt", "three.txt"):
            put = await client.put(f"{HOST}{DRIVE}/root:/{path}:/content", content=b"x" * 3)
            assert put.status_code == 201
        first = (await client.get(f"{HOST}{DRIVE}/root/delta", params={"$top": 2})).json()
        second = (await client.get(first["@odata.nextLink"])).json()
    assert [i["name"] for i in first["value"]] == ["two.txt", "one.txt"]  # path order: a/b/two, a/one
    assert first["value"][0]["parentReference"]["path"] == "/drive/root:/a/b"
    assert [i["name"] for i in second["value"]] == ["three.txt"] and "@odata.deltaLink" in second
    assert "@odata.nextLink" not in second


async def test_who_am_i_answers_the_calling_application_user(tmp_path: Path) -> None:
    state = tmp_path / "dv.sqlite"
    reset(state)
    async with sandbox_client(state) as client:
        body = (await client.get("WhoAmI")).json()
    assert body["UserId"] == bootstrap.APP_USER_ID and body["BusinessUnitId"] and body["OrganizationId"]


async def test_a_further_application_user_gets_a_token_only_when_enabled(tmp_path: Path) -> None:
    state = tmp_path / "dv.sqlite"
    client_id, secret = store.app_user(2)
    form = {**token_form(), "client_id": client_id, "client_secret": secret}
    for app_users, status in ((1, 400), (2, 200)):
        reset(state, app_users=app_users)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state)), base_url=HOST) as bare:
            answer = await bare.post(TOKEN_PATH, data=form)
        assert answer.status_code == status
    assert answer.json()["access_token"]
