"""Dataverse emulator: collection queries, $filter subset, paging and counts (checklist 13)."""

from __future__ import annotations

import pytest

from migration_assets.sandbox.dataverse.testing import record_id


async def names(dv, **params) -> list[str]:
    response = await dv.get("accounts", params={"$select": "name", **params})
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["value"]]


@pytest.fixture
async def accounts(dv):
    for index, name in enumerate(["Alpha", "Beta", "Gamma", "Delta", "O'Neil"]):
        body = {"name": name, "numberofemployees": index * 10}
        if index % 2 == 0:
            body["telephone1"] = f"555-{index}"
        await dv.post("accounts", json=body)
    return dv


async def test_filter_eq_string_is_case_insensitive(accounts):
    assert await names(accounts, **{"$filter": "name eq 'alpha'"}) == ["Alpha"]


async def test_filter_ne_and_null(accounts):
    assert sorted(await names(accounts, **{"$filter": "telephone1 eq null"})) == ["Beta", "Delta"]
    assert len(await names(accounts, **{"$filter": "telephone1 ne null"})) == 3


async def test_filter_and_or_parentheses_and_numbers(accounts):
    text = "(numberofemployees ge 30 or name eq 'Alpha') and telephone1 ne null"
    assert sorted(await names(accounts, **{"$filter": text})) == ["Alpha", "O'Neil"]


async def test_filter_contains_and_escaped_quote(accounts):
    assert await names(accounts, **{"$filter": "contains(name,'mm')"}) == ["Gamma"]
    assert await names(accounts, **{"$filter": "name eq 'O''Neil'"}) == ["O'Neil"]


async def test_filter_in_function(accounts):
    text = "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['Beta','Delta'])"
    assert sorted(await names(accounts, **{"$filter": text})) == ["Beta", "Delta"]


async def test_filter_lookup_value_by_guid(dv):
    parent = record_id(await dv.post("accounts", json={"name": "Parent"}))
    await dv.post("accounts", json={"name": "Child", "parentaccountid@odata.bind": f"/accounts({parent})"})
    assert await names(dv, **{"$filter": f"_parentaccountid_value eq {parent}"}) == ["Child"]


async def test_filter_on_unknown_property_is_rejected(accounts):
    response = await accounts.get("accounts", params={"$filter": "Name eq 'x'"})
    assert response.status_code == 400 and "Could not find a property named 'Name'" in response.text


async def test_filter_syntax_error_is_rejected(accounts):
    response = await accounts.get("accounts", params={"$filter": "name eq"})
    assert response.status_code == 400


async def test_orderby_desc(accounts):
    assert await names(accounts, **{"$orderby": "numberofemployees desc"}) == [
        "O'Neil",
        "Delta",
        "Gamma",
        "Beta",
        "Alpha",
    ]


async def test_top_limits_rows(accounts):
    assert len(await names(accounts, **{"$top": "2"})) == 2


async def test_skip_is_not_supported(accounts):
    response = await accounts.get("accounts", params={"$skip": "1"})
    assert response.status_code == 400


async def test_count_true_and_count_segment(accounts):
    body = (await accounts.get("accounts", params={"$count": "true", "$filter": "telephone1 ne null"})).json()
    assert body["@odata.count"] == 3
    response = await accounts.get("accounts/$count")
    assert response.text == "5" and response.headers["content-type"].startswith("text/plain")


async def test_maxpagesize_pages_with_opaque_nextlink(accounts):
    headers = {"Prefer": "odata.maxpagesize=2"}
    response = await accounts.get("accounts", params={"$select": "name", "$orderby": "name asc"}, headers=headers)
    seen, pages = [], 0
    while True:
        body = response.json()
        seen += [r["name"] for r in body["value"]]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "$skiptoken=" in link or "%24skiptoken=" in link
        response = await accounts.get(link, headers=headers)
    assert pages == 3 and seen == ["Alpha", "Beta", "Delta", "Gamma", "O'Neil"]


async def test_paging_does_not_skip_rows_inserted_before_the_cursor(accounts):
    headers = {"Prefer": "odata.maxpagesize=2"}
    first = (await accounts.get("accounts", params={"$select": "name", "$orderby": "name asc"}, headers=headers)).json()
    await accounts.post("accounts", json={"name": "Zulu"})
    second = (await accounts.get(first["@odata.nextLink"], headers=headers)).json()
    assert [r["name"] for r in second["value"]] == ["Delta", "Gamma"]


async def test_maxpagesize_above_5000_is_capped(accounts):
    response = await accounts.get("accounts", headers={"Prefer": "odata.maxpagesize=9000"})
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=5000"


async def test_activitypointers_list_every_activity_table(dv):
    await dv.post("tasks", json={"subject": "t"})
    await dv.post("appointments", json={"subject": "a"})
    response = await dv.get("activitypointers", params={"$select": "subject,activitytypecode"})
    assert sorted(r["activitytypecode"] for r in response.json()["value"]) == ["appointment", "task"]


