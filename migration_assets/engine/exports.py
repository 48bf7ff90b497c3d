"""Exports of what does not migrate as records: the JSON definitions and the rebuild guide.

Items: when the source records carry the export's `concept_field` (automations: `trigger`), each
record is an item and its concept is that field's `concept_key` (default `type`) when the field
holds an object, or the value itself when it is text.
Otherwise (a settings document such as a portal configuration) each setting is an item: top-level
fields, objects expanded one level (`features.messaging`); a counterpart is looked up by the full
path, then by its top-level field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migration_assets.reports.writing import write_markdown_and_json
from migration_assets.spec.model import ExportSpec

UNMAPPED = "**unmapped**: no counterpart in the spec; design it by hand"


@dataclass(frozen=True)
class ExportSource:
    """What the guide says about the source object: the system's title, and the bookkeeping fields
    (its id and timestamps) that are not settings to rebuild."""

    title: str
    id_field: str = "id"
    bookkeeping: frozenset[str] = frozenset()

    @property
    def skipped(self) -> frozenset[str]:
        return self.bookkeeping | {self.id_field}


@dataclass(frozen=True)
class ExportItem:
    """One section of a guide: an automation or a setting."""

    title: str
    kind: str  # the concept field (e.g. trigger) or "setting"
    concept: str
    counterpart: str | None
    details: dict[str, Any]


def export_items(export: ExportSpec, records: list[dict[str, Any]], source: ExportSource) -> list[ExportItem]:
    """The guide's items: one per record carrying `concept_field`, else one per setting."""
    if records and all(export.concept_field in r for r in records):
        return [_record_item(export, r, source) for r in records]
    items = []
    for record in records:
        for key, value in record.items():
            if key in source.skipped:
                continue
            if isinstance(value, dict):
                items += [_setting(export, f"{key}.{k}", v) for k, v in value.items()]
            else:
                items.append(_setting(export, key, value))
    return items


def _record_item(export: ExportSpec, record: dict[str, Any], source: ExportSource) -> ExportItem:
    raw = _json(record[export.concept_field])
    concept = str(raw.get(export.concept_key)) if isinstance(raw, dict) else str(raw)
    title = str(record.get("name") or f"{export.source} {record.get(source.id_field)}")
    details = {k: v for k, v in record.items() if k not in source.skipped and k != "name"}
    return ExportItem(title, export.concept_field, concept, export.counterparts.get(concept), details)


def _json(value: Any) -> Any:
    """A JSON value the source may send as text (decoded), else the value itself."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _setting(export: ExportSpec, path: str, value: Any) -> ExportItem:
    counterpart = export.counterparts.get(path) or export.counterparts.get(path.split(".")[0])
    return ExportItem(path, "setting", path, counterpart, {"value": value})


def write_export(
    folder: Path, name: str, export: ExportSpec, records: list[dict[str, Any]], source: ExportSource
) -> tuple[Path, Path, list[ExportItem]]:
    """Write `<name>.json` and `<name>_guide.md` into `folder`.

    Returns:
        (json path, guide path, the guide's items).
    """
    folder.mkdir(parents=True, exist_ok=True)
    items = export_items(export, records, source)
    definitions = {
        "name": name,
        "title": export.title,
        "source": export.source,
        "destination_tool": export.guide,
        "count": len(records),
        "items": records,
    }
    guide_path, json_path = write_markdown_and_json(
        folder, name, guide_markdown(export, items, source.title), definitions, markdown_name=f"{name}_guide.md"
    )
    return json_path, guide_path, items


def guide_markdown(export: ExportSpec, items: list[ExportItem], source_title: str) -> str:
    """The rebuild guide: a summary table, one section per item, then the spec's notes."""
    mapped = sum(1 for i in items if i.counterpart)
    lines = [
        f"# {export.title}: {export.guide} rebuild guide",
        "",
        f"{len(items)} item(s) from {source_title} `{export.source}`; {mapped} map to a {export.guide} "
        f"counterpart, {len(items) - mapped} are flagged unmapped. Nothing here was migrated automatically.",
        "",
        f"| item | {items[0].kind if items else export.concept_field} | {export.guide} counterpart |",
        "|---|---|---|",
    ]
    lines += [f"| {_cell(i.title)} | {_cell(i.concept)} | {_cell(i.counterpart or 'UNMAPPED')} |" for i in items]
    for item in items:
        lines += ["", f"## {item.title}", "", f"- Source {item.kind}: `{item.concept}`"]
        lines.append(f"- {export.guide}: {item.counterpart or UNMAPPED}")
        for key, value in item.details.items():
            lines.append(f"- {key}: `{json.dumps(value, default=str, ensure_ascii=False)}`")
    if export.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in export.notes]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
