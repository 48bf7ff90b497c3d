"""Spec loading: valid specs load with a stable hash; each invalid fixture fails with its message."""

from __future__ import annotations

import shutil
from itertools import takewhile
from pathlib import Path

import pytest

from migration_assets.errors import SpecError
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_all, load_spec

FIXTURES = Path(__file__).parents[1] / "fixtures" / "specs"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))


def expected_messages(path: Path) -> list[str]:
    """The leading '# expect: ' lines of a fixture; the error message contains each of them."""
    lines = path.read_text().splitlines()
    expected = [line.removeprefix("# expect: ") for line in takewhile(lambda x: x.startswith("# expect: "), lines)]
    assert expected, f"{path.name} must start with '# expect: <message>'"
    return expected


def test_there_are_invalid_fixtures():
    assert len(INVALID) >= 8


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_error_names_file_line_path_and_problem(path: Path):
    with pytest.raises(SpecError) as info:
        load_spec(path)
    for expected in expected_messages(path):
        assert expected in str(info.value)


def test_every_committed_spec_loads():
    specs = load_all(SPEC_DIR)
    assert {s.pair for s in specs} >= {"case_status__dynamics365"}
    for spec in specs:
        assert spec.load_order, spec.pair


def test_load_order_puts_lookup_targets_first():
    spec = load_spec(SPEC_DIR / "case_status__dynamics365.yaml")
    order = spec.load_order
    assert order.index("account") < order.index("contact") < order.index("incident")


def test_hash_ignores_comments_and_formatting(tmp_path: Path):
    original = SPEC_DIR / "case_status__dynamics365.yaml"
    copy = tmp_path / original.name
    copy.write_text("# a new comment\n\n" + original.read_text())
    assert load_spec(copy).content_hash == load_spec(original).content_hash


def test_hash_changes_when_the_mapping_changes(tmp_path: Path):
    original = SPEC_DIR / "case_status__dynamics365.yaml"
    copy = tmp_path / original.name
    copy.write_text(original.read_text().replace("Pending: [0, 3]", "Pending: [0, 4]"))
    assert load_spec(copy).content_hash != load_spec(original).content_hash


def test_pair_must_match_file_name(tmp_path: Path):
    copy = tmp_path / "other__dynamics365.yaml"
    shutil.copy(SPEC_DIR / "case_status__dynamics365.yaml", copy)
    with pytest.raises(SpecError, match="must match the file name"):
        load_spec(copy)


def test_yaml_syntax_error_names_the_line(tmp_path: Path):
    bad = tmp_path / "x__dynamics365.yaml"
    bad.write_text("pair: x__dynamics365\nobjects: [unclosed\n")
    with pytest.raises(SpecError, match=r"x__dynamics365.yaml:\d+: invalid YAML"):
        load_spec(bad)


def test_loading_never_changes_the_spec_file_or_the_parsed_model(tmp_path: Path) -> None:
    import copy

    import yaml

    from migration_assets.spec.model import PairSpec

    text = (SPEC_DIR / "case_status__dynamics365.yaml").read_text()
    raw = yaml.safe_load(text)
    before = copy.deepcopy(raw)
    PairSpec.model_validate(raw)
    assert raw == before  # validation does not change its input in place
    path = tmp_path / "case_status__dynamics365.yaml"
    path.write_text(text)
    loaded = load_spec(path)
    dumped = loaded.spec.model_dump(mode="json", by_alias=True)
    for name in loaded.spec.variants:
        loaded.with_variant(name)  # merging a variant builds a new spec
    assert loaded.spec.model_dump(mode="json", by_alias=True) == dumped
    assert path.read_text() == text
