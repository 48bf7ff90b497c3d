"""Dataverse emulator: $batch multipart requests and change sets (checklist 14)."""

from __future__ import annotations

from migration_assets.sandbox.dataverse.testing import batch_body, sandbox_client

PREFIX = "/api/data/v9.2"
MULTIPART = "multipart/mixed; boundary=batch_1"


async def send(dv, items, prefer: str | None = None, body: str | None = None):
    headers = {"Content-Type": MULTIPART}
    if prefer:
        headers["Prefer"] = prefer
    return await dv.post("$batch", content=(body or batch_body("batch_1", items)).encode(), headers=headers)


async def count(dv, entity_set: str) -> int:
    return int((await dv.get(f"{entity_set}/$count")).text)


def statuses(response) -> list[int]:
    return [int(line.split()[1]) for line in response.text.split("\r\n") if line.startswith("HTTP/1.1 ")]


async def test_change_set_with_content_id_reference(dv):
    change_set = (
        "changeset",
        "changeset_1",
        [
            ("POST", f"{PREFIX}/accounts", {"name": "A"}, {}),
            ("POST", f"{PREFIX}/contacts", {"lastname": "Ng", "parentcustomerid_account@odata.bind": "$1"}, {}),
        ],
        None,
    )
    response = await send(dv, [change_set])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "--changesetresponse_" in response.text and statuses(response) == [204, 204]
    assert "OData-EntityId: http://dataverse.sandbox/api/data/v9.2/accounts(" in response.text
    contact = (await dv.get("contacts", params={"$select": "_parentcustomerid_value"})).json()["value"][0]
    assert contact["_parentcustomerid_value"]


async def test_lf_only_line_ends_are_not_readable(dv):
    body = batch_body("batch_1", [("GET", f"{PREFIX}/accounts", None, {})]).replace("\r\n", "\n")
    response = await send(dv, None, body=body)
    assert response.status_code == 400 and response.json()["error"]["message"] == "Stream was not readable."


async def test_failed_change_set_rolls_back_everything(dv):
    change_set = (
        "changeset",
        "changeset_1",
        [("POST", f"{PREFIX}/accounts", {"name": "A"}, {}), ("POST", f"{PREFIX}/accounts", {"bogus": 1}, {})],
        None,
    )
    response = await send(dv, [change_set])
    assert response.status_code == 400 and statuses(response) == [400]
    assert await count(dv, "accounts") == 0


async def test_undeclared_content_id_reference_is_rejected(dv):
    change_set = (
        "changeset",
        "changeset_1",
        [("POST", f"{PREFIX}/contacts", {"lastname": "Ng", "parentcustomerid_account@odata.bind": "$7"}, {})],
        None,
    )
    response = await send(dv, [change_set])
    assert "Content-ID Reference: '$7' does not exist in the batch context." in response.text
    assert await count(dv, "contacts") == 0


async def test_get_inside_change_set_is_rejected(dv):
    change_set = ("changeset", "changeset_1", [("GET", f"{PREFIX}/accounts", None, {})], None)
    response = await send(dv, [change_set])
    assert response.status_code == 400


async def test_stops_at_first_failure_by_default(dv):
    items = [
        ("POST", f"{PREFIX}/accounts", {"name": "A"}, {}),
        ("POST", f"{PREFIX}/accounts", {"bogus": 1}, {}),
        ("POST", f"{PREFIX}/accounts", {"name": "C"}, {}),
    ]
    response = await send(dv, items)
    assert response.status_code == 400 and statuses(response) == [204, 400]
    assert await count(dv, "accounts") == 1


async def test_continue_on_error_runs_every_part(dv):
    items = [
        ("POST", f"{PREFIX}/accounts", {"name": "A"}, {}),
        ("POST", f"{PREFIX}/accounts", {"bogus": 1}, {}),
        ("POST", f"{PREFIX}/accounts", {"name": "C"}, {}),
    ]
    response = await send(dv, items, prefer="odata.continue-on-error")
    assert response.status_code == 200 and statuses(response) == [204, 400, 204]
    assert await count(dv, "accounts") == 2


async def test_part_prefer_return_representation_is_honoured(dv):
    items = [("POST", f"{PREFIX}/accounts", {"name": "A"}, {"Prefer": "return=representation"})]
    response = await send(dv, items)
    assert statuses(response) == [201] and '"name": "A"' in response.text


async def test_more_than_1000_operations_is_rejected(dv):
    items = [("GET", f"{PREFIX}/accounts", None, {})] * 1001
    response = await send(dv, items)
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


async def test_batch_counts_once_toward_request_limit(tmp_path):
    async with sandbox_client(tmp_path / "limited.sqlite", requests_per_window=2) as dv:
        items = [("POST", f"{PREFIX}/accounts", {"name": str(i)}, {}) for i in range(5)]
        assert (await send(dv, items)).status_code == 200
        assert (await dv.get("accounts/$count")).text == "5"
        assert (await dv.get("accounts/$count")).status_code == 429


async def test_change_sets_before_a_failure_stay_written(dv):
    body = batch_body(
        "b",
        [
            ("changeset", "c1", [("POST", "/api/data/v9.2/accounts", {"name": "kept"}, {})], None),
            ("changeset", "c2", [("POST", "/api/data/v9.2/accounts", {"bogus": 1}, {})], None),
            ("changeset", "c3", [("POST", "/api/data/v9.2/accounts", {"name": "never run"}, {})], None),
        ],
    )
    response = await dv.post("$batch", content=body.encode(), headers={"Content-Type": "multipart/mixed; boundary=b"})
    names = [a["name"] for a in (await dv.get("accounts", params={"$select": "name"})).json()["value"]]
    assert response.status_code == 400 and names == ["kept"]
