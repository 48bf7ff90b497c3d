"""Salesforce emulator: the SOQL subset on /query, paging, COUNT(), errors, /queryAll, tooling query."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migration_assets.sandbox.salesforce import seed
from migration_assets.sandbox.salesforce.testing import data_url, sandbox_client


@pytest.fixture
async def client(tmp_path):
    path = tmp_path / "sf.sqlite"
    seed.reset(path, query_batch_size=2)
    seed.seed_records(
        path,
        "Account",
        [{"Name": n, "NumberOfEmployees": i} for i, n in enumerate(["Acme", "Globex", "Initech", "Umbrella", "Hooli"])],
    )
    async with sandbox_client(path) as client:
        yield client


async def soql(client, text: str):
    return await client.get(data_url("query?q=" + quote(text)))


async def test_in_filter_order_by_and_limit(client):
    body = (
        await soql(
            client,
            "SELECT Name FROM Account WHERE Name IN ('Acme','Hooli','Nope') ORDER BY Name DESC LIMIT 5",
        )
    ).json()
    assert [r["Name"] for r in body["records"]] == ["Hooli", "Acme"]
    assert body["records"][0]["attributes"]["type"] == "Account"


async def test_and_or_with_null_and_comparison(client):
    text = "SELECT Name FROM Account WHERE (NumberOfEmployees >= 3 OR Name = 'acme') AND Phone = null ORDER BY Name"
    body = (await soql(client, text)).json()
    assert body["totalSize"] == 3
    assert [r["Name"] for r in body["records"]] == ["Acme", "Hooli"]  # first page of 2


async def test_paging_follows_next_records_url_until_done(client):
    first = (await soql(client, "SELECT Name FROM Account ORDER BY Name")).json()
    names, body = [r["Name"] for r in first["records"]], first
    while not body["done"]:
        body = (await client.get(body["nextRecordsUrl"])).json()
        names += [r["Name"] for r in body["records"]]
    assert first["totalSize"] == 5 and first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert names == ["Acme", "Globex", "Hooli", "Initech", "Umbrella"]


async def test_count_returns_total_size_without_records(client):
    body = (await soql(client, "SELECT COUNT() FROM Account WHERE NumberOfEmployees > 1")).json()
    assert body == {"totalSize": 3, "done": True, "records": []}


async def test_malformed_query_is_400_malformed_query(client):
    response = await soql(client, "SELECT Name FROM Account WHERE")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


async def test_unknown_column_is_400_invalid_field(client):
    response = await soql(client, "SELECT Name, Foo__c FROM Account")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


async def test_unknown_object_is_400_invalid_type(client):
    response = await soql(client, "SELECT Id FROM Matter__c")
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


async def test_quoted_number_is_malformed_query(client):
    response = await soql(client, "SELECT Id FROM Account WHERE NumberOfEmployees = '3'")
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


async def test_relationship_field_returns_nested_parent(client):
    account = (await soql(client, "SELECT Id FROM Account WHERE Name = 'Acme'")).json()["records"][0]["Id"]
    await client.post(data_url("sobjects/Contact"), json={"LastName": "Ng", "AccountId": account})
    body = (await soql(client, "SELECT LastName, Account.Name FROM Contact WHERE Account.Name LIKE 'ac%'")).json()
    [record] = body["records"]
    assert record["Account"]["Name"] == "Acme"
    assert record["Account"]["attributes"]["type"] == "Account"


async def test_query_all_includes_deleted_rows(client):
    account = (await soql(client, "SELECT Id FROM Account WHERE Name = 'Acme'")).json()["records"][0]["Id"]
    await client.delete(data_url(f"sobjects/Account/{account}"))
    live = (await soql(client, "SELECT COUNT() FROM Account")).json()["totalSize"]
    everything = (await client.get(data_url("queryAll?q=" + quote("SELECT Id, IsDeleted FROM Account")))).json()
    assert live == 4
    assert everything["totalSize"] == 5


async def test_tooling_query_finds_custom_field_ids(client):
    field = {
        "FullName": "Case.Practice_Area__c",
        "Metadata": {
            "label": "Practice Area",
            "type": "Picklist",
            "valueSet": {"restricted": True, "valueSetDefinition": {"value": [{"fullName": "Family"}]}},
        },
    }
    created = (await client.post(data_url("tooling/sobjects/CustomField"), json=field)).json()
    q = "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE TableEnumOrId = 'Case'"
    body = (await client.get(data_url("tooling/query?q=" + quote(q)))).json()
    assert [(r["Id"], r["DeveloperName"]) for r in body["records"]] == [(created["id"], "Practice_Area")]


async def test_date_literal_on_datetime_field_is_malformed_query(client):
    response = await soql(client, "SELECT Id FROM Account WHERE CreatedDate > 2020-01-01")
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


async def test_datetime_literal_with_offset_filters_created_date(client):
    body = (await soql(client, "SELECT COUNT() FROM Account WHERE CreatedDate > 2020-01-01T00:00:00+01:00")).json()
    assert body["totalSize"] == 5


async def test_post_to_query_is_405(client):
    response = await client.post(data_url("query"), json={})
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
