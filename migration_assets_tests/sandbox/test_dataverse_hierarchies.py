"""Dataverse emulator: an account may not become its own ancestor (0x80040507), directly or through
a chain of parents; a write refused for it changes nothing."""

from __future__ import annotations

from migration_assets.sandbox.dataverse.testing import record_id

LOOP = "Creating this parental association would create a loop in Accounts hierarchy."


async def account(dv, name: str, parent: str | None = None) -> str:
    body = {"name": name, **({"parentaccountid@odata.bind": f"/accounts({parent})"} if parent else {})}
    return record_id(await dv.post("accounts", json=body))


def assert_loop(response) -> None:
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "0x80040507", "message": LOOP}


async def test_an_account_cannot_be_its_own_parent(dv):
    a = await account(dv, "A")
    assert_loop(await dv.patch(f"accounts({a})", json={"parentaccountid@odata.bind": f"/accounts({a})"}))


async def test_a_parent_that_descends_from_the_account_is_refused_and_nothing_changes(dv):
    a = await account(dv, "A")
    b = await account(dv, "B", parent=a)
    c = await account(dv, "C", parent=b)
    assert_loop(await dv.patch(f"accounts({a})", json={"parentaccountid@odata.bind": f"/accounts({c})"}))
    read = await dv.get(f"accounts({a})", params={"$select": "_parentaccountid_value"})
    assert read.json()["_parentaccountid_value"] is None


async def test_a_chain_without_a_loop_and_clearing_a_parent_are_accepted(dv):
    a = await account(dv, "A")
    b = await account(dv, "B", parent=a)
    c = await account(dv, "C")
    assert (await dv.patch(f"accounts({c})", json={"parentaccountid@odata.bind": f"/accounts({b})"})).status_code == 204
    assert (await dv.patch(f"accounts({b})", json={"parentaccountid@odata.bind": None})).status_code == 204
    assert (await dv.patch(f"accounts({a})", json={"parentaccountid@odata.bind": f"/accounts({c})"})).status_code == 204
