"""Flags: staged rows that load but need a person after cutover, listed in a report per object.

An object's `flags:` name conditions over its source row (e.g. an appointment with invitees who
have no account in the destination, a contact whose organization is missing in the source). Stage
computes each flag's `when` and `show` beside the mapped columns (`flag_columns`), keeps the rows
that are staged and flagged (`flagged`), and the stage asset writes `flags_<object>_<phase>.md` /
`.json` under the pair's reports (`write_report`), one section per flag with the listed text.

Example:
    flags:
      reinvite:
        title: Invitees without a Microsoft account, to invite again after cutover
        when: {op: not_null, of: {op: json_pluck, of: attendees, key: email, where: {internal: false}}}
        show: {op: json_pluck, of: attendees, key: email, where: {internal: false}, sep: "; "}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from migration_assets.reports.writing import write_markdown_and_json
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap

PREFIX = "_flag_"
EXT, SRC = "_external_id", "_source_id"  # the staged identity columns (engine.transform)


def flag_columns(loaded: LoadedSpec, obj_name: str) -> list[pl.Expr]:
    """One `_flag_<name>` column per flag: the text shown for a flagged row ('' without `show`),
    null for a row the flag does not pick."""
    out = []
    for name, flag in loaded.spec.objects[obj_name].flags.items():
        when = loaded.compile(obj_name, f"flags.{name}.when", flag.when).expr.fill_null(False)
        show = (
            loaded.compile(obj_name, f"flags.{name}.show", flag.show).expr.cast(pl.String).fill_null("")
            if flag.show is not None
            else pl.lit("")
        )
        out.append(pl.when(when).then(show).otherwise(pl.lit(None, pl.String)).alias(f"{PREFIX}{name}"))
    return out


def flagged(obj: ObjectMap, frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """{flag: rows (_external_id, _source_id, shown)} of a frame holding the `_flag_*` columns."""
    out = {}
    for name in obj.flags:
        column = f"{PREFIX}{name}"
        rows = frame.filter(pl.col(column).is_not_null()) if column in frame.columns else frame.clear()
        out[name] = rows.select(EXT, SRC, pl.col(column).alias("shown")) if column in frame.columns else pl.DataFrame()
    return out


def write_report(
    report_dir: Path,
    obj_name: str,
    phase: str,
    obj: ObjectMap,
    rows: Mapping[str, pl.DataFrame],
    keep: set[str] | None = None,
) -> tuple[dict[str, int], Path | None]:
    """Write `flags_<object>_<phase>.{md,json}`; return the count per flag and the Markdown path.

    Args:
        report_dir: the pair's report folder.
        obj_name: the object.
        phase: the phase.
        obj: the object's spec (titles).
        rows: `flagged`'s result.
        keep: the external ids staged in this phase (a sample keeps fewer); None keeps all.

    Returns:
        ({flag: rows listed}, markdown path), or ({}, None) for an object without flags.
    """
    if not obj.flags:
        return {}, None
    doc: dict[str, Any] = {"object": obj_name, "phase": phase, "flags": {}}
    lines = [
        f"# Flagged {obj_name} records ({phase})",
        "",
        "These records are staged to load (one the load holds back is quarantined too); each list needs a person.",
        "",
    ]
    counts = {}
    for name, flag in obj.flags.items():
        frame = rows.get(name, pl.DataFrame())
        listed = [r for r in frame.iter_rows(named=True) if keep is None or r[EXT] in keep] if frame.height else []
        counts[name] = len(listed)
        doc["flags"][name] = {
            "title": flag.title,
            "rows": [{"source_id": r[SRC], "external_id": r[EXT], "shown": r["shown"]} for r in listed],
        }
        lines += [f"## {flag.title} ({len(listed)})", ""]
        lines += ["| source id | external id | detail |", "|---|---|---|"] if listed else ["none"]
        lines += [f"| {r[SRC]} | {r[EXT]} | {_cell(r['shown'])} |" for r in listed]
        lines.append("")
    md_path, _json_path = write_markdown_and_json(report_dir, f"flags_{obj_name}_{phase}", "\n".join(lines), doc)
    return counts, md_path


def _cell(value: Any) -> str:
    return str(value or "").replace("|", "\\|").replace("\n", " ")
