"""Spec files the loader refuses with a SpecError naming file and line (never a traceback, never a
blown stack or memory) that need a generated file: empty, binary, non-UTF-8, oversized, alias bombs,
deep nesting. Also the bounds leave real specs alone, and a fixed-seed sweep of broken values over
the committed specs shows that nothing but SpecError escapes `load_spec`.
"""

from __future__ import annotations

import copy
import random
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_assets.errors import SpecError
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, load_spec

BASE = (Path(__file__).parents[1] / "fixtures" / "specs" / "base.yaml").read_text()


def write(tmp_path: Path, content: str | bytes, name: str = "bad") -> Path:
    path = tmp_path / f"{name}.yaml"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def refused(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return str(info.value)


def valid_spec(name: str) -> str:
    return BASE.replace("pair: PAIR", f"pair: {name}")


# -- what the file is ------------------------------------------------------------------------------
@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank_lines"])
def test_empty_file_is_refused_naming_the_file(tmp_path: Path, content: str) -> None:
    assert refused(write(tmp_path, content)) == (
        "bad.yaml: the file is empty; a spec is a YAML mapping (pair:, source:, destination:, objects: ...)"
    )


def test_binary_file_is_refused_with_the_line_and_offset_of_its_first_nul_byte(tmp_path: Path) -> None:
    content = b"pair: bad\nsource: case_status\n\x89PNG\x00\x00\x00\rIHDR"
    message = refused(write(tmp_path, content))
    assert message == f"bad.yaml:3: a binary file, not YAML text (NUL byte at byte offset {content.index(0)})"


def test_non_utf8_file_is_refused_with_the_line_and_offset_of_the_bad_byte(tmp_path: Path) -> None:
    content = valid_spec("bad").replace("lastname: last_name", "lastname: lästname").encode("latin-1")
    offset = content.index("ä".encode("latin-1"))
    message = refused(write(tmp_path, content))
    assert message.startswith(f"bad.yaml:31: not UTF-8 text: byte 0xe4 at byte offset {offset} ")
    assert message.endswith("save the file as UTF-8")


def test_utf16_file_is_refused_asking_for_utf8(tmp_path: Path) -> None:
    message = refused(write(tmp_path, valid_spec("bad").encode("utf-16")))
    assert message == "bad.yaml:1: the file is UTF-16 text; save it as UTF-8"


def test_control_character_is_refused_at_its_line(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "pair: bad\nsource: case\x07status\n"))
    assert message.startswith("bad.yaml:2: invalid YAML: unacceptable character #x0007")


def test_file_over_the_size_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    content = valid_spec("bad") + "#" * MAX_FILE_BYTES
    message = refused(write(tmp_path, content))
    assert message == "bad.yaml: the file is larger than 5 MB, the bound for a spec"


def test_missing_file_and_directory_are_spec_errors(tmp_path: Path) -> None:
    assert refused(tmp_path / "gone.yaml") == "gone.yaml: cannot read the file: No such file or directory"
    assert refused(tmp_path) == f"{tmp_path.name}: cannot read the file: Is a directory"


