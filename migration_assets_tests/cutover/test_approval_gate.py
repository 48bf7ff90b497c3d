"""The approval gate: full refuses without approval, runs after it, refuses again after a spec edit."""

from __future__ import annotations

from migration_assets_tests.conftest import core_spec_dir

PAIR = "case_status__dynamics365"


def test_full_needs_an_approval_bound_to_the_current_spec_hash(workbench, tmp_path):
    spec_dir = core_spec_dir(tmp_path / "specs")
    workbench.spec_dir = spec_dir
    workbench.seed(scale=120)

    refused_before_sample = workbench.approve(PAIR)
    assert not refused_before_sample.success

    assert workbench.run(PAIR, "sample").success
    refused = workbench.run(PAIR, "full")
    assert not refused.success
    assert any("needs an approval of the sample" in f for f in refused.failures), refused.failures
    assert (
        workbench.report(PAIR, "full")["objects"]["account"]["destination_count"]
        == workbench.report(PAIR, "sample")["objects"]["account"]["loaded"]
    )

    approval = workbench.approve(PAIR, by="jane@firm.example")
    assert approval.success
    assert workbench.run(PAIR, "full").success

    # An edit of the mapping invalidates the approval; a comment does not.
    spec = spec_dir / f"{PAIR}.yaml"
    spec.write_text("# reviewed\n" + spec.read_text())
    assert workbench.run(PAIR, "full").success
    spec.write_text(spec.read_text().replace("Pending: [0, 3]", "Pending: [0, 2]"))
    again = workbench.run(PAIR, "full")
    assert not again.success
    assert any("needs an approval" in f for f in again.failures)
