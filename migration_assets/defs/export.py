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
from typing import Any

import dagster as dg

from migration_assets.defs.layers import PairDefs, pair_asset
from migration_assets.defs.resources import ConnectionsResource
from migration_assets.engine.exports import ExportSource, write_export
from migration_assets.spec.model import ExportSpec
from migration_assets.systems import system


def build_export_assets(ctx: PairDefs) -> list[dg.AssetsDefinition]:
    """One `<pair>/export/<name>` asset per entry of `spec.exports` (none without `exports:`)."""
    return [_export_asset(ctx, name, export) for name, export in ctx.loaded.spec.exports.items()]


def _export_asset(ctx: PairDefs, name: str, export: ExportSpec) -> dg.AssetsDefinition:
    catalog = ctx.loaded.source_catalog[export.source]
    bookkeeping = frozenset(f.name for f in catalog.fields if f.type == "datetime" and f.name.endswith(("_at", "At")))
    source = ExportSource(system(ctx.source).title, catalog.id_field, bookkeeping | {catalog.updated_field or ""})

    @pair_asset(
        ctx,
        "export",
        name,
        kinds={"markdown"},
        deps=[ctx.key("plan", "approval_gate")],
        staging=False,
        description=f"{export.title}: JSON definitions plus a {export.guide} rebuild guide; nothing is loaded.",
    )
    def _export(context, connections: ConnectionsResource) -> dg.MaterializeResult:
        records = asyncio.run(_read(connections, ctx.source, export.source))
        folder = ctx.paths.report_dir(ctx.pair) / "exports"
        json_path, guide_path, items = write_export(folder, name, export, records, source)
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


async def _read(connections: ConnectionsResource, system_name: str, obj: str) -> list[dict[str, Any]]:
    source = connections.source(system_name)
    try:
        return [record async for page in source.extract(obj) for record in page]
    finally:
        await source.aclose()
