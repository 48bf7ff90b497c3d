"""DataverseDestination against the strict Dataverse emulator (in process, no HTTP mocking)."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import pytest

from migration_assets.connectors.base import ColumnRequirement, LookupRef, TableRequirement, UpsertRow
from migration_assets.connectors.dataverse import DataverseDestination
from migration_assets.connectors.registry import open_destination, resolve_connection
from migration_assets.errors import AuthError, MigrationError
from migration_assets.sandbox._common import SqliteState

pytest.importorskip("migration_assets.sandbox.dataverse.app")
from migration_assets.sandbox.dataverse.seed import seed_records, snapshot
from migration_assets_tests.connectors.destinations import connect_dataverse

EXT = "cs_externalid"


def connector(state: Path, *, secret: str = "dv-sandbox-secret", **options) -> DataverseDestination:
    """A connector with the `cs` publisher over the emulator at `state`."""
    return connect_dataverse(state, client_secret=secret, publisher_prefix="cs", **options)


def set_options(state: Path, **values) -> None:
    """Sandbox options, written the way `migrate sandbox reset --option` does."""
    SqliteState(state, "").set_options(values)


def key_requirement(table: str) -> TableRequirement:
    return TableRequirement(
        table,
        columns=(ColumnRequirement(EXT, "string", max_length=100),),
        keys={"cs_externalid_key": (EXT,)},
    )


@pytest.fixture
async def dv(state: Path):
    async with aclosing(connector(state)) as destination:
        yield destination


@pytest.fixture
async def keyed(dv: DataverseDestination) -> DataverseDestination:
    """The connector after adding the external-id key to account, contact and task."""
    await dv.apply_schema([key_requirement("account"), key_requirement("contact"), key_requirement("task")])
    return dv


# -- describe / apply_schema --------------------------------------------------------------------
async def test_describe_maps_standard_tables_types_options_and_lookups(dv: DataverseDestination):
    schema = await dv.describe(["contact", "incident"])
    incident = schema.tables["incident"]
    assert incident.primary_id == "incidentid"
    assert incident.columns["title"].type == "string" and incident.columns["title"].max_length == 200
    assert incident.columns["customerid"].type == "lookup" and incident.columns["customerid"].required
    assert set(incident.columns["customerid"].targets) == {"account", "contact"}
    assert incident.columns["prioritycode"].options["High"] == 1
    assert incident.columns["statuscode"].type == "picklist"
    assert schema.tables["contact"].columns["lastname"].required is False  # ApplicationRequired only
    assert "custom_table_count" in schema.facts and "request_limits" in schema.facts
    meta = await dv.meta.table("contact")
    assert meta.nav("parentcustomerid", "account") == "parentcustomerid_account"


async def test_apply_schema_creates_table_columns_picklist_lookup_and_key_then_is_idempotent(dv):
    matter = TableRequirement(
        "cs_matter",
        custom=True,
        label="Matter",
        columns=(
            ColumnRequirement("cs_name", "string", max_length=300),
            ColumnRequirement(EXT, "string", max_length=100),
            ColumnRequirement("cs_stage", "picklist", options=("Intake", "Closed")),
            ColumnRequirement("cs_opened", "date"),
            ColumnRequirement("cs_case", "lookup", target="incident"),
        ),
        keys={"cs_matter_ext": (EXT,)},
    )
    actions = await dv.apply_schema([matter])
    assert "created table cs_matter" in actions
    assert any(a.startswith("created lookup cs_matter.cs_case") for a in actions)
    table = (await dv.describe(["cs_matter"])).tables["cs_matter"]
    assert table.custom
    assert table.columns["cs_stage"].options == {"Intake": 100000000, "Closed": 100000001}
    assert table.columns["cs_opened"].type == "datetime"
    assert table.columns["cs_case"].targets == ("incident",)
    assert (EXT,) in table.keys.values()
    assert (await dv.meta.table("cs_matter")).nav("cs_case", "incident") == "cs_Case"
    assert await dv.apply_schema([matter]) == []


async def test_apply_schema_adds_missing_option_labels_to_existing_picklists(dv):
    req = TableRequirement("incident", columns=(ColumnRequirement("prioritycode", "picklist", options=("Urgent",)),))
    assert "added option 'Urgent' to incident.prioritycode" in await dv.apply_schema([req])
    options = (await dv.describe(["incident"])).tables["incident"].columns["prioritycode"].options
    assert options["Urgent"] >= 100000000
    assert await dv.apply_schema([req]) == []


async def test_apply_schema_conflict_names_table_column_and_types(dv):
    req = TableRequirement("contact", columns=(ColumnRequirement("lastname", "integer"),))
    with pytest.raises(MigrationError, match=r"contact\.lastname exists as string but the spec needs integer"):
        await dv.apply_schema([req])


async def test_apply_schema_refuses_to_exceed_the_custom_table_limit(state: Path):
    set_options(state, tier="professional", custom_table_limit=1)
    dv = connector(state)
    try:
        with pytest.raises(MigrationError, match="custom table limit of 1"):
            await dv.apply_schema([TableRequirement("cs_a", custom=True), TableRequirement("cs_b", custom=True)])
        assert "cs_a" not in await dv.meta.entities()  # nothing was created
    finally:
        await dv.aclose()


# -- upsert / read_back ---------------------------------------------------------------------------
def contacts(*names: str, **extra) -> list[UpsertRow]:
    return [UpsertRow(f"C-{i}", {"lastname": n, EXT: f"C-{i}", **extra}) for i, n in enumerate(names)]


async def test_upsert_creates_then_updates_without_duplicates(keyed):
    first = await keyed.upsert("contact", EXT, contacts("Ng", "Okafor", "Silva"))
    assert [r.operation for r in first] == ["created"] * 3 and all(r.destination_id for r in first)
    second = await keyed.upsert("contact", EXT, contacts("Ng2", "Okafor2", "Silva2"))
    assert [r.operation for r in second] == ["updated"] * 3
    assert [r.destination_id for r in second] == [r.destination_id for r in first]
    assert await keyed.count("contact", EXT) == 3
    back = await keyed.read_back("contact", EXT, ["C-0", "C-2", "C-9"], ["lastname"])
    assert back == {
        "C-0": {"id": first[0].destination_id, "lastname": "Ng2"},
        "C-2": {"id": first[2].destination_id, "lastname": "Silva2"},
    }


async def test_upsert_binds_lookups_and_read_back_returns_target_ids(keyed):
    [account] = await keyed.upsert("account", EXT, [UpsertRow("A-1", {"name": "Acme"})])
    row = UpsertRow("C-1", {"lastname": "Ng"}, {"parentcustomerid": LookupRef("account", account.destination_id)})
    [result] = await keyed.upsert("contact", EXT, [row])
    assert result.ok, result.error
    back = await keyed.read_back("contact", EXT, ["C-1"], ["lastname", "parentcustomerid"])
    assert back["C-1"]["parentcustomerid"] == account.destination_id


async def test_null_lookup_clears_the_binding_on_update(keyed):
    [account] = await keyed.upsert("account", EXT, [UpsertRow("A-1", {"name": "Acme"})])
    bound = UpsertRow("C-1", {"lastname": "Ng"}, {"parentcustomerid": LookupRef("account", account.destination_id)})
    await keyed.upsert("contact", EXT, [bound])
    cleared = UpsertRow("C-1", {"lastname": "Ng"}, {"parentcustomerid": LookupRef("account", None)})
    new = UpsertRow("C-2", {"lastname": "Po"}, {"parentcustomerid": LookupRef("account", None)})
    results = await keyed.upsert("contact", EXT, [cleared, new])
    assert [r.operation for r in results] == ["updated", "created"], [r.error for r in results]
    back = await keyed.read_back("contact", EXT, ["C-1", "C-2"], ["parentcustomerid"])
    assert back["C-1"]["parentcustomerid"] is None and back["C-2"]["parentcustomerid"] is None


async def test_closed_task_gets_statecode_and_statuscode_together(keyed):
    rows = [
        UpsertRow("T-1", {"subject": "Call back", "statecode": 1, "statuscode": 5}),
        UpsertRow("T-2", {"subject": "Open one", "statecode": 0, "statuscode": 3}),
    ]
    results = await keyed.upsert("task", EXT, rows)
    assert all(r.ok for r in results), [r.error for r in results]
    back = await keyed.read_back("task", EXT, ["T-1", "T-2"], ["statecode", "statuscode"])
    assert (back["T-1"]["statecode"], back["T-1"]["statuscode"]) == (1, 5)
    assert (back["T-2"]["statecode"], back["T-2"]["statuscode"]) == (0, 3)
    again = await keyed.upsert("task", EXT, rows)  # re-running a closed record stays idempotent
    assert [r.operation for r in again] == ["updated", "updated"], [r.error for r in again]


async def test_invalid_row_fails_alone_with_the_remote_error(keyed):
    rows = [
        *contacts("Ng"),
        UpsertRow("C-bad", {"lastname": "x" * 51}),
        UpsertRow("C-ok", {"lastname": "Okafor"}),
    ]
    results = await keyed.upsert("contact", EXT, rows)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error.startswith("0x80044331 ")
    assert await keyed.count("contact", EXT) == 2


async def test_key_value_with_slash_is_rejected_clearly_and_others_go_in(keyed):
    rows = [UpsertRow("A/1", {"lastname": "Slash"}), UpsertRow("O'Brien 1", {"lastname": "Quote"})]
    results = await keyed.upsert("contact", EXT, rows)
    assert not results[0].ok and "forbidden" in results[0].error and "'A/1'" in results[0].error
    assert results[1].ok, results[1].error
    assert set(await keyed.read_back("contact", EXT, ["O'Brien 1"], ["lastname"])) == {"O'Brien 1"}


async def test_upsert_of_an_unknown_lookup_pair_fails_the_row_with_known_lookups(keyed):
    row = UpsertRow("C-1", {"lastname": "Ng"}, {"parentcustomerid": LookupRef("lead", "x")})
    [result] = await keyed.upsert("contact", EXT, [row])
    assert not result.ok and "parentcustomerid->account" in result.error


async def test_upsert_splits_rows_into_several_batches(state: Path):
    dv = connector(state, batch_size=2, concurrency=2)
    try:
        await dv.apply_schema([key_requirement("contact")])
        results = await dv.upsert("contact", EXT, contacts(*[f"N{i}" for i in range(5)]))
        assert [r.external_id for r in results] == [f"C-{i}" for i in range(5)] and all(r.ok for r in results)
    finally:
        await dv.aclose()


# -- read_by_ids / delete / restore / count --------------------------------------------------------
async def test_delete_is_idempotent(keyed):
    created = await keyed.upsert("contact", EXT, contacts("Ng", "Okafor"))
    ids = [r.destination_id for r in created]
    first = await keyed.delete("contact", ids)
    second = await keyed.delete("contact", ids)
    assert [r.operation for r in first + second] == ["deleted"] * 4
    assert await keyed.read_by_ids("contact", ids, ["lastname"]) == {}


async def test_restore_brings_back_before_images_including_deleted_records(keyed):
    [account] = await keyed.upsert("account", EXT, [UpsertRow("A-1", {"name": "Acme"})])
    rows = [
        UpsertRow(
            "C-0",
            {"lastname": "Ng", "statecode": 1, "statuscode": 2},
            {"parentcustomerid": LookupRef("account", account.destination_id)},
        ),
        UpsertRow("C-1", {"lastname": "Okafor"}),
    ]
    created = await keyed.upsert("contact", EXT, rows)
    ids = [r.destination_id for r in created]
    columns = ["lastname", "statecode", "statuscode", "parentcustomerid"]
    before = await keyed.read_by_ids("contact", ids, columns)
    images = [
        {"id": i, **v, "parentcustomerid": {"table": "account", "id": v["parentcustomerid"]}} for i, v in before.items()
    ]
    await keyed.upsert(
        "contact",
        EXT,
        [
            UpsertRow(
                "C-0",
                {"lastname": "Changed", "statecode": 0, "statuscode": 1},
                {"parentcustomerid": LookupRef("account", None)},
            )
        ],
    )
    await keyed.delete("contact", [ids[1]])
    results = await keyed.restore("contact", images)
    assert all(r.ok and r.operation == "restored" for r in results), [r.error for r in results]
    assert await keyed.read_by_ids("contact", ids, columns) == before


async def test_count_pages_past_the_page_size(state: Path):
    dv = connector(state, page_size=7, batch_size=50)
    try:
        await dv.apply_schema([key_requirement("contact")])
        await dv.upsert("contact", EXT, contacts(*[f"N{i}" for i in range(30)]))
        await dv.upsert("contact", "lastname", [])  # no rows: no request, no error
        assert await dv.count("contact", EXT) == 30
        back = await dv.read_back("contact", EXT, [f"C-{i}" for i in range(30)], ["lastname"])
        assert len(back) == 30
    finally:
        await dv.aclose()


# -- limits and secrets ------------------------------------------------------------------------------
async def test_429_from_a_tiny_request_limit_is_retried_to_success(state: Path):
    set_options(state, requests_per_window=4, window_seconds=1)
    dv = connector(state)
    try:
        schema = await dv.describe(["contact", "account"])
        assert "contact" in schema.tables
        assert dv.session.stats.throttled >= 1
    finally:
        await dv.aclose()


async def test_secret_never_appears_in_auth_errors(state: Path):
    dv = connector(state, secret="wrong-secret-4711")
    try:
        with pytest.raises(AuthError) as info:
            await dv.describe(["contact"])
        assert "wrong-secret-4711" not in str(info.value)
        assert "wrong-secret-4711" not in repr(info.value.body)
    finally:
        await dv.aclose()


async def test_remote_errors_never_carry_the_bearer_token(keyed):
    with pytest.raises(Exception) as info:
        await keyed.read_back("contact", EXT, ["C-1"], ["nosuchcolumn"])
    token = (await keyed.session.token()).access_token
    assert token not in str(info.value) and "Could not find a property named 'nosuchcolumn'" in str(info.value)


async def test_count_is_not_capped_at_5000(state: Path, keyed):
    seed_records(state, "contact", [{"lastname": f"N{i}", EXT: f"S-{i}"} for i in range(5003)])
    assert await keyed.count("contact", EXT) == 5003


async def test_overriddencreatedon_is_sent_on_create_only(keyed):
    row = UpsertRow("C-1", {"lastname": "Ng", "overriddencreatedon": "2020-01-02T03:04:05Z"})
    [created] = await keyed.upsert("contact", EXT, [row])
    [updated] = await keyed.upsert("contact", EXT, [row])
    assert (created.operation, updated.operation) == ("created", "updated"), updated.error
    back = await keyed.read_back("contact", EXT, ["C-1"], ["createdon"])
    assert back["C-1"]["createdon"].startswith("2020-01-02T03:04:05")


async def test_concurrency_is_capped_by_the_dop_hint(state: Path):
    dv = connector(state, concurrency=16)
    try:
        await dv.describe(["contact"])
        assert dv.api.dop_hint is not None and dv.api.dop_hint <= 16
    finally:
        await dv.aclose()


async def test_apply_schema_waits_until_a_new_key_is_active(state: Path):
    set_options(state, key_activation_seconds=1)
    dv = connector(state)
    try:
        await dv.apply_schema([key_requirement("contact")])
        [result] = await dv.upsert("contact", EXT, contacts("Ng"))
        assert result.ok, result.error
    finally:
        await dv.aclose()


async def test_incident_write_without_customer_service_fails_the_row_with_the_privilege_error(state: Path):
    set_options(state, tier="professional", customer_service=False)
    dv = connector(state)
    try:
        await dv.apply_schema([key_requirement("account"), key_requirement("incident")])
        [account] = await dv.upsert("account", EXT, [UpsertRow("A-1", {"name": "Acme"})])
        case = UpsertRow("I-1", {"title": "Leak"}, {"customerid": LookupRef("account", account.destination_id)})
        [result] = await dv.upsert("incident", EXT, [case])
        assert not result.ok and result.error.startswith("0x80040220"), result.error
    finally:
        await dv.aclose()


async def test_delete_created_and_restore_changed_gives_back_the_exact_snapshot(state: Path, keyed):
    [account_id] = seed_records(state, "account", [{"name": "Acme"}])
    [existing_id] = seed_records(
        state,
        "contact",
        [{"lastname": "Ng", EXT: "C-0", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"}],
    )
    columns = ["lastname", "firstname", "statecode", "statuscode", "parentcustomerid"]
    before = (await keyed.read_by_ids("contact", [existing_id], columns))[existing_id]
    pre = snapshot(state)
    rows = [
        UpsertRow(
            "C-0",
            {"lastname": "Changed", "firstname": "Lin", "statecode": 1, "statuscode": 2},
            {"parentcustomerid": LookupRef("account", None)},
        ),
        UpsertRow("C-1", {"lastname": "New"}),
    ]
    results = await keyed.upsert("contact", EXT, rows)
    assert [r.operation for r in results] == ["updated", "created"]
    await keyed.delete("contact", [results[1].destination_id])
    image = {"id": existing_id, **before, "parentcustomerid": {"table": "account", "id": before["parentcustomerid"]}}
    [restored] = await keyed.restore("contact", [image])
    assert restored.ok, restored.error
    # Dataverse has no "absent" column: a restored null equals a never-set column.
    assert without_nulls(snapshot(state)) == without_nulls(pre)


def without_nulls(snap: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {t: [{k: v for k, v in r.items() if v is not None} for r in rows] for t, rows in snap.items()}


async def test_lookup_to_a_missing_record_fails_only_that_row(keyed):
    missing = UpsertRow(
        "C-1", {"lastname": "Ng"}, {"parentcustomerid": LookupRef("account", "00000000-0000-0000-0000-0000000000aa")}
    )
    results = await keyed.upsert("contact", EXT, [missing, UpsertRow("C-2", {"lastname": "Po"})])
    assert [r.ok for r in results] == [False, True]
    assert "Does Not Exist" in (results[0].error or "")
    assert set(await keyed.read_back("contact", EXT, ["C-1", "C-2"], ["lastname"])) == {"C-2"}


async def test_apply_schema_creates_a_custom_activity_table(dv):
    req = TableRequirement(
        "cs_call",
        custom=True,
        activity=True,
        columns=(ColumnRequirement("subject", "string", max_length=300), ColumnRequirement(EXT, "string")),
        keys={"cs_call_ext": (EXT,)},
    )
    assert "created table cs_call (activity)" in await dv.apply_schema([req])
    assert (await dv.describe(["cs_call"])).tables["cs_call"].activity
    [row] = await dv.upsert("cs_call", EXT, [UpsertRow("K-1", {"subject": "Intake call"})])
    assert row.operation == "created", row.error
    assert (await dv.read_back("cs_call", EXT, ["K-1"], ["subject"]))["K-1"]["subject"] == "Intake call"


async def test_registry_opens_the_connector_on_the_sandbox_without_credentials(tmp_path: Path):
    connection = resolve_connection("dynamics365", state_dir=tmp_path, environ={})
    dv = open_destination("dynamics365", connection)
    try:
        assert isinstance(dv, DataverseDestination)
        assert "account" in (await dv.describe(["account"])).tables
    finally:
        await dv.aclose()
