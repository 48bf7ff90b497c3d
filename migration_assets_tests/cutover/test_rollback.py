"""Rollback: after sample + full + delta, the destination equals its pre-migration snapshot, records
that existed before and were updated by the migration included, and so does the document store,
with a file that existed before and that the migration overwrote."""

from __future__ import annotations

import asyncio

from migration_assets.defs.naming import asset_key, migrate_job_name
from migration_assets.engine import files
from migration_assets.sandbox.case_status import mutate
from migration_assets.sandbox.dataverse import seed as dataverse_seed
from migration_assets.spec.expressions import company_key
from migration_assets.systems import system
from migration_assets_tests.conftest import CORE_OBJECTS, core_spec_dir

PAIR = "case_status__dynamics365"


def _apply_schema(workbench) -> None:
    workbench.instance.add_dynamic_partitions(f"{PAIR}__phase", ["sample", "full"])
    job = workbench.defs.resolve_job_def(migrate_job_name(PAIR))
    result = job.execute_in_process(
        instance=workbench.instance, partition_key="sample", asset_selection=[asset_key(PAIR, "plan", "schema_apply")]
    )
    assert result.success


def _pre_existing_records(workbench) -> tuple[str, str]:
    """An account and a contact that exist before the migration and that it will update."""
    source = workbench.source("case_status")

    async def first_client():
        try:
            async for page in source.extract("clients"):
                for client in page:
                    if client.get("company") and (client.get("last_name") or "").strip():
                        return client
        finally:
            await source.aclose()

    client = asyncio.run(first_client())
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    key = company_key(client["company"])
    dataverse_seed.seed_records(
        state, "account", [{"name": "Old Firm Name", "cs_account_key": key, "telephone1": "555-0100"}]
    )
    dataverse_seed.seed_records(
        state,
        "contact",
        [
            {
                "firstname": "Pre",
                "lastname": "Existing",
                "cs_client_id": str(client["id"]),
                "emailaddress1": "legacy@example.com",
            }
        ],
    )
    return key, str(client["id"])


def _pre_existing_file(workbench) -> tuple[str, bytes]:
    """A file in the document store before the migration, where the migration will upload one of
    its files (same case folder and name): its path and original bytes."""
    source = workbench.source("case_status")

    async def candidates():
        found = []
        try:
            async for page in source.extract("files"):
                found += page
        finally:
            await source.aclose()
        return found

    rows = asyncio.run(candidates())
    places = [
        (files.safe_folder("incident", str(f["case_id"]), f.get("folder_path")), files.safe_name(f["file_name"]))
        for f in rows
    ]
    unique = [p for p in places if places.count(p) == 1]
    chosen = next(
        f"{folder}/{name}"
        for (folder, name), row in zip(places, rows, strict=True)
        if (folder, name) in unique and 0 < int(row["size"] or 0) < 1_000_000 and row.get("case_id")
    )
    original = b"the firm's own copy, filed before the migration\n"
    dataverse_seed.seed_document(system("dynamics365").state_path(workbench.paths.sandbox), chosen, original)
    return chosen, original


def snapshot(state) -> dict:
    """Every destination record (a column that is null equals a column never set: Dataverse reads
    both back as null) and every file of the document store."""
    return {
        **{
            table: [{k: v for k, v in row.items() if v is not None} for row in rows]
            for table, rows in dataverse_seed.snapshot(state).items()
        },
        "documents": dataverse_seed.document_listing(state),
    }


def test_rollback_restores_the_pre_migration_snapshot_and_is_idempotent(workbench, tmp_path):
    workbench.spec_dir = core_spec_dir(tmp_path / "specs", keep=(*CORE_OBJECTS, "document"))
    workbench.seed(scale=120)
    _apply_schema(workbench)
    key, client_id = _pre_existing_records(workbench)
    path, original = _pre_existing_file(workbench)
    state = system("dynamics365").state_path(workbench.paths.sandbox)
    before = snapshot(state)
    assert any(d["path"] == path for d in before["documents"])

    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success
    assert workbench.run(PAIR, "full").success
    source = system("case_status").state_path(workbench.paths.sandbox)
    mutate.update(source, "clients", int(client_id), {"last_name": "Changed In Cutover"}, now="2026-11-05T00:00:00Z")
    mutate.create(
        source,
        "clients",
        {"first_name": "New", "last_name": "Person", "company": "Brand New LLP"},
        now="2026-11-05T00:00:00Z",
    )
    assert workbench.run(PAIR, "delta-20261105T010000Z").success

    during = dataverse_seed.snapshot(state)
    account = next(a for a in during["account"] if a.get("cs_account_key") == key)
    assert account["name"] != "Old Firm Name"  # the migration did update the pre-existing record
    contact = next(c for c in during["contact"] if c.get("cs_client_id") == client_id)
    assert contact["lastname"] == "Changed In Cutover"
    assert dataverse_seed.document_bytes(state, path) != original  # the migration overwrote the file
    assert len(dataverse_seed.document_listing(state)) > len(before["documents"])

    rolled = workbench.rollback(PAIR)
    assert rolled.success
    summary = rolled.output_for_node(f"{PAIR}__rollback_destination")
    assert summary["restored"]["account"] == 1 and summary["restored"]["contact"] == 1
    assert summary["restored"]["document"] == 1
    assert sum(summary["deleted"].values()) > 100 and summary["deleted"]["document"] > 0
    print("rollback:", {"deleted": summary["deleted"], "restored": summary["restored"]})
    assert snapshot(state) == before
    assert dataverse_seed.document_bytes(state, path) == original

    again = workbench.rollback(PAIR)
    assert again.success
    summary = again.output_for_node(f"{PAIR}__rollback_destination")
    assert sum(summary["deleted"].values()) == 0 and sum(summary["restored"].values()) == 0
    assert snapshot(state) == before
    assert dataverse_seed.document_bytes(state, path) == original
