"""The mapping spec: a pydantic model of `mapping_specs/<source>__<destination>.yaml`.

A spec declares, per destination object, where its rows come from, how each destination column is
computed (a small safe expression vocabulary, see `expressions.py`), which lookups link it to other
objects (their topological order is the load order), value maps, exclusions and the custom
destination schema the mapping needs. A file is either fully valid or rejected (`loader.py`).

Example:
    pair: case_status__dynamics365
    source: case_status
    destination: dynamics365
    objects:
      contact:
        source: clients
        table: contact
        external_id: {column: cs_client_id, value: id}
        fields:
          lastname: last_name
          emailaddress1: {op: lower, of: email}
        lookups:
          parentcustomerid: {object: account, value: {op: company_key, of: company}}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from migration_assets.connectors.base import ColumnType

# An expression is a source field name (str), a constant ({const: ...}), or {op: <name>, ...}.
Expr = Annotated[Any, Field(description="source field name, {const: value} or {op: name, ...}")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExternalId(Strict):
    """The destination column that carries the source identity (alternate key / external id)."""

    column: str
    value: Expr = "id"


class LookupMap(Strict):
    """A destination lookup column pointing at another object of the same spec.

    `value` computes the target's external id from this object's source row. A `deferred` lookup
    is written in a patch pass after both sides are loaded (how a cycle is broken).
    """

    object: str
    value: Expr
    required: bool = False
    deferred: bool = False
    on_missing: Literal["quarantine", "null"] = "quarantine"


class Exclusion(Strict):
    """Rows matching `when` are left out on purpose and counted as excluded, with `reason`."""

    when: Expr
    reason: str


class Dedupe(Strict):
    """Duplicate handling for an object: rows with equal `by` are reported, or excluded after the
    first (action exclude), keeping the lowest source id."""

    by: Expr
    action: Literal["report", "exclude"] = "report"


class ObjectMap(Strict):
    """How one destination object is built from one source object."""

    source: str
    table: str
    description: str = ""
    external_id: ExternalId
    collapse: bool = False  # many:1 - keep one row per external id (the first by source id)
    fields: dict[str, Expr] = Field(default_factory=dict)
    lookups: dict[str, LookupMap] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)
    dedupe: Dedupe | None = None
    when: str | None = None  # condition id from `variants` deciding whether this object is active
    confirmed: bool = True


class ValueMap(Strict):
    """Source labels to destination values. `outputs` names the value columns (e.g. statecode,
    statuscode); each entry of `values` gives one value per output. Labels are compared after
    `normalize` (trim, casefold and '-'/'_' as spaces), so 'On-Hold' and 'on hold' match 'On Hold'.
    A label without an entry is quarantined (never guessed) unless `default` is given."""

    outputs: list[str] = Field(default_factory=lambda: ["value"])
    values: dict[str, Any]
    default: Any = None
    normalize: bool = True

    @model_validator(mode="after")
    def _arity(self) -> ValueMap:
        for label, value in self.values.items():
            got = value if isinstance(value, list) else [value]
            if len(got) != len(self.outputs):
                raise ValueError(f"value for {label!r} has {len(got)} item(s), outputs are {self.outputs}")
        return self


class ColumnSpec(Strict):
    """A destination column the spec needs created when missing."""

    type: ColumnType
    max_length: int | None = None
    options: list[str] = Field(default_factory=list)
    target: str | None = None
    label: str | None = None


class TableSpec(Strict):
    """Destination schema needs of one table: custom columns, alternate keys, a custom table."""

    custom: bool = False
    activity: bool = False
    label: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    keys: dict[str, list[str]] = Field(default_factory=dict)


class SampleOptions(Strict):
    anchor: str  # destination object whose rows are sampled; parents and children follow
    size: int = Field(default=200, ge=100, le=500)
    stratify_by: Expr | None = None
    seed: int = 7


class LoadOptions(Strict):
    batch_size: int = Field(default=100, ge=1, le=1000)
    concurrency: int = Field(default=4, ge=1, le=52)
    rate_per_second: float = Field(default=20.0, gt=0)


class DeltaOptions(Strict):
    window_hours: int = Field(default=48, ge=24, le=48)
    poll_seconds: int = Field(default=300, ge=30)


class Options(Strict):
    sample: SampleOptions
    load: LoadOptions = LoadOptions()
    delta: DeltaOptions = DeltaOptions()
    fallback_owner: str | None = None


class PairSpec(Strict):
    """A whole mapping spec of one source/destination pair."""

    pair: str
    source: str
    destination: str
    description: str = ""
    destination_options: dict[str, Any] = Field(default_factory=dict)
    options: Options
    value_maps: dict[str, ValueMap] = Field(default_factory=dict)
    schema_: dict[str, TableSpec] = Field(default_factory=dict, alias="schema")
    objects: dict[str, ObjectMap]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
