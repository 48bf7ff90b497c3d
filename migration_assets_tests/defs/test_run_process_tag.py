"""A run is tagged with the process that runs it (`record_process`), once whatever its number of steps:
the tag is how a later run tells that a killed run's process is gone (`reclaim_dead_runs`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg
import pytest

from migration_assets.defs.instance import HOST_TAG, PID_TAG, project_instance, record_process
from migration_assets.settings import Paths


@dg.op
def step(context) -> None:  # unannotated: dagster reads the annotation as text here
    record_process(context)


@dg.job(executor_def=dg.in_process_executor)
def three_steps() -> None:
    step.alias("first")()
    step.alias("second")()
    step.alias("third")()


def test_a_run_is_tagged_with_its_process_once_whatever_its_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    instance = project_instance(Paths(tmp_path / "var"))  # the project's dagster.yaml and run storage
    tagged: list[str] = []
    add_run_tags = instance.add_run_tags

    def counted(run_id: str, tags: dict[str, str]) -> None:
        tagged.append(run_id)
        add_run_tags(run_id, tags)

    monkeypatch.setattr(instance, "add_run_tags", counted)
    try:
        result = three_steps.execute_in_process(instance=instance)
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        assert (run.tags[PID_TAG], run.tags[HOST_TAG]) == (str(os.getpid()), socket.gethostname())
        assert tagged == [result.run_id]  # the first step tagged it; the other two did not write again
    finally:
        instance.dispose()
