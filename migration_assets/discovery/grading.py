"""Compatibility and complexity grade of a pair, in the shape of the seeds' "Complexity grading":
"N of M objects map 1:1", one letter per dimension with its reason, and an overall letter.

Dimensions: object compatibility (objects needing a transformation or a custom table), field
mapping clarity (unconfirmed proposals), custom schema to create, API constraints (daily request
budget against the full phase's requests, source paging), data volume, data quality (share of
records with profiling findings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from migration_assets.spec.loader import LoadedSpec
from migration_assets.spec.model import ObjectMap

LETTERS = "ABCD"
LABELS = {"A": "Simple migration", "B": "Standard migration", "C": "Complex migration", "D": "Highly complex migration"}


@dataclass
class Dimension:
    name: str
    grade: str
    reason: str


def _letter(points: float) -> str:
    return LETTERS[min(max(round(points), 0), 3)]


def object_shape(loaded: LoadedSpec, obj: ObjectMap) -> list[str]:
    """Why an object is not a plain 1:1 copy (empty when it is)."""
    why = []
    table = loaded.spec.schema_.get(obj.table)
    if obj.collapse:
        why.append(f"many {obj.source} rows collapse into one {obj.table}")
    if obj.explode is not None:
        why.append(f"one {obj.source} row explodes into several {obj.table} rows")
    if table is not None and table.custom:
        why.append(f"custom table {obj.table} to create")
    if obj.kind == "file":
        why.append("files streamed to the document store")
    return why


def _share_grade(share: float, bounds: tuple[float, float, float]) -> str:
    return LETTERS[sum(share > b for b in bounds)]


def grade(
    loaded: LoadedSpec,
    *,
    records: int,
    full_requests: int,
    daily_budget: int | None,
    quality_findings: int,
    profiled_records: int,
) -> dict[str, Any]:
    """The grade report of a pair.

    Args:
        loaded: the pair's spec.
        records: total destination rows of a full load.
        full_requests: predicted requests of the full phase.
        daily_budget: destination requests left per day (None: no daily cap).
        quality_findings: records with a profiling finding (duplicates, incomplete, orphans ...).
        profiled_records: records profiled.

    Returns:
        {"summary", "objects_1to1", "objects_total", "grade", "label", "dimensions", "objects"}.
    """
    spec = loaded.spec
    shapes = {name: object_shape(loaded, obj) for name, obj in spec.objects.items()}
    plain = [n for n, why in shapes.items() if not why]
    total = len(shapes)
    needing = total - len(plain)
    transformed = [
        n
        for n, o in spec.objects.items()
        if any(isinstance(v, dict) and v.get("op") == "value_map" for v in o.fields.values())
    ]
    dims = [
        Dimension(
            "Object compatibility",
            _share_grade(needing / total if total else 0, (0.0, 0.25, 0.5)),
            f"all {total} objects map 1:1"
            if not needing
            else f"{needing} of {total} objects need a mapping; the rest are 1:1",
        ),
        _clarity(loaded, transformed),
        _custom_schema(loaded),
        _api(full_requests, daily_budget),
        _volume(records),
        _quality(quality_findings, profiled_records),
    ]
    overall = _letter(sum(LETTERS.index(d.grade) for d in dims) / len(dims))
    summary = (
        f"All {total} objects map 1:1" if not needing else f"{len(plain)} of {total} objects map 1:1"
    ) + f" between {spec.source} and {spec.destination}."
    return {
        "summary": summary,
        "objects_1to1": len(plain),
        "objects_total": total,
        "grade": overall,
        "label": LABELS[overall],
        "dimensions": [asdict(d) for d in dims],
        "objects": [
            {
                "object": n,
                "source": spec.objects[n].source,
                "table": spec.objects[n].table,
                "maps_1to1": not why,
                "why": "; ".join(why) or "1:1",
                "value_maps": n in transformed,
            }
            for n, why in shapes.items()
        ],
    }


def _clarity(loaded: LoadedSpec, transformed: list[str]) -> Dimension:
    pending = [
        f"{n}.{c}" for n, o in loaded.spec.objects.items() for c, p in o.proposals.items() if not p.confirmed
    ] + [n for n, o in loaded.spec.objects.items() if not o.confirmed]
    if pending:
        return Dimension("Field mapping clarity", "C", f"{len(pending)} proposed mapping(s) not confirmed yet")
    if transformed:
        return Dimension(
            "Field mapping clarity", "B", f"confirmed; value maps translate labels for {', '.join(transformed)}"
        )
    return Dimension("Field mapping clarity", "A", "every mapping confirmed, no value translation")


def _custom_schema(loaded: LoadedSpec) -> Dimension:
    tables = [t for t, s in loaded.spec.schema_.items() if s.custom]
    columns = sum(len(s.columns) for s in loaded.spec.schema_.values())
    custom_fields = [n for n, o in loaded.spec.objects.items() if o.custom_fields]
    points = min(3, len(tables) + (1 if columns > 10 else 0) + (1 if custom_fields else 0))
    reason = f"{len(tables)} custom table(s), {columns} custom column(s) to create"
    if custom_fields:
        reason += f"; custom fields discovered from the data for {', '.join(custom_fields)}"
    return Dimension("Custom schema", LETTERS[points], reason)


def _api(requests: int, budget: int | None) -> Dimension:
    if budget is None:
        return Dimension(
            "API constraints", "B", f"{requests} requests for the full phase; rate-limited, no daily cap reported"
        )
    share = requests / budget if budget else 1.0
    return Dimension(
        "API constraints",
        _share_grade(share, (0.1, 0.5, 1.0)),
        f"{requests} requests for the full phase = {share:.0%} of the {budget} left today",
    )


def _volume(records: int) -> Dimension:
    points = sum(records > b for b in (10_000, 100_000, 1_000_000))
    reason = f"{records} records"
    if records > 2_000_000:
        reason += " (over 2M records: scoped individually)"
    return Dimension("Data volume", LETTERS[points], reason)


def _quality(findings: int, profiled: int) -> Dimension:
    if not profiled:
        return Dimension("Data quality", "B", "not profiled yet: run the plan job")
    share = findings / profiled
    return Dimension(
        "Data quality",
        _share_grade(share, (0.01, 0.05, 0.15)),
        f"{findings} findings in {profiled} records ({share:.1%}): duplicates, incomplete, orphans, unmapped values",
    )


def quality_findings(profiles: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """(findings, records) over profile reports; inactive owners and unmapped fields are not
    defects of a record and are left out."""
    keys = ("exact_duplicates", "fuzzy_duplicate_pairs", "incomplete_records", "orphan_references", "unmapped_values")
    findings = sum(int(p["summary"].get(k, 0)) for p in profiles.values() for k in keys)
    return findings, sum(int(p.get("records", 0)) for p in profiles.values())
