"""The code location: one `build_pair_defs(spec)` per file in mapping_specs/, plus shared resources."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from migration_assets.pipeline.factory import build_pair_defs
from migration_assets.pipeline.resources import ConnectionsResource
from migration_assets.settings import Paths, default_paths, default_spec_dir
from migration_assets.spec.loader import DEFAULT_SPEC_DIR, load_all


def build_definitions(paths: Paths, spec_dir: Path = DEFAULT_SPEC_DIR) -> dg.Definitions:
    pairs = [build_pair_defs(spec, paths) for spec in load_all(spec_dir)]
    shared = dg.Definitions(resources={"connections": ConnectionsResource(sandbox_dir=str(paths.sandbox))})
    return dg.Definitions.merge(shared, *pairs)


defs = build_definitions(default_paths(), default_spec_dir())
