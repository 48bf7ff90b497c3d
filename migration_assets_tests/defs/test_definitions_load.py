"""The code location loads, and every job of every pair resolves (catches a renamed module at once)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from migration_assets.definitions import build_definitions
from migration_assets.defs.naming import (
    OWNER,
    approval_job_name,
    migrate_job_name,
    plan_job_name,
    rollback_job_name,
)
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import load_all


def test_every_job_of_every_pair_resolves(tmp_path: Path) -> None:
    defs = build_definitions(Paths(tmp_path), SPEC_DIR)
    pairs = [s.pair for s in load_all(SPEC_DIR)]
    assert pairs, "no spec in mapping_specs/"
    for pair in pairs:
        for name in (migrate_job_name(pair), plan_job_name(pair), approval_job_name(pair), rollback_job_name(pair)):
            assert defs.resolve_job_def(name).name == name


def test_every_asset_has_an_owner_a_layer_and_a_description(tmp_path: Path) -> None:
    graph = build_definitions(Paths(tmp_path), SPEC_DIR).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == [OWNER], key
        assert node.tags.get("layer") == key.path[1], key
        assert node.description, key


def test_every_staging_step_runs_in_the_duckdb_pool(tmp_path: Path) -> None:
    defs = build_definitions(Paths(tmp_path), SPEC_DIR)
    job = defs.resolve_job_def(migrate_job_name(load_all(SPEC_DIR)[0].pair))
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    assert pools and all(p == "duckdb" for name, p in pools.items() if "__export__" not in name), pools


def test_sensors_and_resources_are_defined(tmp_path: Path) -> None:
    defs = build_definitions(Paths(tmp_path), SPEC_DIR)
    for spec in load_all(SPEC_DIR):
        assert isinstance(defs.resolve_sensor_def(f"{spec.pair}__delta_pickup"), dg.SensorDefinition)
    assert {"staging", "connections"} <= set(defs.resources or {})


def test_building_a_pair_never_changes_its_spec(tmp_path: Path) -> None:
    from migration_assets.defs.factory import build_pair_defs

    for loaded in load_all(SPEC_DIR):
        before = loaded.spec.model_dump(mode="json", by_alias=True)
        build_pair_defs(loaded, Paths(tmp_path))
        assert loaded.spec.model_dump(mode="json", by_alias=True) == before
