"""Rich-text (HTML) transforms: sanitized HTML with safe tags kept, and data-URI images taken out.

Notes and e-mails of CRMs are HTML fragments that may carry scripts, event handlers, styles and
images embedded as `data:` URIs (pasted screenshots, signatures). A destination's rich-text column
takes a safe subset of HTML; embedded images belong in the file store instead of inside the text.

- `rich_text`: the fragment with only SAFE_TAGS and their SAFE_ATTRIBUTES kept (scripts and styles
  dropped with their content, links restricted to http/https/mailto), every data-URI image replaced
  by the text marker `[image: image-<n>.<ext>]` naming the attachment `data_uri_images` extracts.
- `data_uri_images`: a JSON list of the fragment's data-URI images, numbered from 1 in document
  order, each `{"index", "name", "mime_type", "size", "data"}` (`data` the base64 bytes), or null
  when there is none; meant for an object's `explode` and a file's `content`. An image whose
  base64 does not decode is left out of both (it could not be stored anyway).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

import nh3
import polars as pl

from migration_assets.spec.expressions import Compiled, _merge, _of, transform

SAFE_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
        "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
SAFE_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_DATA_IMG = re.compile(
    r"<img\b[^>]*?\bsrc\s*=\s*([\"'])\s*data:(?P<mime>image/[\w.+-]+)\s*;\s*base64\s*,(?P<data>[^\"']*)\1[^>]*>",
    re.IGNORECASE,
)
EXTENSIONS = {"image/jpeg": "jpg", "image/svg+xml": "svg", "image/x-icon": "ico"}


def _extension(mime: str) -> str:
    mime = mime.lower()
    return EXTENSIONS.get(mime) or re.sub(r"[^a-z0-9]", "", mime.partition("/")[2]) or "bin"


def image_name(index: int, mime: str) -> str:
    """The file name of the `index`-th (from 1) data-URI image of a fragment: `image-<n>.<ext>`."""
    return f"image-{index}.{_extension(mime)}"


def data_uri_images(html: str | None) -> list[dict[str, object]]:
    """The data-URI images of an HTML fragment, in document order (undecodable ones skipped).

    Args:
        html: the fragment (None: no images).

    Returns:
        `[{"index", "name", "mime_type", "size", "data"}]`, `size` in decoded bytes.
    """
    out: list[dict[str, object]] = []
    for match in _DATA_IMG.finditer(html or ""):
        data = re.sub(r"\s+", "", match["data"])
        try:
            size = len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            continue
        index = len(out) + 1
        mime = match["mime"].lower()
        out.append({"index": index, "name": image_name(index, mime), "mime_type": mime, "size": size, "data": data})
    return out


def _marker(match: re.Match[str], names: dict[int, str]) -> str:
    return f"[image: {names[match.start()]}]" if match.start() in names else ""


def rich_text(html: str | None) -> str | None:
    """`html` with only the safe tags and attributes kept and data-URI images replaced by markers.

    Args:
        html: an HTML fragment.

    Returns:
        The sanitized fragment, or None when nothing is left.
    """
    if html is None:
        return None
    names: dict[int, str] = {}
    for match in _DATA_IMG.finditer(html):
        try:
            base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
        except (binascii.Error, ValueError):
            continue
        names[match.start()] = image_name(len(names) + 1, match["mime"])
    marked = _DATA_IMG.sub(lambda m: _marker(m, names), html)
    cleaned = nh3.clean(
        marked,
        tags=set(SAFE_TAGS),
        attributes={k: set(v) for k, v in SAFE_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
    )
    return cleaned if cleaned.strip() else None


@transform("rich_text", ("of",), doc="HTML with safe tags kept, scripts dropped, data-URI images as [image: name]")
def _rich_text(args, ctx) -> Compiled:
    src = _of(args, ctx)
    return _merge(src.expr.cast(pl.String).map_elements(rich_text, return_dtype=pl.String, skip_nulls=True), src)


def _images_json(html: str | None) -> str | None:
    images = data_uri_images(html)
    return json.dumps(images) if images else None


@transform("data_uri_images", ("of",), doc="JSON list of the data-URI images of an HTML fragment (null: none)")
def _data_uri_images(args, ctx) -> Compiled:
    src = _of(args, ctx)
    return _merge(src.expr.cast(pl.String).map_elements(_images_json, return_dtype=pl.String, skip_nulls=True), src)
