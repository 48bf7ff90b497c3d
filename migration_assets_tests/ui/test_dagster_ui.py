"""The Dagster UI as a person uses it, in a real browser (Playwright on Debian's chromium).

One test starts `dagster dev` on a free port over an isolated var dir (seeded sandbox, the core
objects of case_status__dynamics365), opens the pair's graph with its lanes, launches a sample run
from the job page's "Materialize all" dialog and waits until the run page says Success. It writes
screenshots under var/screenshots/ (see SHOTS). Skipped where /usr/bin/chromium is absent
(`.ci/run` installs it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_assets.defs.instance import project_instance
from migration_assets.defs.naming import migrate_job_name
from migration_assets.defs.phases import ensure_phases
from migration_assets.sandbox import seeding
from migration_assets.settings import PROJECT_ROOT, Paths
from migration_assets_tests.conftest import core_spec_dir

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAIR = "case_status__dynamics365"
SHOTS = PROJECT_ROOT / "var" / "screenshots"
STARTUP_SECONDS = 180
RUN_SECONDS = 420

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(process: subprocess.Popen, needle: str, seconds: float) -> list[str]:
    """Read the server's output until a line contains `needle` (no sleeping: a reader thread and an
    event with a deadline). Returns the lines read; raises if the deadline passes or the server exits."""
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if needle in line:
                found.set()
        found.set()  # the server exited

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(seconds) or not any(needle in line for line in seen):
        raise AssertionError(f"dagster dev never said {needle!r}:\n" + "".join(seen[-40:]))
    return seen


@pytest.fixture
def dagster_ui(tmp_path: Path) -> Iterator[str]:
    """`dagster dev` on a free port over a seeded var dir; yields its base URL."""
    paths = Paths(tmp_path / "var")
    spec_dir = core_spec_dir(tmp_path / "specs")
    instance = project_instance(paths)  # writes var/dagster/dagster.yaml (pools, run queue)
    ensure_phases(instance, PAIR)
    instance.dispose()
    seeding.seed(paths.sandbox, scale=30, seed=42)
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(paths.var / "dagster"),
        "MIGRATE_VAR_DIR": str(paths.var),
        "MIGRATE_SPEC_DIR": str(spec_dir),
    }
    dagster = Path(sys.executable).with_name("dagster")
    process = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_line(process, "Serving dagster-webserver on", STARTUP_SECONDS)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()  # dagster dev stops its webserver, daemon and code server
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):  # anything of its session left behind
            os.killpg(process.pid, signal.SIGKILL)


def _lanes(*expanded: str) -> str:
    """The `expanded` query of the lineage page: the pair's group and the given lanes open."""
    ids = [f"global@global:{PAIR}", *(f"global@global:{PAIR}/{lane}" for lane in expanded)]
    return ",".join(ids)


def test_the_pairs_graph_reads_in_lanes_and_a_sample_run_launched_from_the_ui_succeeds(dagster_ui: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    # expect's own default is 5 s; on a busy CI machine the webserver took longer than that to launch the run
    expect.set_options(timeout=STARTUP_SECONDS * 1000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1800, "height": 1000})
        page.set_default_timeout(STARTUP_SECONDS * 1000)

        page.goto(f"{dagster_ui}/asset-groups?expanded={_lanes()}")
        for lane in ("gate", "extract", "plan", "stage", "load", "verify"):
            expect(page.get_by_text(lane, exact=True).first).to_be_visible()
        page.screenshot(path=SHOTS / "ui-graph-lanes.png")

        page.goto(f"{dagster_ui}/asset-groups?expanded={_lanes('stage', 'load')}")
        for node in ("stage_contact", "load_contact", "stage_incident", "load_incident"):
            expect(page.get_by_text(node, exact=True).first).to_be_visible()
        page.screenshot(path=SHOTS / "ui-graph-stage-load.png")

        page.goto(f"{dagster_ui}/locations/migration_assets/jobs/{migrate_job_name(PAIR)}")
        page.get_by_role("button", name="Materialize all").first.click()
        page.get_by_text("Select a partition or create one").click()
        page.get_by_text("sample", exact=True).first.click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Launch 1 run").click()
        expect(page.get_by_text("Launched run").first).to_be_visible()  # the UI's toast, with a link to the run
        page.get_by_role("link", name="View", exact=True).first.click()
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=RUN_SECONDS * 1000)
        page.screenshot(path=SHOTS / "ui-sample-run.png")

        asset = f"{dagster_ui}/assets/{PAIR}/stage/stage_incident"
        page.goto(asset)
        expect(page.get_by_text("Mapping:", exact=False).first).to_be_visible()  # catalog column descriptions
        page.screenshot(path=SHOTS / "ui-asset-stage-incident.png", full_page=True)
        page.goto(f"{asset}?view=checks")
        expect(page.get_by_text("schema_gate", exact=True).first).to_be_visible()
        expect(page.get_by_text("Partition", exact=True).first).to_be_visible()  # each result under its phase
        page.screenshot(path=SHOTS / "ui-asset-checks.png")
        page.goto(f"{dagster_ui}/assets/{PAIR}/load/load_incident?view=events")
        audit = page.get_by_text("audit_log", exact=True).first
        expect(audit).to_be_visible()
        audit.scroll_into_view_if_needed()
        page.locator("tr", has_text="audit_log").get_by_text("Show Markdown").click()
        expect(page.get_by_text("destination_id", exact=True).first).to_be_visible()  # the audit table
        page.screenshot(path=SHOTS / "ui-asset-load-audit.png")
        browser.close()
