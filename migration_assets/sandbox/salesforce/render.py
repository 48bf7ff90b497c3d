"""How records look in responses: `attributes {type, url}` then fields in describe order."""

from __future__ import annotations

from typing import Any

from migration_assets.sandbox.salesforce.schema import ObjectDef


def attributes(sobject: str, record_id: str | None, version: str) -> dict[str, str]:
    """The `attributes {type, url}` of a record."""
    out = {"type": sobject}
    if record_id:
        out["url"] = f"/services/data/v{version}/sobjects/{sobject}/{record_id}"
    return out


def field_value(obj: ObjectDef, name: str, record: dict[str, Any], version: str) -> Any:
    """A stored value as the API returns it (base64 fields become the URL of their bytes)."""
    if obj.fields[name].type == "base64":
        return f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}/{name}"
    return record.get(name)


def render_record(
    obj: ObjectDef, record: dict[str, Any], version: str, names: list[str] | None = None
) -> dict[str, Any]:
    """A record body for `GET /sobjects/<O>/<id>` (all fields unless `names`)."""
    chosen = names if names is not None else list(obj.fields)
    return {"attributes": attributes(obj.name, record["Id"], version)} | {
        n: field_value(obj, n, record, version) for n in chosen
    }
