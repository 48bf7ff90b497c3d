"""A throwaway workbench for the benches: one pair's sandboxes seeded with their limits lifted (or
set), a spec folder with that pair's spec, a Dagster instance, and the steps up to staging run.

Only the pair's own source and destination are seeded (the others cost time and are not read), in
the same way `sandbox.seeding.seed` seeds them all: the source's dataset, then the destination's
users mirrored from the source's people.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from migration_assets.definitions import build_definitions
from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import approval_job_name, approval_op_name, migrate_job_name
from migration_assets.defs.phases import ensure_phases
from migration_assets.defs.runner import RunOutcome, run_phase
from migration_assets.sandbox.seeding import directory
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import LoadedSpec, load_spec
from migration_assets.systems import system

# options that lift every sandbox limit a bench does not measure
UNLIMITED: dict[str, dict[str, Any]] = {
    "case_status": {"rate_per_second": 1_000_000, "burst": 1_000_000},
    "dynamics365": {"requests_per_window": 10_000_000, "execution_ms_per_window": 10**12, "max_concurrency": 10_000},
    "salesforce": {"daily_api_limit": 100_000_000},
    "freshsales": {"plan": "forest", "hourly_limit": 10_000_000, "minute_limit": 10_000_000},
}


PLAN_ONLY = ("estimate", "report")  # assets of the plan job, not of the migration


@dataclass
class BenchPair:
    """One pair's bench workbench under `var`."""

    pair: str
    var: Path
    instance: dg.DagsterInstance | None = None

    @property
    def paths(self) -> Paths:
        return Paths(self.var)

    @property
    def spec_dir(self) -> Path:
        return self.var / "specs"

    @property
    def source(self) -> str:
        return self.pair.split("__")[0]

    @property
    def destination(self) -> str:
        return self.pair.split("__")[1]

    def spec(self) -> LoadedSpec:
        return load_spec(self.spec_dir / f"{self.pair}.yaml")

    def defs(self) -> dg.Definitions:
        return build_definitions(self.paths, self.spec_dir)

    def state_path(self, name: str) -> Path:
        return system(name).state_path(self.paths.sandbox)

    def setup(
        self, *, scale: int, seed: int = 42, files: bool = False, options: Mapping[str, Mapping] | None = None
    ) -> dict[str, Any]:
        """Wipe `var`, write the spec (without file objects unless `files`), seed the pair's systems.

        Args:
            scale: the source generator's scale.
            seed: its seed.
            files: keep the spec's file objects (their bytes dominate a load's time otherwise).
            options: sandbox options per system, over UNLIMITED.

        Returns:
            The source's seeding counts.
        """
        shutil.rmtree(self.var, ignore_errors=True)
        self.spec_dir.mkdir(parents=True)
        write_spec(self.spec_dir, self.pair, files=files)
        self.instance = project_instance(self.paths)
        return seed_pair(self.paths.sandbox, self.pair, scale=scale, seed=seed, options=options)

    def setup_apart(self, *, scale: int, options: Mapping[str, Mapping] | None = None) -> tuple[dict[str, Any], float]:
        """`setup` in a fresh child process (`seed_apart`), then this process's Dagster instance on
        the new workbench: (the source's seeding counts, the child's peak RSS in MB)."""
        seeded = seed_apart(self.pair, scale, self.var, options)
        self.instance = project_instance(self.paths)
        return seeded

    def run(self, phase: str) -> RunOutcome:
        assert self.instance is not None
        return run_phase(self.defs(), self.instance, self.pair, phase)

    def approve(self) -> None:
        assert self.instance is not None
        config = {"ops": {approval_op_name(self.pair): {"config": {"approver": "bench", "note": "bench"}}}}
        self.defs().resolve_job_def(approval_job_name(self.pair)).execute_in_process(
            instance=self.instance, run_config=config
        )

    def run_layers(self, phase: str, layers: tuple[str, ...]) -> dg.ExecuteInProcessResult:
        """Materialize only the pair's assets of `layers` (e.g. extract, plan, stage) for `phase`."""
        assert self.instance is not None
        defs = self.defs()
        job = defs.resolve_job_def(migrate_job_name(self.pair))
        keys = [
            k
            for k in defs.resolve_asset_graph().get_all_asset_keys()
            if k.path[0] == self.pair
            and len(k.path) > 2
            and k.path[1] in layers
            and k.path[2].removeprefix(f"{k.path[1]}_") not in PLAN_ONLY
        ]
        ensure_phases(self.instance, self.pair, (phase,))
        return job.execute_in_process(instance=self.instance, partition_key=phase, asset_selection=keys)

    def staged_full(self) -> None:
        """Sample phase run and approved, then the full phase's extract, plan and stage steps."""
        outcome = self.run("sample")
        if not outcome.success:
            raise RuntimeError(f"{self.pair} sample failed: {outcome.failures}")
        self.approve()
        self.run_layers("full", ("extract", "plan", "stage"))

    def close(self) -> None:
        if self.instance is not None:
            self.instance.dispose()
            self.instance = None


def _seed(pair: str, scale: int, var: Path, options: Mapping[str, Mapping] | None) -> tuple[dict[str, Any], float]:
    work = BenchPair(pair, var)
    try:
        return work.setup(scale=scale, options=options), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        work.close()


def seed_apart(
    pair: str, scale: int, var: Path, options: Mapping[str, Mapping] | None = None
) -> tuple[dict[str, Any], float]:
    """`BenchPair.setup` in a fresh child process (the generator holds the whole dataset in memory,
    and a bench measuring this process should not run with what it leaves on the heap): the seeding
    counts and the child's peak RSS in MB. (RUSAGE_CHILDREN would not tell it: every process a run
    forks, e.g. Dagster's orphan watchers, counts with the parent's size at the fork.)"""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_seed, pair, scale, var, options).result()


def write_spec(target: Path, pair: str, *, files: bool) -> Path:
    """The pair's spec in `target`, without its file objects (and their schema) unless `files`."""
    spec = yaml.safe_load((SPEC_DIR / f"{pair}.yaml").read_text())
    if not files:
        spec["objects"] = {k: v for k, v in spec["objects"].items() if v.get("kind") != "file"}
        for variant in spec.get("variants", {}).values():
            variant["objects"] = {k: v for k, v in variant.get("objects", {}).items() if v.get("kind") != "file"}
    path = target / f"{pair}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))
    return path


def seed_pair(
    sandbox: Path, pair: str, *, scale: int, seed: int, options: Mapping[str, Mapping] | None = None
) -> dict[str, Any]:
    """Reset the pair's source and destination (UNLIMITED, then `options`), generate the source's
    dataset and mirror its people as destination users."""
    source, destination = (system(n) for n in pair.split("__"))
    given = dict(options or {})
    for declared in (source, destination):
        opts = {**UNLIMITED.get(declared.name, {}), **dict(given.get(declared.name, {}))}
        declared.seeding().reset(declared.state_path(sandbox), **opts)
    path = source.state_path(sandbox)
    counts = source.seeding().generate(path, scale=scale, seed=seed)
    people = directory({source.name: source.seeding().people(path)})
    destination.seeding().seed_users(destination.state_path(sandbox), people)
    return counts
