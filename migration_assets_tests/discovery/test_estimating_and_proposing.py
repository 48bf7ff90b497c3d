"""The estimator's arithmetic and the proposer's draft, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_assets.discovery import estimating
from migration_assets.discovery.proposing import is_confirmed, propose, score_against, to_yaml
from migration_assets.discovery.source_schema import FieldProfile, ObjectProfile, SourceSchema
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

SPEC = load_spec(SPEC_DIR / "case_status__dynamics365.yaml")


def source_schema(clients: int, cases: int, companies: int) -> SourceSchema:
    def obj(name: str, count: int, *fields: FieldProfile) -> ObjectProfile:
        stamp = FieldProfile(
            "updated_at", "datetime", "datetime", 1.0, count, min="2026-01-01T00:00:00Z", max="2026-01-11T00:00:00Z"
        )
        return ObjectProfile(name, count, [*fields, stamp], updated_field="updated_at")

    company = FieldProfile("company", "str", "str", 0.9, companies)
    others = {n: obj(n, 10) for n in {o.source for o in SPEC.spec.objects.values()} - {"clients", "cases"}}
    return SourceSchema(
        "case_status", {"clients": obj("clients", clients, company), "cases": obj("cases", cases), **others}
    )


LIMITS = estimating.Limits(batch_size=100, concurrency=4, rate_per_second=25, daily_requests=None)


def test_collapsed_objects_count_distinct_keys_and_phases_scale():
    source = source_schema(clients=1000, cases=2000, companies=40)
    rows = estimating.phase_rows(SPEC, source, "full")
    assert rows["account"] == 41  # 40 firms + the shared 'individual' account
    assert rows["contact"] == 1000 and rows["incident"] == 2000
    sample = estimating.phase_rows(SPEC, source, "sample")
    assert sample["incident"] == SPEC.spec.options.sample.size
    delta = estimating.phase_rows(SPEC, source, "delta")
    assert delta["incident"] == 400  # 48 h of a 240 h updated_at range


def test_requests_batches_and_daily_budget():
    source = source_schema(clients=1000, cases=2000, companies=40)
    full = estimating.estimate(SPEC, source, LIMITS, phases=["full"])[0]
    load = {s.step: s for s in full.steps}
    assert load["load__incident"].batches == 20 and load["load__incident"].requests == 20
    assert load["extract__cases"].requests == 21  # 20 pages of 100 and the empty last page
    capped = estimating.estimate(SPEC, source, estimating.Limits(100, 4, 25, daily_requests=10), phases=["full"])[0]
    assert capped.days == -(-capped.requests // 10)
    assert capped.seconds > 86400


def test_measured_steps_are_fitted_and_extrapolated():
    source = source_schema(clients=1000, cases=2000, companies=40)
    history = [
        estimating.StepMeasure("load__incident", "sample", 2.0 + 200 * 0.01),
        estimating.StepMeasure("load__incident", "full", 2.0 + 2000 * 0.01),
    ]
    step = next(
        s
        for s in estimating.estimate(SPEC, source, LIMITS, history, phases=["full"])[0].steps
        if s.step == "load__incident"
    )
    assert step.seconds == pytest.approx(22.0, rel=1e-3)
    assert step.basis.startswith("measured")
    assert estimating.compare(110, 100)["error_percent"] == 10.0


def _full_seconds(history: list[estimating.StepMeasure], step: str) -> float:
    source = source_schema(clients=1000, cases=2000, companies=40)
    steps = estimating.estimate(SPEC, source, LIMITS, history, phases=["full"])[0].steps
    return next(s.seconds for s in steps if s.step == step)


def test_full_runs_at_two_sizes_set_the_line_and_samples_do_not_bend_it():
    # a full run costs 0.5 s + 1 ms a row; samples cost more per row (small batches into empty tables)
    history = [
        estimating.StepMeasure("load__incident", "full", 0.5 + 300 * 0.001, records=300),
        estimating.StepMeasure("load__incident", "full", 0.5 + 900 * 0.001, records=900),
        estimating.StepMeasure("load__incident", "sample", 0.4 + 150 * 0.004, records=150),
        estimating.StepMeasure("load__incident", "sample", 0.4 + 160 * 0.004, records=160),
    ]
    assert _full_seconds(history, "load__incident") == pytest.approx(0.5 + 2000 * 0.001, rel=1e-3)


def test_one_full_run_keeps_the_line_slope_through_its_own_point():
    history = [
        estimating.StepMeasure("load__incident", "sample", 1.0 + 100 * 0.01, records=100),
        estimating.StepMeasure("load__incident", "sample", 1.0 + 300 * 0.01, records=300),
        estimating.StepMeasure("load__incident", "full", 1.5 + 500 * 0.01, records=500),
    ]
    # the slope of every run's line ((100, 2), (300, 4), (500, 6.5): 11.25 ms a row), through the full
    # run's own point (500 rows, 6.5 s), not through the samples' intercept (which would give 23.4 - 0.5)
    assert _full_seconds(history, "load__incident") == pytest.approx(6.5 + 1500 * 0.01125, rel=1e-3)


def test_one_full_size_run_twice_keeps_the_line_through_their_mean():
    history = [
        estimating.StepMeasure("load__incident", "sample", 1.0 + 100 * 0.01, records=100),
        estimating.StepMeasure("load__incident", "sample", 1.0 + 300 * 0.01, records=300),
        estimating.StepMeasure("load__incident", "full", 6.0, records=500),
        estimating.StepMeasure("load__incident", "full", 7.0, records=500),
    ]
    # every run's line (least squares through the four: 1250 / 110000 s a row), through (500 rows,
    # 6.5 s), not through the slower run's 7.0 s
    assert _full_seconds(history, "load__incident") == pytest.approx(6.5 + 1500 * 1250 / 110000, rel=1e-3)


def test_steps_of_fixed_cost_take_the_same_phase_mean():
    history = [
        estimating.StepMeasure("plan__schema_apply", "sample", 0.8),  # creates the schema
        estimating.StepMeasure("plan__schema_apply", "full", 0.2),  # finds it in place
        estimating.StepMeasure("stage__incident_schema_gate", "full", 0.1),
        estimating.StepMeasure("stage__incident_schema_gate", "full", 0.12),
    ]
    assert _full_seconds(history, "plan__schema_apply") == pytest.approx(0.2)
    assert _full_seconds(history, "stage__incident_schema_gate") == pytest.approx(0.11)


# extraction of 300 and 900 cases, rehearsed on smaller copies: 1 ms a case
REHEARSED_EXTRACTION = [
    estimating.StepMeasure("extract__cases", "full", 0.3, records=300),
    estimating.StepMeasure("extract__cases", "full", 0.9, records=900),
]


def test_a_step_that_reads_the_whole_source_takes_its_run_at_this_size_whatever_the_phase():
    # extraction pages through all 2,000 cases in a sample too: the sample runs on this source measured
    # it; the rehearsals' line would say 2.0 s
    history = [
        *REHEARSED_EXTRACTION,
        estimating.StepMeasure("extract__cases", "sample", 3.2, records=2000),
        estimating.StepMeasure("extract__cases", "sample", 2.8, records=2000),
    ]
    assert _full_seconds(history, "extract__cases") == pytest.approx(3.0)


def test_a_step_measured_at_other_sizes_only_keeps_the_rehearsals_line():
    # extraction here took 3.0 s against 2.0 s on its rehearsals' line; that says how extraction's cost
    # changes with size, not how fast the machine is now, so the load stays on its own line (4.0 s)
    history = [
        *REHEARSED_EXTRACTION,
        estimating.StepMeasure("extract__cases", "sample", 3.0, records=2000),
        estimating.StepMeasure("load__incident", "full", 0.6, records=300),
        estimating.StepMeasure("load__incident", "full", 1.8, records=900),
        estimating.StepMeasure("load__incident", "sample", 0.5, records=100),
    ]
    assert _full_seconds(history, "load__incident") == pytest.approx(4.0)
    assert _full_seconds(history, "extract__cases") == pytest.approx(3.0)


def test_proposer_draft_is_valid_unconfirmed_and_finds_the_obvious_columns(tmp_path: Path):
    draft = propose("case_status", "dynamics365")
    path = tmp_path / "case_status__dynamics365.yaml"
    path.write_text(to_yaml(draft), encoding="utf-8")
    loaded = load_spec(path)
    assert not is_confirmed(loaded)
    contact = loaded.spec.objects["contact"]
    assert contact.fields["firstname"] == {"op": "trim", "of": "first_name"}
    assert contact.fields["emailaddress1"] == {"op": "lower", "of": "email"}
    assert not contact.proposals["firstname"].confirmed and 0 < contact.proposals["firstname"].confidence <= 1
    assert loaded.spec.objects["account"].collapse  # accounts derived from the clients' company
    assert propose("case_status", "dynamics365") == draft  # deterministic
    scores = score_against(loaded, SPEC)
    assert scores["correct"] > 0 and 0 < scores["precision"] <= 1 and 0 < scores["recall"] <= 1
