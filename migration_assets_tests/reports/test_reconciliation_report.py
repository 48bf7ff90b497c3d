"""The reconciliation report a person signs off on, and the index page of a pair's reports.

The HTML is rendered from in-memory results (no pipeline run): the header, the verdict's colour, the
field-level diff with examples, option values with their labels. One test opens the page in headless
Chromium (Debian's, through Playwright), writes var/screenshots/reconciliation-report.png and checks
what a person would see: axis labels that do not overlap, every chart under its object's heading.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from migration_assets.engine.reconciling import ObjectReconciliation
from migration_assets.reports.index import write_index
from migration_assets.reports.reconciliation_report import DiffSummary, SignOff, option_labels, render, write
from migration_assets.settings import PROJECT_ROOT, SPEC_DIR
from migration_assets.spec.loader import load_spec

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
PAIR = "case_status__dynamics365"


def _signoff(phase: str = "full") -> SignOff:
    return SignOff(
        pair=PAIR,
        phase=phase,
        scope=["full"],
        run_id="4a604da9-845f-4eee-b381-fb40532c52a6",
        written_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        spec_hash="ce53e5248fef15f0",
        source="Case Status",
        destination="Dynamics 365 Sales",
        approval={
            "approver": "reviewer@firm.example",
            "approved_at": "2026-01-05T09:00:00",
            "sample_run_id": "84106021",
        },
    )


def _results() -> list[ObjectReconciliation]:
    contact = ObjectReconciliation(
        "contact",
        counts={"source": 78, "loaded": 70, "quarantined": 8, "excluded": 0, "destination_count": 70},
        population={"lastname": {"staged": 1.0, "destination": 1.0}},
    )
    incident = ObjectReconciliation(
        "incident",
        counts={"source": 98, "loaded": 90, "quarantined": 8, "excluded": 0, "destination_count": 90},
        distributions={
            "statuscode": {
                "1.0": {"staged": 40, "destination": 40},
                "100000000.0": {"staged": 30, "destination": 30},
                "5.0": {"staged": 20, "destination": 20},
            }
        },
        linkage={"customerid": {"target": "contact", "resolved": 90, "orphans": [], "orphan_count": 0}},
    )
    return [contact, incident]


def _held(total: int = 16) -> dict:
    by_root = [{"root_cause": "contact 123 held back: lastname is required", "records": total}] if total else []
    return {"total": total, "by_root_cause": by_root}


def _diff(mismatches: int = 0) -> DiffSummary:
    examples = [{"external_id": "c-1", "column": "lastname", "staged": "Ng", "destination": "NG"}] if mismatches else []
    return DiffSummary(
        {
            "contact": {"records_compared": 70, "fields_compared": 840, "mismatches": mismatches, "examples": examples},
            "incident": {"records_compared": 90, "fields_compared": 1350, "mismatches": 0, "examples": []},
        }
    )


def _labels() -> dict:
    return {"incident": option_labels(load_spec(SPEC_DIR / f"{PAIR}.yaml"), "incident")}


def test_option_values_are_labelled_from_the_spec() -> None:
    labels = option_labels(load_spec(SPEC_DIR / f"{PAIR}.yaml"), "incident")["statuscode"]
    assert labels["100000000.0"] == "Negotiation (100000000)"
    assert labels["5.0"].startswith("Closed, Closed Won") and labels["5.0"].endswith("(5)")


def test_the_header_names_pair_phase_run_time_spec_hash_and_approval() -> None:
    page = render(_signoff(), _results(), _held(), _diff(), _labels())
    for fact in (PAIR, "4a604da9-845f-4eee-b381-fb40532c52a6", "2026-01-05 09:30:00", "ce53e5248fef15f0"):
        assert fact in page
    assert "reviewer@firm.example on 2026-01-05T09:00:00 (sample run 84106021)" in page


def test_the_verdict_is_amber_when_anything_is_held_back_and_green_only_when_nothing_is() -> None:
    assert 'class="verdict amber"' in render(_signoff(), _results(), _held(16), _diff(), {})
    assert 'class="verdict green"' in render(_signoff(), _results(), _held(0), _diff(), {})


def test_a_diff_mismatch_turns_the_verdict_red_and_is_shown_with_its_example() -> None:
    page = render(_signoff(), _results(), _held(0), _diff(mismatches=1), {})
    assert 'class="verdict red"' in page
    assert "Field-level diff" in page and "<td>c-1</td><td>lastname</td><td>Ng</td><td>NG</td>" in page


def test_charts_show_option_labels_not_raw_codes() -> None:
    page = render(_signoff(), _results(), _held(), _diff(), _labels())
    assert "Negotiation (100000000)" in page
    assert "100000000.0" not in page


def test_the_value_axis_always_reaches_the_largest_bar() -> None:
    from migration_assets.reports.html import nice_ticks

    for top in (1, 7, 40, 331, 1_000, 25_266):
        ticks = nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 7, (top, ticks)


def test_write_keeps_the_facts_in_json_beside_the_page(tmp_path: Path) -> None:
    json_path, html_path = write(tmp_path, _signoff(), _results(), _held(), _diff(), _labels())
    assert html_path.name == "reconciliation-full.html" and json_path.name == "reconciliation-full.json"
    assert '"verdict": "amber"' in json_path.read_text()


def test_the_index_links_every_report_of_the_pair_by_section(tmp_path: Path) -> None:
    write(tmp_path, _signoff(), _results(), _held(), _diff(), _labels())
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "report.html").write_text("<h1>plan</h1>")
    (tmp_path / "owners_full.md").write_text("# owners")
    page = write_index(tmp_path, PAIR).read_text()
    assert page.index("Sign-off: reconciliation") < page.index("Plan, estimate and grade") < page.index("Owners")
    for href in ('href="reconciliation-full.html"', 'href="reconciliation-full.json"', 'href="plan/report.html"'):
        assert href in page
    assert 'href="owners_full.md"' in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)")
def test_the_report_renders_legibly_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    _json, html_path = write(tmp_path, _signoff(), _results(), _held(), _diff(mismatches=1), _labels())
    shots = PROJECT_ROOT / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(html_path.as_uri())
        page.screenshot(path=shots / "reconciliation-report.png", full_page=True)
        overlaps = page.evaluate(OVERLAPPING_TEXT)
        headings = page.evaluate(CHART_HEADINGS)
        browser.close()
    assert overlaps == [], overlaps
    assert headings == {"incident.statuscode: staged vs destination": "incident"}


# Pairs of text elements of one chart whose boxes intersect (labels drawn over each other).
OVERLAPPING_TEXT = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const boxes = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (ra.left < rb.right - 1 && rb.left < ra.right - 1 && ra.top < rb.bottom - 1 && rb.top < ra.bottom - 1)
        out.push(`${a} / ${b}`);
    }
  }
  return out;
}"""

# Each value-distribution chart's title -> the object heading (h2) it sits under.
CHART_HEADINGS = """() => {
  const out = {};
  let object = null;
  for (const el of document.querySelectorAll('h2, h4')) {
    if (el.tagName === 'H2') object = el.textContent;
    else if (el.textContent.includes('staged vs destination')) out[el.textContent] = object;
  }
  return out;
}"""
