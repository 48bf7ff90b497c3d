"""Where the workbench keeps its files. Everything generated lives under one ignored folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = PROJECT_ROOT / "mapping_specs"  # the repository's specs (the default spec folder)


@dataclass(frozen=True)
class Paths:
    """Folders under the var directory (default `<repo>/var`, or $MIGRATE_VAR_DIR)."""

    var: Path

    @property
    def staging(self) -> Path:
        return self.var / "staging"

    @property
    def sandbox(self) -> Path:
        return self.var / "sandbox"

    @property
    def reports(self) -> Path:
        return self.var / "reports"

    def staging_db(self, pair: str) -> Path:
        return self.staging / f"{pair}.duckdb"

    def report_dir(self, pair: str) -> Path:
        path = self.reports / pair
        path.mkdir(parents=True, exist_ok=True)
        return path


def default_paths() -> Paths:
    """The one place that reads MIGRATE_VAR_DIR: tests and subprocesses point it at a temp dir."""
    return Paths(Path(os.environ.get("MIGRATE_VAR_DIR") or PROJECT_ROOT / "var").resolve())


def default_spec_dir() -> Path:
    """mapping_specs/ of the repository, or $MIGRATE_SPEC_DIR (specs kept elsewhere)."""
    return Path(os.environ.get("MIGRATE_SPEC_DIR") or SPEC_DIR).resolve()
