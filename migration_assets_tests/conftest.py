"""Shared fixtures: an isolated workbench (var dir, sandboxes, Dagster instance) per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from migration_assets.connectors import open_destination, open_source, resolve_connection
from migration_assets.definitions import build_definitions
from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import approval_job_name, approval_op_name, rollback_job_name, rollback_op_name
from migration_assets.defs.resources import ConnectionsResource
from migration_assets.defs.runner import RunOutcome, run_phase
from migration_assets.reports.run_report import build_report
from migration_assets.sandbox import seeding
from migration_assets.settings import SPEC_DIR, Paths
from migration_assets.spec.loader import LoadedSpec, load_spec


@dataclass
class Workbench:
    """A var directory, its sandboxes and a throwaway Dagster instance, wired like production."""

    paths: Paths
    instance: dg.DagsterInstance
    spec_dir: Path = SPEC_DIR
    _built: tuple[tuple[tuple[str, bytes], ...], dg.Definitions] | None = field(default=None, init=False, repr=False)

    @property
    def defs(self) -> dg.Definitions:
        """The definitions of the spec folder, built again only when a file in it changed (specs,
        corrections): a build of every pair costs over a second, and most tests run several jobs on
        the same specs (like a code server, which keeps its definitions between runs)."""
        files = sorted(p for p in self.spec_dir.rglob("*") if p.is_file())
        specs = tuple((str(p.relative_to(self.spec_dir)), p.read_bytes()) for p in files)
        if self._built is None or self._built[0] != specs:
            self._built = (specs, build_definitions(self.paths, self.spec_dir))
        return self._built[1]

    def spec(self, pair: str) -> LoadedSpec:
        return load_spec(self.spec_dir / f"{pair}.yaml")

    def seed(self, scale: int = 200, seed: int = 42, options: dict | None = None) -> dict:
        return seeding.seed(self.paths.sandbox, scale=scale, seed=seed, options=options)

    def run(self, pair: str, phase: str) -> RunOutcome:
        return run_phase(self.defs, self.instance, pair, phase)

    def approve(self, pair: str, by: str = "reviewer@firm.example") -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def(approval_job_name(pair))
        config = {"ops": {approval_op_name(pair): {"config": {"approver": by}}}}
        return job.execute_in_process(instance=self.instance, run_config=config, raise_on_error=False)

    def rollback(self, pair: str, phase: str = "", *, schema: bool = False) -> dg.ExecuteInProcessResult:
        """Run the pair's rollback job (`schema`: also remove the schema the migration created)."""
        job = self.defs.resolve_job_def(rollback_job_name(pair))
        config = {"ops": {rollback_op_name(pair): {"config": {"phase": phase, "drop_schema": schema}}}}
        return job.execute_in_process(instance=self.instance, run_config=config, raise_on_error=False)

    def destination(self, system: str):
        return open_destination(system, resolve_connection(system, state_dir=self.paths.sandbox, environ={}))

    def source(self, system: str):
        return open_source(system, resolve_connection(system, state_dir=self.paths.sandbox, environ={}))

    def report(self, pair: str, phase: str) -> dict:
        spec = self.spec(pair)
        with duckdb.connect(str(self.paths.staging_db(pair))) as conn:
            dest = ConnectionsResource(sandbox_dir=str(self.paths.sandbox)).destination(
                spec.spec.destination, spec.spec.destination_options
            )
            return build_report(conn, spec, phase, dest)

    def sql(self, pair: str, query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.paths.staging_db(pair))) as conn:
            return conn.execute(query, params or []).fetchall()


def assert_counts_add_up(report: dict, *, every_object_has_rows: bool = True) -> None:
    """source = loaded + quarantined + excluded for every object of a run report."""
    for name, c in report["objects"].items():
        assert c["source"] == c["loaded"] + c["quarantined"] + c["excluded"], (name, c)
        if every_object_has_rows:
            assert c["source"] > 0, (name, c)


CORE_OBJECTS = ("account", "contact", "incident")


def core_spec_dir(
    target: Path,
    pair: str = "case_status__dynamics365",
    keep: tuple[str, ...] = CORE_OBJECTS,
    load: dict | None = None,
) -> Path:
    """A spec folder where `pair` keeps only the objects `keep` (and the schema, variants they use).

    The pipeline machinery (approval, resume, rollback, deltas, throttling) behaves the same for
    every object; these tests run it on the core objects, the e2e tests run every row."""
    target.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((SPEC_DIR / f"{pair}.yaml").read_text())
    spec["objects"] = {k: v for k, v in spec["objects"].items() if k in keep}
    tables = {o["table"] for o in spec["objects"].values()}
    spec["schema"] = {k: v for k, v in spec.get("schema", {}).items() if k in tables}
    spec.pop("exports", None)
    spec["options"]["load"] = {**spec["options"].get("load", {}), **(load or {})}
    for variant in spec.get("variants", {}).values():
        variant["objects"] = {k: v for k, v in variant.get("objects", {}).items() if k in keep}
        tables |= {o.get("table") for o in variant["objects"].values()}
        variant["schema"] = {k: v for k, v in variant.get("schema", {}).items() if k in tables}
    (target / f"{pair}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))
    return target


@pytest.fixture
def workbench(tmp_path: Path) -> Iterator[Workbench]:
    """A workbench on the project's own dagster.yaml (pools, run queue), its storage in tmp_path."""
    paths = Paths(tmp_path / "var")
    instance = project_instance(paths)
    try:
        yield Workbench(paths, instance)
    finally:
        instance.dispose()


# folders whose files run whole jobs (tens of seconds to minutes each): their files start first
RUN_FIRST = ("e2e", "cutover", "ui")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files that run whole jobs first. `make test` hands whole files to its workers in collection
    order (`--dist loadfile --no-loadscope-reorder`: xdist's own order, by number of tests, put these
    few-test files last, and one of them alone set the suite's last two minutes)."""
    rank = {folder: n for n, folder in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.parent.name, len(RUN_FIRST)))
