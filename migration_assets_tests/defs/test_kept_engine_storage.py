"""The project's Dagster storage (`dagster.yaml`: `storage: custom:` KeptEngineSqliteStorage) keeps an
engine per database file instead of one per call, and is still Dagster's SQLite storage: the same
files, what a run wrote is read back by another instance on them (another process: the webserver,
the CLI), and the run shards' engines kept are bounded."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy as db

from migration_assets.defs import storage
from migration_assets.defs.instance import project_instance
from migration_assets.settings import Paths


@dg.asset
def counted() -> int:
    return 1


def test_the_project_instance_keeps_one_engine_per_file_and_others_read_what_it_wrote(tmp_path: Path, monkeypatch):
    made: list[str] = []
    engine = storage._engine

    def counting(conn_string: str, **connect_args) -> db.engine.Engine:
        made.append(conn_string)
        return engine(conn_string, **connect_args)

    monkeypatch.setattr(storage, "_engine", counting)
    monkeypatch.setattr(storage, "KEPT_SHARDS", 2)
    paths = Paths(tmp_path / "var")
    instance = project_instance(paths)
    try:
        assert isinstance(instance.event_log_storage, storage.KeptEngineEventLogStorage)
        assert isinstance(instance.run_storage, storage.KeptEngineRunStorage)
        runs = [dg.materialize([counted], instance=instance).run_id for _ in range(3)]
        # the run storage, the schedule storage, the index shard and one shard per run: each made once,
        # however many events the runs logged
        assert len(made) == len(set(made)) == 3 + len(runs)
        assert len(instance.event_log_storage._engines) == 2  # the oldest run shards' engines let go
    finally:
        instance.dispose()

    other = dg.DagsterInstance.from_config(str(paths.var / "dagster"))  # the files as another process sees them
    try:
        assert [r.run_id for r in other.get_runs()] == runs[::-1]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in other.get_runs())
        latest = other.get_latest_materialization_event(dg.AssetKey("counted"))
        assert latest is not None and latest.run_id == runs[-1]
        assert (paths.var / "dagster" / "storage" / "history" / "runs.db").exists()  # `storage: sqlite:`'s layout
    finally:
        other.dispose()
