"""The asset graph as the UI draws it, checked on the definitions (no browser): node names that tell
layers apart, a lane per layer inside the pair's group, checks per phase, described columns."""

from __future__ import annotations

import dagster as dg
import pytest

from migration_assets.definitions import build_definitions
from migration_assets.defs.naming import LANES, asset_key
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import load_all

PAIR = "case_status__dynamics365"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory):
    return build_definitions(Paths(tmp_path_factory.mktemp("var")), SPEC_DIR).resolve_asset_graph()


def test_every_node_name_starts_with_its_layer_so_no_two_layers_share_a_label(graph) -> None:
    for pair in (s.pair for s in load_all(SPEC_DIR)):
        keys = [k for k in graph.get_all_asset_keys() if k.path[0] == pair]
        labels = [k.path[-1] for k in keys]  # what the UI shows on a node
        assert len(labels) == len(set(labels)), pair
        assert all(k.path[-1].startswith(f"{k.path[1]}_") for k in keys), pair


def test_a_pairs_assets_sit_in_one_lane_per_layer_inside_the_pairs_group(graph) -> None:
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys() if k.path[0] == PAIR}
    lanes = {g.split("/", 1)[1] for g in groups if "/" in g}
    assert {"gate", "extract", "plan", "stage", "load", "verify", "export", "discovery"} <= lanes <= set(LANES.values())
    assert groups - {f"{PAIR}/{lane}" for lane in lanes} == {f"{PAIR}__cutover"}  # the approval, kept apart
    assert graph.get(asset_key(PAIR, "profile", "clients")).group_name == f"{PAIR}/discovery"


def test_checks_of_phase_partitioned_assets_are_partitioned_by_phase(graph) -> None:
    for check_key in graph.asset_check_keys:
        if check_key.asset_key.path[0] != PAIR:
            continue
        asset = graph.get(check_key.asset_key)
        spec = graph.get_check_spec(check_key)
        assert spec.partitions_def == asset.partitions_def, check_key


def test_a_staged_table_declares_described_columns_and_its_mapping_as_yaml(graph) -> None:
    node = graph.get(asset_key(PAIR, "stage", "incident"))
    schema = node.metadata["dagster/column_schema"]
    described = {c.name: c.description for c in schema.columns}
    assert "Mapping: `{op: value_map, map: case_status, of: status, output: statuscode}`" in described["statuscode"]
    assert "Negotiation=100000000" in described["statuscode"]
    assert "standard column" in described["title"]
    mapping = node.metadata["mapping"]
    assert isinstance(mapping, dg.MarkdownMetadataValue)
    assert "```yaml\nincident:\n  source: cases" in mapping.value and "value_maps:" in mapping.value


def test_every_asset_has_an_owner_and_a_description(graph) -> None:
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners and node.description, key
