"""The `to_create` items of a schema plan as a checklist a person can follow, table by table.

Destinations that create their schema through their API do these items themselves in
plan/schema_apply; for the others (custom fields created by an admin in the destination's settings)
this is the setup plan handed over before any load. Items are rendered from their own keys, whatever
the destination, so every connector's plan reads the same way:

    name               the API name to create (column, key, pipeline...)
    label              the label to type in (a label often fixes the API name)
    type               the field type, in the destination's words when the connector gives them
    choices / options  dropdown choices (text, or {label, value} for destinations that pin values)
    stages             the stages of a pipeline, in order
    unique             the field must be marked unique (an upsert key)
    detail             where and how, as one sentence of the connector's
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

INTRO = (
    "Every item below must exist before the first load: plan/schema_apply creates them where the "
    "destination's API can, and otherwise refuses to load until a person has done them in the "
    "destination's settings. Tick them off in order, table by table."
)


def checklist_markdown(items: Sequence[Mapping[str, Any]]) -> str:
    """The checklist section (Markdown) of a schema plan's `to_create` items.

    Args:
        items: the plan's to_create items (dicts with at least `table`, `name` or `kind`).

    Returns:
        A "## To create" section: a sub-section per table, one checkbox line per item.
    """
    lines = [f"## To create: {len(items)} (setup checklist)", ""]
    if not items:
        return "\n".join([*lines, "none", ""])
    lines += [INTRO, ""]
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        by_table.setdefault(str(item.get("table") or "(destination)"), []).append(item)
    for table, group in by_table.items():
        lines += [f"### {table} ({len(group)})", ""]
        lines += [checklist_line(item) for item in group]
        lines.append("")
    return "\n".join(lines)


def checklist_line(item: Mapping[str, Any]) -> str:
    """One item: `- [ ] **Label** — `name`, kind, type, choices ..., unique` and its detail below."""
    name = str(item.get("name") or item.get("column") or item.get("table") or "")
    title = str(item.get("label") or name)
    facts = [f"`{name}`"] if title != name else []
    if item.get("kind"):
        facts.append(str(item["kind"]))
    if item.get("type"):
        facts.append(f"type {item['type']}")
    choices = _choices(item.get("choices") or item.get("options") or ())
    if choices:
        facts.append("choices: " + ", ".join(choices))
    if item.get("stages"):
        facts.append("stages in order: " + ", ".join(str(s) for s in item["stages"]))
    if item.get("unique"):
        facts.append("marked unique")
    line = f"- [ ] **{title}** — " + ", ".join(facts)
    detail = str(item.get("detail") or "").strip()
    return line + (f"  \n  {detail}" if detail else "")


def _choices(options: Any) -> list[str]:
    out = []
    for option in options or ():
        if isinstance(option, Mapping):
            label = option.get("label", option.get("value"))
            value = option.get("value")
            out.append(f"{label} ({value})" if value is not None and value != label else str(label))
        else:
            out.append(str(option))
    return out
