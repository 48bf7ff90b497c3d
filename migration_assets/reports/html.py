"""Small, dependency-free HTML building blocks for reports: escaped tables and inline SVG bar charts
(reports open offline, from a file, with nothing to download)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

PALETTE = ("#2f6fab", "#e08a2e", "#4b9c5a", "#c0504d", "#7e62a8", "#8c8c8c")

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}}
table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border:1px solid #ccc;padding:.25rem .6rem;
text-align:right}}th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}
.bad{{color:#b00020;font-weight:600}}.ok{{color:#1b7f3b;font-weight:600}}.warn{{color:#9a5b00;font-weight:600}}h2{{margin-top:2rem}}
.legend span{{display:inline-block;margin-right:1rem}}.legend i{{display:inline-block;width:.8rem;height:.8rem;
margin-right:.3rem;vertical-align:middle}}</style></head><body>{body}</body></html>"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def page(title: str, body: str) -> str:
    return PAGE.format(title=esc(title), body=body)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def grouped_bars(groups: Mapping[str, Mapping[str, float]], *, title: str, width: int = 900) -> str:
    """One cluster of bars per group (e.g. per object), one bar per series (e.g. source, loaded)."""
    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    if not groups or not series:
        return ""
    top = max((v for g in groups.values() for v in g.values()), default=0) or 1
    bar, gap, chart_h, label_h = 18, 14, 180, 40
    cluster = bar * len(series) + gap
    width = max(width, 60 + cluster * len(groups))
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{chart_h + label_h + 10}">']
    for gi, (group, values) in enumerate(groups.items()):
        x0 = 50 + gi * cluster
        for si, name in enumerate(series):
            value = values.get(name, 0)
            h = chart_h * value / top
            x = x0 + si * bar
            parts.append(
                f'<rect x="{x}" y="{chart_h - h + 5:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{PALETTE[si % len(PALETTE)]}"><title>{esc(group)} {esc(name)}: {value}</title></rect>'
            )
        parts.append(f'<text x="{x0}" y="{chart_h + 22}" font-size="12">{esc(group)[:18]}</text>')
    parts.append(f'<line x1="45" y1="{chart_h + 5}" x2="{width}" y2="{chart_h + 5}" stroke="#999"/>')
    parts.append(f'<text x="0" y="14" font-size="11">{top:g}</text></svg>')
    legend = "".join(
        f'<span><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{esc(s)}</span>' for i, s in enumerate(series)
    )
    return f"<h3>{esc(title)}</h3><div class='legend'>{legend}</div>" + "".join(parts)
