"""Every name of the Dagster layer: asset keys, groups, jobs, ops, sensors, resources, pools.

Keys are `<pair>/<layer>/<name>`, e.g. case_status__dynamics365/stage/contact (see `asset_key`).
"""

from __future__ import annotations

import dagster as dg

LAYERS = ("discover", "profile", "plan", "extract", "stage", "load", "patch", "verify", "export", "cutover")
POOL = "duckdb"  # every asset, check and op that opens a pair's staging file (limit 1 in dagster.yaml)
OWNER = "team:migration"
STAGING = "staging"  # resource key of the StagingResource
CONNECTIONS = "connections"  # resource key of the ConnectionsResource


def asset_key(pair: str, layer: str, name: str) -> dg.AssetKey:
    """`<pair>/<layer>/<name>`, e.g. case_status__dynamics365/stage/contact."""
    assert layer in LAYERS, layer
    return dg.AssetKey([pair, layer, name])


def op_name(key: dg.AssetKey) -> str:
    """The op Dagster derives from an asset key (its path joined by '__'), used in run config."""
    return "__".join(key.path)


def group_name(pair: str, layer: str) -> str:
    """The asset group of a layer: the pair's group, except the approval (kept apart so that
    materializing the pair's group never asks for approval config)."""
    return f"{pair}__cutover" if layer == "cutover" else pair


def phases_name(pair: str) -> str:
    return f"{pair}__phase"


def migrate_job_name(pair: str) -> str:
    return f"{pair}__migrate"


def plan_job_name(pair: str) -> str:
    return f"{pair}__plan"


def approval_job_name(pair: str) -> str:
    return f"{pair}__approve"


def approval_op_name(pair: str) -> str:
    return op_name(asset_key(pair, "cutover", "approval"))


def rollback_job_name(pair: str) -> str:
    return f"{pair}__rollback"


def rollback_op_name(pair: str) -> str:
    return f"{pair}__rollback_destination"


def delta_sensor_name(pair: str) -> str:
    return f"{pair}__delta_pickup"
