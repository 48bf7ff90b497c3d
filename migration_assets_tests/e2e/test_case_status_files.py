"""Case Status files → the Dataverse sandbox document store, end to end (seed, sample, approve, full)."""

from __future__ import annotations

import asyncio
import json

from migration_assets.connectors.case_status.settings import CATALOG
from migration_assets.defs.naming import asset_key
from migration_assets.engine import files
from migration_assets.sandbox.case_status import generator
from migration_assets.sandbox.dataverse.seed import document_listing
from migration_assets.systems import system
from migration_assets_tests.conftest import CORE_OBJECTS, core_spec_dir

PAIR = "case_status__dynamics365"
LIMIT = 26_214_400


def _source_files(workbench) -> dict[str, dict]:
    path = system("case_status").state_path(workbench.paths.sandbox)
    data = generator.build(scale=120, seed=42)
    assert path.exists()
    assert {f.name for f in CATALOG["files"].fields} <= set(data["files"][0]) | {"updated_at", "created_at"}
    return {str(f["id"]): f for f in data["files"]}


def test_files_stream_into_case_folders_oversize_skipped_and_reported(workbench, tmp_path):
    # the documents and the objects they hang off (every object: test_case_status__dynamics365_rows.py)
    workbench.spec_dir = core_spec_dir(tmp_path / "specs", keep=(*CORE_OBJECTS, "document"))
    workbench.seed(scale=120, seed=42)
    source = _source_files(workbench)
    assert workbench.run(PAIR, "sample").success
    assert workbench.approve(PAIR).success
    outcome = workbench.run(PAIR, "full")
    assert outcome.success, outcome.failures

    report = workbench.report(PAIR, "full")
    counts = report["objects"]["document"]
    assert counts["source"] == len(source) == counts["loaded"] + counts["quarantined"] + counts["excluded"]
    assert counts["destination_count"] == counts["loaded"] > 0
    assert report["diff"]["mismatches"] == 0, report["diff"]

    # oversize files are excluded at stage with a reason naming file, size and limit, never uploaded
    oversize = {i for i, f in source.items() if f["size"] > LIMIT}
    assert oversize and counts["excluded"] == len(oversize)
    excluded = dict(
        workbench.sql(PAIR, "select source_id, reason from excluded where _phase='full' and object='document'")
    )
    assert set(excluded) == oversize
    for source_id, reason in excluded.items():
        assert str(source[source_id]["size"]) in reason and str(LIMIT) in reason
    # files whose blob is missing in the source are quarantined with the download error
    missing = {i for i, f in source.items() if f.get("_blob") == "missing" and i not in oversize}
    quarantined = dict(
        workbench.sql(PAIR, "select source_id, reason from quarantine where _phase='full' and object='document'")
    )
    assert missing and missing <= set(quarantined)

    # the store holds every loaded file in its case folder, safe names, the source size
    listing = document_listing(system("dynamics365").state_path(workbench.paths.sandbox))
    assert len(listing) == counts["loaded"]
    by_path = {d["path"]: d for d in listing}
    staged = workbench.sql(
        PAIR, f"select _source_id, {files.FOLDER}, {files.NAME} from stage__document where _phase = 'full'"
    )
    for source_id, folder, name in staged:
        if source_id in quarantined:  # missing blob, or its case was quarantined
            continue
        doc = by_path[f"{folder}/{name}"]
        original = source[source_id]
        assert folder.startswith(f"incident/{original['case_id']}/")
        assert doc["size"] == original["size"]
        assert ".." not in doc["path"] and ":" not in doc["path"]
    assert all(d["size"] <= LIMIT for d in listing)

    # the files report: JSON + Markdown, linked from the load asset's metadata
    doc = json.loads((workbench.paths.report_dir(PAIR) / "files_full.json").read_text())
    assert doc["summary"]["uploaded"] == counts["loaded"]
    assert doc["summary"]["bytes_uploaded"] == sum(d["size"] for d in listing)
    assert {s["source_id"] for s in doc["skipped"]} == oversize
    assert (workbench.paths.report_dir(PAIR) / "files_full.md").read_text().startswith("# Files of document")
    event = workbench.instance.get_latest_materialization_event(asset_key(PAIR, "load", "document"))
    meta = event.asset_materialization.metadata
    assert meta["files_uploaded"].value == counts["loaded"]
    assert meta["files_skipped"].value == len(oversize)

    # rollback of the full phase deletes the files it uploaded and their document locations, and
    # leaves the sample phase's (the full phase logged them as updated, with a before-image)
    store = system("dynamics365").state_path(workbench.paths.sandbox)
    sample_paths = {
        f"{folder}/{name}"
        for folder, name in workbench.sql(
            PAIR,
            f"select s.{files.FOLDER}, s.{files.NAME} from stage__document s join ledger l "
            "on l.object = 'document' and l.source_id = s._source_id and l.phase = 'sample' and l.outcome = 'ok' "
            "where s._phase = 'sample'",
        )
    }
    assert sample_paths
    assert workbench.rollback(PAIR, phase="full").success
    assert {d["path"] for d in document_listing(store)} == sample_paths
    assert workbench.rollback(PAIR).success
    assert document_listing(store) == []
    dest = workbench.destination("dynamics365")
    assert asyncio.run(_count_locations(dest)) == 0


async def _count_locations(dest) -> int:
    try:
        return await dest.count("sharepointdocumentlocation", "cs_externalid")
    finally:
        await dest.aclose()
