"""Every name of the Dagster layer: asset keys, groups, jobs, ops, sensors, resources, pools.

Keys are `<pair>/<layer>/<layer>_<name>`, e.g. case_status__dynamics365/stage/stage_contact (see
`asset_key`): the UI labels a node with the key's last segment only, so that segment names the layer
too (`extract_clients`, `stage_contact`, `load_contact` tell the layers apart on the graph).

Groups are nested (`<pair>/<lane>`, Dagster >= 1.13.9): a pair's group holds one sub-group per lane,
and the graph lays the lanes out left to right in load order (see `LANES`), with the discovery and
profiling assets in a lane of their own.
"""

from __future__ import annotations

import dagster as dg

LAYERS = ("discover", "profile", "plan", "extract", "stage", "load", "patch", "verify", "export", "cutover")
POOL = "duckdb"  # every asset, check and op that opens a pair's staging file (limit 1 in dagster.yaml)
OWNER = "team:migration"
STAGING = "staging"  # resource key of the StagingResource
CONNECTIONS = "connections"  # resource key of the ConnectionsResource

# The lane (sub-group) of a layer in the pair's graph; a (layer, name) entry wins over the layer's.
# plan/approval_gate opens every run, before anything is extracted; plan/estimate and plan/report
# belong to the <pair>__plan job with the discovery and profiling assets.
LANES: dict[str | tuple[str, str], str] = {
    "discover": "discovery",
    "profile": "discovery",
    ("plan", "estimate"): "discovery",
    ("plan", "report"): "discovery",
    ("plan", "approval_gate"): "gate",
    "extract": "extract",
    "plan": "plan",
    "stage": "stage",
    "load": "load",
    "patch": "patch",
    "verify": "verify",
    "export": "export",
}


def asset_key(pair: str, layer: str, name: str) -> dg.AssetKey:
    """`<pair>/<layer>/<layer>_<name>`, e.g. case_status__dynamics365/stage/stage_contact."""
    assert layer in LAYERS, layer
    return dg.AssetKey([pair, layer, f"{layer}_{name}"])


def layer_and_name(key: dg.AssetKey) -> tuple[str, str]:
    """The (layer, name) an asset key was made from: the inverse of `asset_key`."""
    _pair, layer, last = key.path
    return layer, last.removeprefix(f"{layer}_")


def op_name(key: dg.AssetKey) -> str:
    """The op Dagster derives from an asset key (its path joined by '__'), used in run config."""
    return "__".join(key.path)


def step_name(pair: str, step_key: str) -> str:
    """`<layer>__<name>` of a step key of `pair` (a check step keeps its `_<check>` suffix), e.g.
    `case_status__dynamics365__stage__stage_contact_schema_gate` -> `stage__contact_schema_gate`."""
    layer, _, rest = step_key.removeprefix(f"{pair}__").partition("__")
    return f"{layer}__{rest.removeprefix(f'{layer}_')}" if rest else layer


def step_label(pair: str, step_key: str) -> str:
    """What a person reads for a step: `stage/contact`, `stage/contact schema_gate` for its check."""
    layer, _, name = step_name(pair, step_key).partition("__")
    return f"{layer}/{name}" if name else layer


def group_name(pair: str, layer: str, name: str = "") -> str:
    """The asset group of an asset: `<pair>/<lane>`, except the approval, kept in `<pair>__cutover`
    apart from the pair's group so that materializing the pair's group never asks for approval config."""
    if layer == "cutover":
        return f"{pair}__cutover"
    return f"{pair}/{LANES.get((layer, name), LANES[layer])}"


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
