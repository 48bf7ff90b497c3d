"""Salesforce connector features the Case Status pair needs: users, create-only fields on re-runs,
and the load estimate against the daily budget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from migration_assets.connectors import resolve_connection
from migration_assets.connectors.base import LookupRef, TableRequirement, UpsertRow
from migration_assets.connectors.salesforce import SalesforceDestination
from migration_assets.sandbox.salesforce.seed import seed_user_rows

ACCOUNT_KEY, CONTACT_KEY, LINK_KEY = "Account_External_ID__c", "Contact_External_ID__c", "ACR_External_ID__c"


@pytest.fixture
async def sf(tmp_path: Path):
    conn = resolve_connection("salesforce", state_dir=tmp_path, environ={})
    connector = SalesforceDestination.from_connection(replace(conn, options={"bulk_poll_interval": 0.001}))
    await connector.apply_schema(
        [
            TableRequirement("Account", keys={ACCOUNT_KEY: (ACCOUNT_KEY,)}),
            TableRequirement("Contact", keys={CONTACT_KEY: (CONTACT_KEY,)}),
            TableRequirement("AccountContactRelation", keys={LINK_KEY: (LINK_KEY,)}),
        ]
    )
    yield connector
    await connector.aclose()


async def test_users_lists_every_user_with_email_name_and_active_flag(sf: SalesforceDestination, tmp_path: Path):
    seed_user_rows(
        tmp_path / "salesforce.sqlite",
        [
            {"Username": "ann@firm.example", "Email": "Ann@Firm.example", "FirstName": "Ann", "LastName": "Lee"},
            {"Username": "bo@firm.example", "Email": "bo@firm.example", "LastName": "Bo", "IsActive": False},
        ],
    )
    users = {u.email: u for u in await sf.users()}
    assert users["Ann@Firm.example"].name == "Ann Lee" and users["Ann@Firm.example"].active
    assert not users["bo@firm.example"].active
    assert all(u.id.startswith("005") for u in users.values())


@pytest.mark.parametrize("bulk_threshold", [1000, 1])
async def test_rerun_of_a_link_with_create_only_fields_updates_instead_of_failing(sf, bulk_threshold: int):
    sf.bulk_threshold = bulk_threshold  # Collections, then Bulk API 2.0
    (account,) = await sf.upsert("Account", ACCOUNT_KEY, [UpsertRow("a1", {"Name": "Firm"})])
    (contact,) = await sf.upsert("Contact", CONTACT_KEY, [UpsertRow("c1", {"LastName": "Ng"})])
    link = UpsertRow(
        "a1:c1",
        {"Roles": "Other"},
        {
            "AccountId": LookupRef("Account", account.destination_id),
            "ContactId": LookupRef("Contact", contact.destination_id),
        },
    )
    (first,) = await sf.upsert("AccountContactRelation", LINK_KEY, [link])
    (second,) = await sf.upsert("AccountContactRelation", LINK_KEY, [link])  # AccountId is create-only
    assert first.ok and first.operation == "created", first
    assert second.ok and second.operation == "updated" and second.destination_id == first.destination_id, second


async def test_estimate_load_counts_calls_per_path_against_the_remaining_budget(sf: SalesforceDestination):
    sf.bulk_threshold = 1000
    estimate = await sf.estimate_load("Account", [1000, 1000, 150])
    assert estimate["bulk_batches"] == 2 and estimate["collections_batches"] == 1
    # reads: 5 + 5 + 1 queries; writes: 2 Bulk jobs of (5 + 3 polls) + 1 Collections call
    assert estimate["calls"] == 11 + 16 + 1
    assert estimate["remaining"] == estimate["max"] - estimate["used"] and estimate["fits"]
