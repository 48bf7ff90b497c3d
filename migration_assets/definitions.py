"""The code location: one `build_pair_defs(spec)` per file in mapping_specs/, plus shared resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from migration_assets.defs.factory import build_pair_defs
from migration_assets.defs.instance import build_instance_health_sensor
from migration_assets.defs.naming import CONNECTIONS, STAGING
from migration_assets.defs.resources import ConnectionsResource, StagingResource
from migration_assets.heap import freeze_for_life
from migration_assets.settings import Paths, default_paths, default_spec_dir
from migration_assets.spec.loader import load_all


def build_definitions(paths: Paths, spec_dir: Path) -> dg.Definitions:
    pairs = [build_pair_defs(spec, paths) for spec in load_all(spec_dir)]
    shared = dg.Definitions(
        resources={
            CONNECTIONS: ConnectionsResource(sandbox_dir=str(paths.sandbox)),
            STAGING: StagingResource(directory=str(paths.staging)),
        },
        sensors=[build_instance_health_sensor()],
    )
    return dg.Definitions.merge(shared, *pairs)


defs = build_definitions(default_paths(), default_spec_dir())

# Everything built so far (Dagster, the specs, the definitions) lives as long as the process: the
# cyclic collector need not walk it again in every full collection. Unfrozen, a load's step ran a
# full collection of the ~180,000 objects (0.1 s each) every few thousand rows it built.
freeze_for_life()
