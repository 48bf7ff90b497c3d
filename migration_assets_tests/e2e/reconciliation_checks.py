"""What every reconciliation of an end-to-end run must show, whatever the pair."""

from __future__ import annotations


def reconciled_objects(reconciliation: dict) -> dict[str, dict]:
    """The reconciliation's objects by name, after asserting that none has a problem, that
    source = loaded + quarantined + excluded, and that every loaded record is present in the
    destination and counted there."""
    objects = {o["object"]: o for o in reconciliation["objects"]}
    assert not {name: o["problems"] for name, o in objects.items() if o["problems"]}
    for name, o in objects.items():
        c = o["counts"]
        assert c["source"] == c["loaded"] + c["quarantined"] + c["excluded"], name
        assert c["present"] == c["loaded"] == c["destination_count"], (name, c)
    return objects
