"""Unconfirmed mappings never load: the guard names the object and its columns; `confirm_text`
flips the flags and keeps the file's comments."""

from __future__ import annotations

from pathlib import Path

from migration_assets.defs.naming import asset_key, op_name
from migration_assets.discovery.confirmation import confirm_text, confirmation_problem, unconfirmed
from migration_assets.settings import SPEC_DIR
from migration_assets.spec.loader import load_spec

PAIR = "case_status__dynamics365"
PROPOSAL = """    required: [title]
    confirmed: false
    proposals:
      title: {confidence: 0.92, reason: "name similarity name~title", confirmed: false}
      # the reviewer looks at this one twice
      prioritycode:
        confidence: 0.81
        reason: pick-list value overlap 4/4
        confirmed: false
"""


def draft_spec(tmp_path: Path) -> Path:
    """The Dynamics spec with its incident object turned back into an unconfirmed proposal."""
    text = (SPEC_DIR / f"{PAIR}.yaml").read_text(encoding="utf-8")
    head, sep, tail = text.partition("\n  incident:\n")
    assert sep, "the spec has an incident object"
    tail = tail.replace("    required: [title]\n", PROPOSAL, 1)
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    path = folder / f"{PAIR}.yaml"
    path.write_text(head + sep + tail, encoding="utf-8")
    return path


def test_guard_names_object_unconfirmed_columns_and_how_to_confirm(tmp_path):
    loaded = load_spec(draft_spec(tmp_path))
    assert confirmation_problem(loaded, "contact") is None
    message = confirmation_problem(loaded, "incident")
    assert message is not None
    assert "load of incident refused" in message
    assert "prioritycode, title" in message
    assert f"migrate confirm {PAIR} --object incident" in message
    assert "confirmed: true" in message


def test_confirm_flips_only_the_chosen_object_and_keeps_comments(tmp_path):
    path = draft_spec(tmp_path)
    loaded = load_spec(path)
    text = path.read_text(encoding="utf-8")
    same, changed = confirm_text(text, loaded, ["contact"])
    assert changed == 0 and same == text
    new, changed = confirm_text(text, loaded, ["incident"])
    assert changed == 3  # the object and its two proposals
    assert "# the reviewer looks at this one twice" in new
    path.write_text(new, encoding="utf-8")
    assert unconfirmed(load_spec(path), "incident") == []


def test_unconfirmed_mapping_blocks_the_load_with_a_clear_message(workbench, tmp_path):
    draft_spec(tmp_path)
    workbench.spec_dir = tmp_path / "specs"
    workbench.seed(scale=100)
    outcome = workbench.run(PAIR, "sample")
    assert not outcome.success
    refusal = [f for f in outcome.failures if f.startswith(op_name(asset_key(PAIR, "load", "incident")))]
    assert refusal, outcome.failures
    assert "unconfirmed columns: prioritycode, title" in refusal[0]
    assert f"migrate confirm {PAIR} --object incident" in refusal[0]
    # the confirmed objects still load; nothing of the unconfirmed one reaches the destination
    latest = workbench.instance.get_latest_materialization_events(
        [asset_key(PAIR, "load", o) for o in ("contact", "incident")]
    )
    assert latest.get(asset_key(PAIR, "load", "contact")) is not None
    assert latest.get(asset_key(PAIR, "load", "incident")) is None
