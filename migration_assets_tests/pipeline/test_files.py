"""File objects at stage: safe names and folders, unique names per folder, oversize exclusion."""

from __future__ import annotations

import polars as pl
import pytest

from migration_assets.connectors.case_status.settings import CATALOG
from migration_assets.engine import files
from migration_assets.engine.extracting import records_to_frame
from migration_assets.engine.transform import EXT, REASON, stage_frame
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

PAIR = "case_status__dynamics365"


def _file(i: int, name: str, size: int, folder: str = "Intake", case_id: str = "7") -> dict:
    return {
        "id": i,
        "file_name": name,
        "size": size,
        "folder_path": folder,
        "case_id": case_id,
        "content_type": "application/pdf",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }


def _stage(rows: list[dict]):
    loaded = load_spec(SPEC_DIR / f"{PAIR}.yaml")
    raw = records_to_frame(rows, [f.name for f in CATALOG["files"].fields])
    return stage_frame(loaded, "document", raw)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("Scan 03/2024.pdf", "Scan 03_2024.pdf"),
        ("../../secret..final.pdf", "_._secret.final.pdf"),
        ('a:b*c?"d"<e>|f#g%h.txt', "a_b_c__d__e__f_g_h.txt"),
        ("  report.  ", "report"),
        ("...", "file"),
        (None, "file"),
    ],
)
def test_safe_name_removes_forbidden_characters_and_dot_runs(name, safe):
    assert files.safe_name(name) == safe
    assert files.safe_name(safe) == safe  # a second pass changes nothing


def test_safe_name_keeps_the_extension_within_200_characters():
    name = files.safe_name("x" * 500 + ".docx")
    assert len(name) == 200 and name.endswith(".docx")


def test_safe_folder_drops_dot_segments_and_cleans_each_segment():
    assert files.safe_folder("incident", "42", "../Billing/./In:voices/") == "incident/42/Billing/In_voices"


def test_oversize_file_is_excluded_with_name_size_and_limit_and_counts_add_up():
    result = _stage([_file(1, "small.pdf", 1000), _file(2, "huge.pdf", 26_214_401), _file(3, "edge.pdf", 26_214_400)])
    assert result.staged[EXT].to_list() == ["1", "3"]
    [reason] = result.excluded[REASON].to_list()
    assert "huge.pdf" in reason and "26214401" in reason and "26214400" in reason
    counts = result.counts()
    assert counts["source"] == counts["staged"] + counts["quarantined"] + counts["excluded"]


def test_staged_file_columns_hold_safe_name_case_folder_and_size():
    result = _stage([_file(1, "Scan 03/2024.pdf", 10, folder="Billing/Invoices", case_id="42")])
    row = result.staged.row(0, named=True)
    assert row[files.NAME] == "Scan 03_2024.pdf"
    assert row[files.FOLDER] == "incident/42/Billing/Invoices"
    assert row[files.SIZE] == 10 and row["regardingobjectid"] == "42"
    assert not [c for c in result.staged.columns if not c.startswith("_") and c != "regardingobjectid"]


def test_colliding_names_in_one_folder_get_the_source_id():
    result = _stage([_file(1, "a.pdf", 10), _file(2, "a.pdf", 20), _file(3, "a.pdf", 30, case_id="8")])
    names = dict(zip(result.staged[EXT], result.staged[files.NAME], strict=True))
    assert names == {"1": "a.pdf", "2": "a (2).pdf", "3": "a.pdf"}


def test_file_without_case_is_quarantined_not_dropped():
    result = _stage([_file(1, "a.pdf", 10, case_id=None)])
    assert result.staged.height == 0
    assert "regardingobjectid" in result.quarantined[REASON][0]
    assert isinstance(result.quarantined, pl.DataFrame)
