"""`export/<name>` assets: source objects that are exported for a rebuild by hand, never loaded.

One asset per entry of the spec's `exports:` (e.g. automations → a Power Automate rebuild guide,
portal_config → a Power Pages blueprint). Each reads its source object through the source
connector and writes `<reports>/<pair>/exports/<name>.json` (the definitions as the source holds
them) and `<name>_guide.md` (one section per item: its trigger or setting, the destination
counterpart from `ExportSpec.counterparts`, unmapped concepts flagged, then the spec's notes).

Items: when the source records carry the export's `concept_field` (automations: `trigger`), each
record is an item and its concept is that field's `type` (or the value itself when it is text).
Otherwise (a settings document such as portal_config) each setting is an item: top-level fields,
objects expanded one level (`features.messaging`); a counterpart is looked up by the full path,
then by its top-level field.

Example:
    exports:
      automations:
        source: automations
        title: Case Status automations
        guide: Power Automate
        counterparts:
          Single Message: "Dataverse trigger 'When a row is added, modified or deleted' ..."
"""

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from migration_assets.pipeline.naming import asset_key
from migration_assets.reports.writing import write_markdown_and_json
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ExportSpec

SKIPPED_SETTINGS = frozenset({"id", "created_at", "updated_at"})
UNMAPPED = "**unmapped**: no counterpart in the spec; design it by hand"


@dataclass(frozen=True)
class ExportItem:
    """One section of a guide: an automation or a setting."""

    title: str
    kind: str  # the concept field (e.g. trigger) or "setting"
    concept: str
    counterpart: str | None
    details: dict[str, Any]


def build_export_assets(loaded: LoadedSpec, phases: dg.PartitionsDefinition, paths: Paths) -> list[dg.AssetsDefinition]:
    """One `<pair>/export/<name>` asset per entry of `spec.exports`.

    Args:
        loaded: the spec.
        phases: the pair's phase partitions (exports are the same in every phase).
        paths: where the reports go.

    Returns:
        The export assets (none when the spec has no `exports:`).
    """
    return [_export_asset(loaded, name, export, phases, paths) for name, export in loaded.spec.exports.items()]


def _export_asset(
    loaded: LoadedSpec, name: str, export: ExportSpec, phases: dg.PartitionsDefinition, paths: Paths
) -> dg.AssetsDefinition:
    pair, system = loaded.pair, loaded.spec.source

    @dg.asset(
        key=asset_key(pair, "export", name),
        group_name=pair,
        partitions_def=phases,
        kinds={system, "json", "markdown"},
        tags={"layer": "export"},
        required_resource_keys={"connections"},
        description=f"{export.title}: JSON definitions plus a {export.guide} rebuild guide; nothing is loaded.",
    )
    def _export(context) -> dg.MaterializeResult:
        records = asyncio.run(_read(context.resources.connections, system, export.source))
        json_path, guide_path, items = write_export(paths.report_dir(pair) / "exports", name, export, records)
        unmapped = [i.concept for i in items if i.counterpart is None]
        context.log.info(f"export {name}: {len(records)} record(s), {len(items)} item(s), {len(unmapped)} unmapped")
        return dg.MaterializeResult(
            metadata={
                "records": len(records),
                "items": len(items),
                "unmapped": dg.MetadataValue.json(sorted(set(unmapped))),
                "definitions": dg.MetadataValue.path(str(json_path)),
                "guide": dg.MetadataValue.path(str(guide_path)),
                "preview": dg.MetadataValue.md(guide_path.read_text()[:6000]),
            }
        )

    return _export


async def _read(connections, system: str, obj: str) -> list[dict[str, Any]]:
    source = connections.source(system)
    try:
        return [record async for page in source.extract(obj) for record in page]
    finally:
        await source.aclose()


def export_items(export: ExportSpec, records: list[dict[str, Any]]) -> list[ExportItem]:
    """The guide's items: one per record carrying `concept_field`, else one per setting."""
    if records and all(export.concept_field in r for r in records):
        return [_record_item(export, r) for r in records]
    items = []
    for record in records:
        for key, value in record.items():
            if key in SKIPPED_SETTINGS:
                continue
            if isinstance(value, dict):
                items += [_setting(export, f"{key}.{k}", v) for k, v in value.items()]
            else:
                items.append(_setting(export, key, value))
    return items


def _record_item(export: ExportSpec, record: dict[str, Any]) -> ExportItem:
    raw = _json(record[export.concept_field])
    concept = str(raw.get("type")) if isinstance(raw, dict) else str(raw)
    title = str(record.get("name") or f"{export.source} {record.get('id')}")
    details = {k: v for k, v in record.items() if k not in SKIPPED_SETTINGS and k != "name"}
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
    folder: Path, name: str, export: ExportSpec, records: list[dict[str, Any]]
) -> tuple[Path, Path, list[ExportItem]]:
    """Write `<name>.json` and `<name>_guide.md` into `folder`.

    Returns:
        (json path, guide path, the guide's items).
    """
    folder.mkdir(parents=True, exist_ok=True)
    items = export_items(export, records)
    definitions = {
        "name": name,
        "title": export.title,
        "source": export.source,
        "destination_tool": export.guide,
        "count": len(records),
        "items": records,
    }
    guide_path, json_path = write_markdown_and_json(
        folder, name, guide_markdown(export, items), definitions, markdown_name=f"{name}_guide.md"
    )
    return json_path, guide_path, items


def guide_markdown(export: ExportSpec, items: list[ExportItem]) -> str:
    """The rebuild guide: a summary table, one section per item, then the spec's notes."""
    mapped = sum(1 for i in items if i.counterpart)
    lines = [
        f"# {export.title}: {export.guide} rebuild guide",
        "",
        f"{len(items)} item(s) from Case Status `{export.source}`; {mapped} map to a {export.guide} "
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