# -- aliases ---------------------------------------------------------------------------------------
def billion_laughs() -> str:
    """The classic: nine levels of ten aliases each, 10^9 strings once expanded."""
    lines = ["pair: bad", 'lol1: &lol1 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(2, 10):
        lines.append(f"lol{level}: &lol{level} [" + ",".join([f"*lol{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_the_alias_line_in_little_memory(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # lol1..lol4 make 12,350 nodes with their keys; each *lol4 adds 11,111: the eighth crosses 100,000
    assert message == f"bad.yaml:6 lol5[7]: alias *lol4 expands the document beyond {MAX_NODES:,} YAML nodes"
    assert peak < 50 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_one_long_text_aliased_many_times_is_refused(tmp_path: Path) -> None:
    text = "pair: bad\nbig: &big " + "x" * 2**20 + "\ncopies:\n" + "".join("  - *big\n" for _ in range(8))
    message = refused(write(tmp_path, text))
    # the anchor and four copies are 5 MB, which the keys' few characters tip over the bound
    assert message == "bad.yaml:7 copies[3]: alias *big expands the document beyond 5 MB of text"


def test_alias_nesting_beyond_the_depth_bound_is_refused(tmp_path: Path) -> None:
    half = MAX_DEPTH // 2 + 1
    deep = "[" * half + "x" + "]" * half
    text = f"pair: bad\nanchor: &deep {deep}\nuse: {'[' * half}*deep{']' * half}\n"
    message = refused(write(tmp_path, text))
    assert re.fullmatch(rf"bad\.yaml:3 use(\[0\])+\.…: alias \*deep nests deeper than {MAX_DEPTH} levels", message)


def test_merge_keys_are_not_duplicate_keys(tmp_path: Path) -> None:
    """`<<: *anchor` then overriding one key is YAML's merge, not a duplicate."""
    merged = valid_spec("merged").replace(
        "    external_id: {column: cs_case_id, value: id}\n",
        "    external_id:\n      <<: *contact_id\n      column: cs_case_id\n",
    )
    merged = merged.replace("external_id: {column: cs_client_id", "external_id: &contact_id {column: cs_client_id")
    plain = write(tmp_path, valid_spec("merged"), "merged")
    expected = load_spec(plain).spec
    assert load_spec(write(tmp_path, merged, "merged")).spec == expected


# -- depth -----------------------------------------------------------------------------------------
def nested_trims(levels: int) -> str:
    return "{op: trim, of: " * levels + "last_name" + "}" * levels


def test_3000_nested_expressions_are_refused_with_file_line_and_path(tmp_path: Path) -> None:
    text = valid_spec("bad").replace("lastname: last_name", f"lastname: {nested_trims(3000)}")
    message = refused(write(tmp_path, text))
    path = "objects.contact.fields.lastname.of.of.of.of.of.…"
    assert message == f"bad.yaml:31 {path}: nested deeper than {MAX_DEPTH} levels"


def test_deep_block_style_expression_is_refused_at_the_line_past_the_bound(tmp_path: Path) -> None:
    # one level per two lines, one space deeper each (3,000 levels would pass the size bound)
    expr = "".join(f"\n{' ' * (7 + i)}op: trim\n{' ' * (7 + i)}of:" for i in range(1000)) + " last_name"
    text = valid_spec("bad").replace("lastname: last_name", f"lastname:{expr}")
    message = refused(write(tmp_path, text))
    # the root is level 1, the first trim (line 32) level 5; the keys of the trim of level 64 are the
    # first nodes of level 65
    assert message == (
        f"bad.yaml:{32 + 2 * (MAX_DEPTH - 5)} objects.contact.fields.lastname.of.of.of.of.of.…: "
        f"nested deeper than {MAX_DEPTH} levels"
    )


def test_deeply_nested_flow_lists_are_refused(tmp_path: Path) -> None:
    text = "pair: bad\nsource: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert refused(write(tmp_path, text)).startswith("bad.yaml:2 source[0][0][0]")


def test_expressions_nested_up_to_the_bound_still_load(tmp_path: Path) -> None:
    levels = MAX_DEPTH - 5  # root, objects, contact, fields; a level per transform; its field name
    text = valid_spec("deep").replace("lastname: last_name", f"lastname: {nested_trims(levels)}")
    spec = load_spec(write(tmp_path, text, "deep"))
    depth, node = 0, spec.spec.objects["contact"].fields["lastname"]
    while isinstance(node, dict):
        depth, node = depth + 1, node["of"]
    assert depth == levels


def test_more_nodes_than_the_bound_is_refused(tmp_path: Path) -> None:
    text = "pair: bad\nids: [" + ",".join(["1"] * MAX_NODES) + "]\n"
    message = refused(write(tmp_path, text))
    assert message.startswith(f"bad.yaml:2 ids[{MAX_NODES - 3}]: the document has more than {MAX_NODES:,} YAML nodes")


# -- a sweep of broken values ----------------------------------------------------------------------
BROKEN: list[Any] = [
    "abc", "", -1, 0, 2**70, 3.5, float("inf"), True, None, [], ["x", 1], {}, {1: 2}, [[["x"]]],
    {"op": "trim"}, {"op": ["trim"]}, {"const": [1]}, {"op": "lower", "of": "email", 1: 2},
    {"op": "in", "of": "name", "values": "abc"}, {"op": "truncate", "of": "name", "length": "x"},
]  # fmt: skip


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths_of(value, (*prefix, i))
    return found


def broken_copy(doc: dict, rng: random.Random, paths: list[tuple]) -> dict:
    broken = copy.deepcopy(doc)
    for _ in range(rng.choice((1, 2))):
        *parents, last = rng.choice(paths[1:])
        target = broken
        try:
            for key in parents:
                target = target[key]
            target[last] = copy.deepcopy(rng.choice(BROKEN))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    return broken


@pytest.mark.parametrize("pair", ["case_status__dynamics365", "case_status__salesforce"])
def test_broken_values_anywhere_give_a_spec_error_and_nothing_else(tmp_path: Path, pair: str) -> None:
    doc = yaml.safe_load((SPEC_DIR / f"{pair}.yaml").read_text())
    paths, rng = paths_of(doc), random.Random(12)
    path = tmp_path / f"{pair}.yaml"
    refusals = 0
    for _ in range(40):
        path.write_text(yaml.safe_dump(broken_copy(doc, rng, paths), sort_keys=False))
        try:
            load_spec(path)
        except SpecError:
            refusals += 1
    assert refusals >= 20  # most broken values are refused; any other exception fails the test


def test_windows_newlines_and_a_byte_order_mark_load_like_the_original(tmp_path: Path) -> None:
    original = SPEC_DIR / "case_status__dynamics365.yaml"
    copy_path = tmp_path / original.name
    copy_path.write_bytes(b"\xef\xbb\xbf" + original.read_text().replace("\n", "\r\n").encode())
    loaded, expected = load_spec(copy_path), load_spec(original)
    assert (loaded.content_hash, loaded.lines) == (expected.content_hash, expected.lines)
