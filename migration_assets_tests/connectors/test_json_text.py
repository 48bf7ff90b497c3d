"""The fast JSON reader gives what the standard parser gives, on what orjson alone would not."""

from __future__ import annotations

import json

import httpx
import pytest

from migration_assets import json_text

CASES = [
    '[{"id": 1, "name": "Ada", "score": 1.5, "tags": ["a"], "deleted": null}]',
    '{"external": 123456789012345678901234567890}',  # beyond 64 bits: orjson would round it
    '{"id": 9007199254740993}',  # 2**53 + 1: exact as an integer
    '{"low": -9223372036854775809}',  # 19 digits, one below the 64-bit range: the shortest that differs
    '{"high": 18446744073709551616, "max": 9223372036854775807}',  # 2**64, and the largest int64
    '{"phone": "+1 2025550123", "when": "2026-12-03T12:00:00Z", "ids": [123456789012345678]}',  # 18 digits
    '{"rate": NaN, "cap": Infinity}',  # Python's JSON writer emits these; orjson refuses them
    '"\\u00e9t\\u00e9"',
]


@pytest.mark.parametrize("text", CASES)
def test_reads_exactly_what_the_standard_parser_reads(text: str) -> None:
    expected = json.loads(text)
    for given in (text, text.encode(), text.encode("utf-16")):
        got = json_text.loads(given)
        assert repr(got) == repr(expected)  # repr: NaN != NaN, and 1 == 1.0 would hide a float


def test_a_response_body_is_read_like_httpx_reads_it() -> None:
    response = httpx.Response(200, content=b'{"id": 123456789012345678901}')
    assert json_text.response_json(response) == response.json() == {"id": 123456789012345678901}


@pytest.mark.parametrize("text", ["", "{", "[1,]", "nope"])
def test_what_is_not_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        json_text.loads(text)


def test_a_document_encoded_twice_is_decoded_twice_and_a_plain_string_stays_one():
    assert json_text.loads_twice('"{\\"a\\": 1}"') == {"a": 1}
    assert json_text.loads_twice('"[1, 2]"') == [1, 2]
    assert json_text.loads_twice('"web"') == "web"
    with pytest.raises(ValueError):
        json_text.loads_twice('"{not json"')
