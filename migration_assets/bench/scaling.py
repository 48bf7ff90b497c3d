"""One pair's phases at one scale on its bench workbench (sandbox limits lifted, no file objects):
per step records, seconds, records/s, requests and 429s of the full phase, read-back (verify) time
as a share of it, and the estimator's prediction of the full phase against the measured run.

The sandboxes are seeded in a child process of their own, so the peak RSS reported is the
migration's (sample and full phase, sandboxes served in process), not the data generator's.
`bench.report` runs it at several scales, each in a process of its own, and derives
t(larger)/t(smaller) per step. Figures only: nothing here asserts on time.

    python -m migration_assets.bench.scaling [--pair case_status__dynamics365] [--scale 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import dagster as dg

from migration_assets.bench.__main__ import step_rows
from migration_assets.bench.discovery_figures import estimate_error
from migration_assets.bench.workbench import BenchPair
from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import step_label
from migration_assets.defs.run_history import history
from migration_assets.discovery.estimating import RunMeasure, StepMeasure, step_records
from migration_assets.discovery.plan_report import report_folder
from migration_assets.discovery.source_schema import SourceSchema
from migration_assets.reports.discovery_report import read_report
from migration_assets.settings import PROJECT_ROOT

PAIR = "case_status__dynamics365"
READ_BACK_LAYERS = ("verify",)


class RssSampler:
    """This process's resident set size every `interval` seconds while it runs, so that each step's
    peak can be told apart (getrusage only knows the whole process's peak)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (unix time, MB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), _rss_mb()))
            self._stop.wait(self.interval)

    def peak(self, start: float, end: float) -> float | None:
        within = [mb for at, mb in self.samples if start <= at <= end]
        return round(max(within), 1) if within else None


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def step_peaks(instance: dg.DagsterInstance, pair: str, run_id: str, sampler: RssSampler) -> dict[str, float | None]:
    """Peak RSS (MB) sampled while each step of the run ran, by step label (`load/contact`)."""
    return {
        step_label(pair, s.step_key): sampler.peak(s.start_time, s.end_time)
        for s in instance.get_run_step_stats(run_id)
        if s.start_time is not None and s.end_time is not None
    }


def workbench_dir(pair: str, scale: int) -> Path:
    return PROJECT_ROOT / "var" / "bench" / "scaling" / f"{pair}-{scale}"


def rehearsals(pair: str, scales: Sequence[int]) -> tuple[list[StepMeasure], list[RunMeasure]]:
    """Steps and runs of the pair's benches at other scales (left in their workbenches), each step
    with the records it handled there (from that workbench's discovery): what the estimator knows
    of a pair rehearsed on smaller copies before its cutover."""
    steps: list[StepMeasure] = []
    runs: list[RunMeasure] = []
    for scale in scales:
        work = BenchPair(pair, workbench_dir(pair, scale))
        discovered = report_folder(work.paths, pair, "discover") / "source_schema.json"
        if not discovered.exists():
            continue
        work.instance = project_instance(work.paths)
        try:
            loaded, source = work.spec(), SourceSchema.from_json(read_report(discovered) or {})
            found, done = history(work.instance, pair)
            steps += [
                m if m.records is not None else replace(m, records=step_records(loaded, source, m.phase, m.step))
                for m in found
            ]
            runs += done
        finally:
            work.close()
    return steps, runs


def bench(pair: str, scale: int, var: Path, rehearsed: Sequence[int] = ()) -> dict[str, Any]:
    """Seed, run the sample phase, approve it, run the full phase, and estimate it afterwards: from
    the sample run alone, and with the runs of the `rehearsed` scales too."""
    work = BenchPair(pair, var)
    try:
        started = time.monotonic()
        counts, seed_rss = work.setup_apart(scale=scale)
        seeded = time.monotonic() - started
        sample = work.run("sample")
        work.approve()
        started = time.monotonic()
        with RssSampler() as sampler:
            full = work.run("full")
        wall = time.monotonic() - started
        assert work.instance is not None
        peaks = step_peaks(work.instance, pair, full.run_id, sampler)
        steps = [{**row, "peak_rss_mb": peaks.get(row["step"])} for row in step_rows(work.instance, full.run_id, None)]
        read_back = sum(s["seconds"] for s in steps if s["step"].split("/")[0] in READ_BACK_LAYERS)
        estimator = estimate_error(work.defs(), work.instance, work.spec(), work.paths)
        rehearsed_estimator = (
            estimate_error(work.defs(), work.instance, work.spec(), work.paths, rehearsals(pair, rehearsed))
            if rehearsed
            else None
        )
    finally:
        work.close()
    return {
        "pair": pair,
        "scale": scale,
        "source_records": sum(v for v in counts.values() if isinstance(v, int)),
        "seed_seconds": round(seeded, 1),
        "sample_success": sample.success,
        "success": full.success,
        "full_seconds": round(wall, 1),
        "steps": steps,
        "read_back_seconds": round(read_back, 1),
        "read_back_share": round(read_back / wall, 3) if wall else 0.0,
        "estimator": estimator,
        "estimator_rehearsed": rehearsed_estimator,  # with the runs at the scales in `rehearsed_at`
        "rehearsed_at": list(rehearsed),
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_seeding": round(seed_rss, 1),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default=PAIR)
    parser.add_argument("--scale", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rehearsed", default="", help="scales benched before (their workbenches are kept)")
    args = parser.parse_args(argv)
    rehearsed = [int(s) for s in args.rehearsed.split(",") if s]
    out = bench(args.pair, args.scale, workbench_dir(args.pair, args.scale), rehearsed)
    print(f"scaling {args.pair} at {args.scale}: {json.dumps({k: v for k, v in out.items() if k != 'steps'})}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
