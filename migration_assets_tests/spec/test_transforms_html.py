"""spec/transforms/html.py: sanitized rich text and data-URI images taken out as files."""

from __future__ import annotations

import base64
import json

from migration_assets.spec.transforms.html import data_uri_images, rich_text
from migration_assets_tests.spec.transform_helpers import evaluate

PIXEL = base64.b64encode(b"\x89PNG\r\n\x1a\n-pixel-bytes").decode()
IMAGE = f'<img src="data:image/png;base64,{PIXEL}" alt="signature">'


def test_scripts_styles_and_event_handlers_are_dropped_safe_tags_are_kept():
    html = (
        '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script><style>p{}</style>'
        '<ul><li>one</li></ul><table><tr><td colspan="2">x</td></tr></table><a href="javascript:x()">bad</a>'
        '<a href="https://firm.example/doc">good</a><iframe src="https://evil.example"></iframe>'
    )
    out = rich_text(html)
    assert "<script" not in out and "alert" not in out and "<style" not in out and "onclick" not in out
    assert "<iframe" not in out and "javascript:" not in out
    assert "<p>Hello <b>there</b></p>" in out and "<li>one</li>" in out and 'colspan="2"' in out
    assert 'href="https://firm.example/doc"' in out


def test_data_uri_images_become_numbered_markers_in_the_text():
    out = rich_text(f"<p>Signed:</p><p>{IMAGE}</p><p>and {IMAGE.replace('png', 'jpeg')}</p>")
    assert "[image: image-1.png]" in out and "[image: image-2.jpg]" in out
    assert "data:" not in out and "base64" not in out


def test_data_uri_images_are_listed_with_name_type_size_and_bytes():
    images = data_uri_images(f"<div>{IMAGE}</div><img src='https://cdn.example/a.png'>{IMAGE}")
    assert [i["name"] for i in images] == ["image-1.png", "image-2.png"]
    assert images[0]["mime_type"] == "image/png"
    assert base64.b64decode(images[0]["data"]) == b"\x89PNG\r\n\x1a\n-pixel-bytes"
    assert images[0]["size"] == len(b"\x89PNG\r\n\x1a\n-pixel-bytes")


def test_an_image_whose_base64_does_not_decode_is_left_out_of_both():
    broken = '<img src="data:image/png;base64,@@not-base64@@">'
    assert data_uri_images(broken + IMAGE)[0]["index"] == 1
    assert len(data_uri_images(broken + IMAGE)) == 1
    assert "[image: image-1.png]" in rich_text(broken + IMAGE) and "@@" not in rich_text(broken + IMAGE)


def test_a_note_over_65000_characters_keeps_every_character_of_its_text():
    long = "<p>" + "The trustee shall hold the estate. " * 2500 + "</p>"
    assert len(long) > 65_000 and rich_text(long) == long


def test_as_expressions_a_fragment_without_images_gives_null_and_html_that_is_only_a_script_gives_null():
    rows = evaluate({"op": "data_uri_images", "of": "a"}, {"a": ["<p>plain</p>", None, IMAGE]})
    assert rows[0]["value"] is None and rows[1]["value"] is None
    assert json.loads(rows[2]["value"])[0]["name"] == "image-1.png"
    assert evaluate({"op": "rich_text", "of": "a"}, {"a": ["<script>x()</script>"]})[0]["value"] is None