async def test_expand_single_valued_navigation_property(dv):
    contact = record_id(await dv.post("contacts", json={"firstname": "Ada", "lastname": "Ng"}))
    account = record_id(
        await dv.post("accounts", json={"name": "A", "primarycontactid@odata.bind": f"/contacts({contact})"})
    )
    response = await dv.get(
        f"accounts({account})", params={"$select": "name", "$expand": "primarycontactid($select=fullname)"}
    )
    assert response.json()["primarycontactid"]["fullname"] == "Ada Ng"


async def test_expand_unknown_navigation_property_is_rejected(dv):
    response = await dv.get("accounts", params={"$expand": "primarycontact"})
    assert response.status_code == 400


async def test_filter_datetime_literals_compare_in_utc(dv):
    await dv.post("tasks", json={"subject": "early", "scheduledend": "2024-05-01T10:00:00+02:00"})
    await dv.post("tasks", json={"subject": "late", "scheduledend": "2024-05-01T12:00:00Z"})
    response = await dv.get(
        "tasks", params={"$select": "subject", "$filter": "scheduledend gt 2024-05-01T09:00:00.000Z"}
    )
    assert [r["subject"] for r in response.json()["value"]] == ["late"]


async def test_get_with_current_etag_is_304(dv):
    account = record_id(await dv.post("accounts", json={"name": "A"}))
    etag = (await dv.get(f"accounts({account})")).json()["@odata.etag"]
    assert (await dv.get(f"accounts({account})", headers={"If-None-Match": etag})).status_code == 304


# -- reads answered through indexes give what the filter says, whatever index answers them ----------
async def keyed_accounts(dv, count: int) -> list[str]:
    key = {
        "SchemaName": "cs_accountnumber_key",
        "DisplayName": {"LocalizedLabels": []},
        "KeyAttributes": ["accountnumber"],
    }
    assert (await dv.post("EntityDefinitions(LogicalName='account')/Keys", json=key)).status_code == 204
    return [
        record_id(await dv.post("accounts", json={"name": f"N{i}", "accountnumber": f"A-{i}"})) for i in range(count)
    ]


async def test_in_on_an_alternate_key_matches_case_blind_and_ignores_unknown_values(dv):
    await keyed_accounts(dv, 5)
    values = "'a-1','A-3','nope'"
    got = await names(
        dv, **{"$filter": f"Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=[{values}])"}
    )
    assert sorted(got) == ["N1", "N3"]


async def test_in_on_primary_ids_and_a_further_condition(dv):
    ids = await keyed_accounts(dv, 4)
    listed = ",".join(f"'{i}'" for i in ids[:3])
    flt = f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=[{listed}]) and name ne 'N1'"
    assert sorted(await names(dv, **{"$filter": flt})) == ["N0", "N2"]


async def test_eq_on_a_plain_column_keeps_non_ascii_and_case_blind_matches(dv):
    for name in ("Ångström AB", "ångström ab", "Other"):
        await dv.post("accounts", json={"name": name})
    assert sorted(await names(dv, **{"$filter": "name eq 'ÅNGSTRÖM AB'"})) == ["Ångström AB", "ångström ab"]
    assert await names(dv, **{"$filter": "name eq 'OTHER'"}) == ["Other"]


async def test_keyset_pages_with_a_filter_cover_every_match_once_and_count_all(dv):
    await keyed_accounts(dv, 12)
    seen, url = [], "accounts"
    params = {"$select": "name", "$filter": "startswith(name,'N')", "$count": "true"}
    while url:
        page = (await dv.get(url, params=params, headers={"Prefer": "odata.maxpagesize=5"})).json()
        if params:  # the first page; the next links carry the same query
            assert page["@odata.count"] == 12
        seen += [r["name"] for r in page["value"]]
        url, params = page.get("@odata.nextLink"), None
    assert sorted(seen) == sorted(f"N{i}" for i in range(12))


def test_an_in_filter_matches_exactly_what_comparing_value_by_value_matches():
    """`In` looks values up in sets; every kind of value and literal (text in any case, numbers
    given as text, booleans, null, an unhashable list) must match as `eq` against each would."""
    from itertools import product

    from migration_assets.sandbox.dataverse.odata import compare, one_of

    literals = ["a", "A", "5", "5.0", "x", "nan", 5, 2.5, 1, 0, True, False, None, "true", "abc-DEF"]
    values = [*literals, "B", 3, 5.0, "ABC-def", [1, 2], {"id": "a"}]
    groups = [[], literals[:3], literals[3:8], literals[8:], ["1", True], [0, None, "5"], literals]
    for group, value in product(groups, values):
        assert one_of(group)(value) == any(compare(value, "eq", v) for v in group), (group, value)
