"""Small, dependency-free HTML building blocks for reports: escaped tables, a sign-off header, verdict
banners and inline SVG bar charts (reports open offline, from a file, with nothing to download).

Charts are horizontal: one row per category with its full label at the left, bars growing right
along a labelled value axis with ticks, so long labels never overlap and every bar can be read.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

PALETTE = ("#2f6fab", "#e08a2e", "#4b9c5a", "#c0504d", "#7e62a8", "#8c8c8c")

STYLE = """body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem}
nav.top{background:#24292f;color:#fff;padding:.55rem 2rem;font-size:13px}
nav.top a{color:#cfe3ff;margin-right:1.1rem;text-decoration:none}nav.top a:hover{text-decoration:underline}
h1{font-size:1.6rem;margin:.6rem 0 .8rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
h3{margin:1.4rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}td,th{border:1px solid #d0d7de;padding:.3rem .65rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}td.num,th.num{text-align:right}
table.header th{text-align:left;width:11rem}table.header td{text-align:left}
code{background:#f6f8fa;padding:.05rem .3rem;border-radius:4px;font-size:.92em}
.verdict{border-radius:8px;padding:.8rem 1.1rem;margin:1rem 0 1.5rem;border:1px solid}
.verdict p{margin:.2rem 0}.verdict ul{margin:.4rem 0 .2rem 1.2rem;padding:0}
.verdict.green{background:#e9f7ef;border-color:#7cc79a}.verdict.amber{background:#fff6e0;border-color:#e3b341}
.verdict.red{background:#fdecec;border-color:#e5877f}.verdict strong.big{font-size:1.15rem}
.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b;font-weight:600}.warn{color:#9a5b00;font-weight:600}
.muted{color:#656d76}.chart{margin:.3rem 0 1.4rem}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;
margin-right:.3rem;vertical-align:middle;border-radius:2px}"""

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{style}</style></head>
<body>{nav}<main>{body}</main></body></html>"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    """A whole page; `nav` is a list of (label, href) shown in a bar at the top."""
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for label, href in nav)
    bar = f'<nav class="top">{links}</nav>' if links else ""
    return PAGE.format(title=esc(title), style=STYLE, nav=bar, body=body)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    columns = list(columns or rows[0].keys())
    numeric = {c for c in columns if all(_numeric(r.get(c)) for r in rows if r.get(c) not in (None, ""))}
    head = "".join(f"<th{_num(c in numeric)}>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{_num(c in numeric)}>{esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _numeric(value: Any) -> bool:
    """A number, or text that reads as one ("1,234", "98%"): right-aligned in tables."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.replace(",", "").replace(".", "").rstrip("%").lstrip("-").isdigit()


def _num(is_numeric: bool) -> str:
    return ' class="num"' if is_numeric else ""


def header_table(facts: Sequence[tuple[str, Any]]) -> str:
    """The facts a person signs off on (pair, phase, run id, ...), one row each."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v if _is_markup(v) else esc(v)}</td></tr>" for k, v in facts)
    return f'<table class="header">{rows}</table>'


class Markup(str):
    """Text that is already HTML (escaped by whoever built it)."""


def _is_markup(value: Any) -> bool:
    return isinstance(value, Markup)


def verdict(level: str, headline: str, details: Sequence[str] = (), after: str = "") -> str:
    """A banner: `level` green, amber or red; `details` are escaped list items, `after` is markup."""
    items = "".join(f"<li>{esc(d)}</li>" for d in details)
    listed = f"<ul>{items}</ul>" if items else ""
    return f'<div class="verdict {level}"><p><strong class="big">{esc(headline)}</strong></p>{listed}{after}</div>'


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and float(top).is_integer():  # counts: no tick between two integers
        step = 1
    ticks = [0.0]
    while ticks[-1] < top:  # the last tick is at or beyond the largest value: every bar fits
        ticks.append(ticks[-1] + step)
    return ticks


def _fmt(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def bar_chart(groups: Mapping[str, Mapping[str, float]], *, title: str, axis: str = "records", width: int = 860) -> str:
    """Horizontal grouped bars: one row per group (e.g. a value label), one bar per series (e.g.
    staged, destination), a value axis with ticks along the bottom and each bar's value at its end.

    Args:
        groups: {row label: {series: value}}.
        title: the chart's heading (rendered as an h4 above it).
        axis: what the values count, written under the axis.
        width: the drawing's width in pixels.
    """
    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    if not groups or not series:
        return ""
    label_w = min(360, 16 + 7 * max(len(str(g)) for g in groups))
    bar_h, gap, top_pad, axis_h = 14, 10, 6, 38
    plot_w = width - label_w - 70
    ticks = nice_ticks(max((v for g in groups.values() for v in g.values()), default=0) or 1)
    scale = plot_w / (ticks[-1] or 1)
    row_h = bar_h * len(series) + gap
    height = top_pad + row_h * len(groups) + axis_h
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}" font-size="12">']
    for i, tick in enumerate(ticks):
        x = label_w + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{height - axis_h}" stroke="#e3e6ea"/>')
        anchor = "start" if i == 0 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{height - axis_h + 15}" text-anchor="{anchor}" fill="#444">{_fmt(tick)}</text>'
        )
    for gi, (group, values) in enumerate(groups.items()):
        y0 = top_pad + gi * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h / 2 + 2:.1f}" text-anchor="end" fill="#1f2328">'
            f"<title>{esc(group)}</title>{esc(_clip(str(group), (label_w - 16) // 7))}</text>"
        )
        for si, name in enumerate(series):
            value = float(values.get(name, 0) or 0)
            y = y0 + si * bar_h
            w = value * scale
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{PALETTE[si % len(PALETTE)]}">'
                f"<title>{esc(group)} · {esc(name)}: {_fmt(value)}</title></rect>"
            )
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 4}" fill="#444">{_fmt(value)}</text>')
    base = height - axis_h
    parts.append(f'<line x1="{label_w}" y1="{base}" x2="{label_w + plot_w}" y2="{base}" stroke="#8c959f"/>')
    parts.append(f'<line x1="{label_w}" y1="{top_pad}" x2="{label_w}" y2="{base}" stroke="#8c959f"/>')
    parts.append(
        f'<text x="{label_w + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#656d76">{esc(axis)}</text>'
    )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{esc(s)}</span>' for i, s in enumerate(series)
    )
    return f"<h4>{esc(title)}</h4><div class='legend'>{legend}</div><div class='chart'>{''.join(parts)}</div>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"
