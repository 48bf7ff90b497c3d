"""The one naming rule for asset keys and staging tables."""

from __future__ import annotations

import dagster as dg

LAYERS = ("discover", "profile", "plan", "extract", "stage", "load", "patch", "verify", "export", "cutover")


def asset_key(pair: str, layer: str, name: str) -> dg.AssetKey:
    """`<pair>/<layer>/<name>`, e.g. case_status__dynamics365/stage/contact."""
    assert layer in LAYERS, layer
    return dg.AssetKey([pair, layer, name])


def sql_name(name: str) -> str:
    return name.replace("-", "_")


def extract_table(source_object: str) -> str:
    return f"extract__{sql_name(source_object)}"


def stage_table(obj: str) -> str:
    return f"stage__{sql_name(obj)}"
