"""`python -m migration_assets.engine.phases_init`: add the sample/full phase keys of every pair
to the instance at $DAGSTER_HOME, so the UI can launch them at once."""

from __future__ import annotations

import os

import dagster as dg

from migration_assets.defs.naming import phases_name
from migration_assets.defs.phases import ensure_phases
from migration_assets.settings import PROJECT_ROOT, default_spec_dir
from migration_assets.spec.loader import load_all

if __name__ == "__main__":
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    os.chdir(PROJECT_ROOT)
    instance = dg.DagsterInstance.get()
    for spec in load_all(default_spec_dir()):
        ensure_phases(instance, spec.pair)
        print(f"{spec.pair}: phases {', '.join(instance.get_dynamic_partitions(phases_name(spec.pair)))}")
