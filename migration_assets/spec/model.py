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

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from migration_assets.connectors.base import ColumnType

# An expression is a source field name (str), a constant ({const: ...}), or {op: <name>, ...}.
Expr = Annotated[Any, Field(description="source field name, {const: value} or {op: name, ...}")]


class Strict(BaseModel):
    """Unknown keys are refused. Counts and sizes are StrictInt: "100", 100.0 or true are refused,
    not converted."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ExternalId(Strict):
    """The destination column that carries the source identity (alternate key / external id)."""

    column: str
    value: Expr = "id"


class LookupTarget(Strict):
    """A further target of a polymorphic lookup column: another object and how this row names it."""

    object: str
    value: Expr


class Placeholder(Strict):
    """Records the lookup's target object gets for external ids the lookup names that no source
    record of the target has (an archived or deleted parent, or a constant such as a fallback
    account): one synthetic source row per missing id, staged with the target's own mapping, so the
    lookup resolves. `fields` sets source fields of that row (the target's source object); `{id}` in
    a value is the missing external id; `by_id` gives other fields for given ids (e.g. the constant
    a lookup names for a designated fallback record). The target's external id must be a plain
    source field."""

    fields: dict[str, str] = Field(min_length=1)
    by_id: dict[str, dict[str, str]] = Field(default_factory=dict)

    def for_id(self, external_id: str) -> dict[str, str]:
        """The synthetic row's fields for the missing id `external_id`, `{id}` replaced."""
        chosen = self.by_id.get(external_id, self.fields)
        return {name: template.replace("{id}", external_id) for name, template in chosen.items()}


class LookupMap(Strict):
    """A destination lookup column pointing at another object of the same spec.

    `value` computes the target's external id from this object's source row. A `deferred` lookup
    is written in a patch pass after both sides are loaded (how a cycle is broken).
    `otherwise` makes the column polymorphic (e.g. regardingobjectid): when `object` has no
    record named by `value` in the destination, the first further target that has one is linked.
    `placeholder` creates the missing targets (see Placeholder); `break_loops`, on a lookup of an
    object to itself (a hierarchy), leaves the lookup empty on one record of every loop (A→B→A,
    A→A) and reports it (engine/hierarchy.py).
    """

    object: str
    value: Expr
    required: bool = False
    deferred: bool = False
    on_missing: Literal["quarantine", "null"] = "quarantine"
    otherwise: list[LookupTarget] = Field(default_factory=list)
    placeholder: Placeholder | None = None
    break_loops: bool = False

    @model_validator(mode="after")
    def _one_target_when_deferred(self) -> LookupMap:
        if self.deferred and self.otherwise:
            raise ValueError("a deferred lookup has one target object (no `otherwise`)")
        return self


class Exclusion(Strict):
    """Rows matching `when` are left out on purpose and counted as excluded, with `reason`."""

    when: Expr
    reason: str


class Dedupe(Strict):
    """Duplicate handling for an object: rows with equal `by` are reported, or excluded after the
    first (action exclude), keeping the lowest source id."""

    by: Expr
    action: Literal["report", "exclude"] = "report"


class OwnerMap(Strict):
    """A destination user column (owner, assignee) filled from a source user id.

    `value` computes the source user id; the user is matched to a destination user by email
    (case-insensitive, see the spec's `users`). An unmatched or disabled user gets the spec's
    `options.fallback_owner` when `fallback` is true, else the column stays empty; either way the
    person is listed in the plan/owners report. `text_column`, when given, receives the person's
    name whenever no destination user is set (e.g. a paralegal who is not a destination user).
    """

    value: Expr
    fallback: bool = True
    text_column: str | None = None


class FileSpec(Strict):
    """How a file object's rows become files in the destination's document store.

    The content is streamed from the source (`SourceConnector.download`) to the destination
    (`DestinationConnector.upload_file`); files larger than `max_bytes` are excluded with a reason
    and listed in the files report (oversize: skip), never half-written.
    """

    name: Expr = "file_name"
    folder: Expr | None = None  # folder path below the parent record's folder
    size: Expr = "size"
    content_type: Expr | None = None
    parent: str  # the lookup (of this object's `lookups`) that names the record the file belongs to
    max_bytes: StrictInt = Field(default=25 * 1024 * 1024, gt=0)
    oversize: Literal["skip"] = "skip"
    # the bytes as base64 text in the source row itself (e.g. a data-URI image of an HTML note),
    # instead of a download from the source
    content: Expr | None = None
    # the record whose bytes the source streams, when not this row's own (e.g. the file an
    # attachment id names): `download_id` of source object `download_from` (default: this object's)
    download_from: str | None = None
    download_id: Expr | None = None
    created_at: Expr | None = None  # the original upload time, kept where the destination can
    # where the destination puts the bytes: its document store, an attachment of the parent record,
    # or "auto" (the destination decides from its environment)
    store: Literal["auto", "document_store", "attachment"] = "auto"


InventoryKind = Literal[
    "string",
    "memo",
    "integer",
    "decimal",
    "date",
    "datetime",
    "boolean",
    "picklist",
    "multipicklist",
    "html",
    "computed",
]


class CustomFieldInventory(Strict):
    """Custom field definitions the source lists itself (an inventory object), so columns are typed
    by the definitions instead of inferred from the values.

    Each definition record of `source` whose `entity_field` equals `entity` becomes a column named
    from its label (`column` of CustomFields, '{key}' = the label), typed by `types` (source type ->
    kind): a column type of connectors.base, `html` (memo of sanitized HTML) or `computed` (the
    value of a `{formula, value}` object in a decimal column; the formula goes to the plan report).
    Options of choice kinds come from `options_field`. A definition whose type is not in `types`
    is reported, not a column.
    """

    source: str
    entity: str
    types: dict[str, InventoryKind]
    entity_field: str = "entity"
    key_field: str = "id"  # the key of the definition in each record's custom-field JSON
    label_field: str = "label"
    type_field: str = "type"
    options_field: str = "options"
    formula_field: str = "formula"


class CustomFields(Strict):
    """Source custom fields kept as JSON key-value pairs, discovered from the data (not listed here).

    plan/custom_fields reads every key of `source_field` in the extract, infers its type (text →
    string, pick-list → choice, date → datetime, number → decimal or integer) and names the
    destination column with `column` ('{key}' is the key in snake_case, '{Key}' in Title_Case).
    The columns are created by plan/schema_apply and filled by stage; a record whose JSON is
    malformed is quarantined with the parse error.
    """

    source_field: str = "custom_properties"
    column: str  # the destination column name; "{key}" is the key in snake_case, "{Key}" in Title_Case
    picklist_max_values: StrictInt = Field(default=12, ge=2)  # more distinct strings than this → text
    min_records: StrictInt = Field(default=3, ge=1)  # a key carried by fewer records is reported, not a column
    inventory: CustomFieldInventory | None = None  # type by the source's own definitions (see there)


class Flag(Strict):
    """Staged rows listed in a report for a person to act on after cutover (e.g. invitees to invite
    again); the rows still load. `when` picks them, `show` is the text listed per row."""

    title: str
    when: Expr
    show: Expr | None = None


class Join(Strict):
    """Fields of another source object made available to this object's expressions as
    '<alias>.<field>' (e.g. a message's case: `case.client_ids`): the row of `source` whose `key`
    equals this row's `by` value; no match leaves them null."""

    source: str
    by: Expr  # this row's value matched against the joined record's `key`
    key: str = "id"


class FieldProposal(Strict):
    """Why `migrate propose` suggested a field's expression; `confirmed` once a person agreed."""

    confidence: float = Field(ge=0, le=1)
    reason: str
    confirmed: bool = False


class ObjectMap(Strict):
    """How one destination object is built from one source object."""

    source: str
    table: str
    description: str = ""
    kind: Literal["record", "file"] = "record"
    external_id: ExternalId
    collapse: bool = False  # many:1 - keep one row per external id (the first by source id)
    explode: Expr | None = None  # one destination row per element of this JSON list ('_item' in expressions)
    join: dict[str, Join] = Field(default_factory=dict)  # alias -> another source object's fields
    fields: dict[str, Expr] = Field(default_factory=dict)
    lookups: dict[str, LookupMap] = Field(default_factory=dict)
    owners: dict[str, OwnerMap] = Field(default_factory=dict)
    file: FileSpec | None = None
    custom_fields: CustomFields | None = None
    required: list[str] = Field(default_factory=list)
    exclude: list[Exclusion] = Field(default_factory=list)
    dedupe: Dedupe | None = None
    # text above a schema column's max_length: cut to it and counted, or the row quarantined
    oversize: Literal["truncate", "quarantine"] = "truncate"
    flags: dict[str, Flag] = Field(default_factory=dict)  # name -> rows reported (engine/flags.py)
    confirmed: bool = True  # false in a draft of `migrate propose` until a person confirms
    proposals: dict[str, FieldProposal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _file(self) -> ObjectMap:
        if (self.kind == "file") != (self.file is not None):
            raise ValueError("an object has a `file:` section exactly when its kind is file")
        if self.file is not None and self.file.parent not in self.lookups:
            raise ValueError(f"file.parent {self.file.parent!r} is not one of this object's lookups")
        return self


class ValueMap(Strict):
    """Source labels to destination values. `outputs` names the value columns (e.g. statecode,
    statuscode); each entry of `values` gives one value per output. Labels are compared after
    `normalize` (trim, casefold and '-'/'_' as spaces), so 'On-Hold' and 'on hold' match 'On Hold'.
    `unmapped` says what a label without an entry does: `hold` (the default) holds the record back
    with the label as the reason, never guessed; `default` maps it to `default` and reports the
    substitution for that record."""

    outputs: list[str] = Field(default_factory=lambda: ["value"], min_length=1)
    values: dict[str, Any]
    default: Any = None
    unmapped: Literal["hold", "default"] = "hold"
    normalize: bool = True

    @model_validator(mode="after")
    def _arity(self) -> ValueMap:
        if (self.unmapped == "default") != (self.default is not None):
            raise ValueError("a `default` goes with `unmapped: default` (and that policy needs a default)")
        for label, value in self.values.items():
            got = value if isinstance(value, list) else [value]
            if len(got) != len(self.outputs):
                raise ValueError(f"value for {label!r} has {len(got)} item(s), outputs are {self.outputs}")
        default = self.default if isinstance(self.default, list) else [self.default]
        if self.default is not None and len(default) != len(self.outputs):
            raise ValueError(f"default has {len(default)} item(s), outputs are {self.outputs}")
        for index, output in enumerate(self.outputs):
            self._one_type(output, index, default[index] if self.default is not None else None)
        return self

    def _one_type(self, output: str, index: int, default: Any) -> None:
        """An output's values (and default) share one type: the destination column has one."""
        kinds: dict[str, str] = {}
        items = [(f"value for {label!r}", v[index] if isinstance(v, list) else v) for label, v in self.values.items()]
        if default is not None:
            items.append(("default", default))
        for what, item in items:
            kinds.setdefault(_value_kind(what, item), what)
        if len(kinds) > 1:
            mix = " and ".join(f"{kind} ({what})" for kind, what in kinds.items())
            raise ValueError(f"output {output!r} mixes {mix}; a column has one type")


def _value_kind(what: str, item: Any) -> str:
    if isinstance(item, bool):
        return "boolean"
    if isinstance(item, int):
        if not -(2**63) <= item < 2**63:
            raise ValueError(f"{what} {item} is beyond the 64-bit integer range")
        return "integer"
    if isinstance(item, str):
        return "text"
    raise ValueError(f"{what} must be an integer, text or a boolean, not {item!r:.60}")


class OptionSpec(Strict):
    """A choice/status value the destination must have; `value` pins its integer (Dataverse), `state`
    the state a status reason belongs to (statuscode)."""

    label: str
    value: StrictInt | None = None
    state: StrictInt | None = None


class ColumnSpec(Strict):
    """A destination column the spec needs created when missing."""

    type: ColumnType
    max_length: StrictInt | None = Field(default=None, ge=1)
    options: list[str | OptionSpec] = Field(default_factory=list)
    target: str | None = None
    label: str | None = None


class TableSpec(Strict):
    """Destination schema needs of one table: custom columns, alternate keys, a custom table."""

    custom: bool = False
    activity: bool = False
    # a many-to-many relationship rather than a table: `columns` are its two lookups (with targets);
    # an object loading it names the pair by `"<ext1>|<ext2>"` and its external_id.column gives the
    # two sides' external-id columns (`"<col1>|<col2>"`, or one name for both)
    association: bool = False
    label: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    keys: dict[str, list[str]] = Field(default_factory=dict)


class UserMatch(Strict):
    """How source people are matched to destination users: by email, case-insensitive."""

    source: str = "users"  # source object holding the people
    email: Expr = "email"
    name: Expr = {"op": "concat", "args": ["first_name", {"const": " "}, "last_name"]}


class Variant(Strict):
    """Overrides applied when the destination environment has the facts in `when` (e.g. no
    Customer Service license: cases go to a custom table). plan/schema_apply picks the first
    variant whose facts all match what the destination reports; objects and tables are merged
    key by key over the base spec."""

    when: dict[str, Any]
    description: str = ""
    # a null value removes that key of the base spec (e.g. a field the other table does not have)
    objects: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    schema_: dict[str, dict[str, Any] | None] = Field(default_factory=dict, alias="schema")
    value_maps: dict[str, dict[str, Any] | None] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RouteRule(Strict):
    object: str
    when: Expr


class Route(Strict):
    """One source object split over several destination objects (1:many routing): each source row
    goes to the object of the first rule whose `when` holds, else to `otherwise`, so the objects
    partition the source. The members share their source; a rule is compiled in every member's
    context (explode and joins), so each member declares the joins the rules read."""

    description: str = ""
    rules: list[RouteRule] = Field(min_length=1)
    otherwise: str

    @property
    def members(self) -> list[str]:
        return [*(r.object for r in self.rules), self.otherwise]


class ExportSpec(Strict):
    """A source object that does not migrate as records but is exported for a rebuild by hand:
    a JSON file of its definitions plus a Markdown guide mapping each source concept (`kind` of
    trigger, setting) to its destination counterpart."""

    source: str
    title: str
    guide: str  # name of the destination tool, e.g. "Power Automate"
    concept_field: str = "trigger"  # the field whose values `counterparts` explains
    concept_key: str = "type"  # when that field holds an object: the key naming its concept
    counterparts: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class SampleOptions(Strict):
    anchor: str  # destination object whose rows are sampled; parents and children follow
    size: StrictInt = Field(default=200, ge=100, le=500)
    stratify_by: Expr | None = None
    seed: StrictInt = 7


class LoadOptions(Strict):
    batch_size: StrictInt = Field(default=100, ge=1, le=1000)
    concurrency: StrictInt = Field(default=4, ge=1, le=52)
    rate_per_second: float = Field(default=20.0, gt=0, allow_inf_nan=False)


class DeltaOptions(Strict):
    window_hours: StrictInt = Field(default=48, ge=24, le=48)
    poll_seconds: StrictInt = Field(default=300, ge=30)


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
    users: UserMatch | None = None
    objects: dict[str, ObjectMap]
    variants: dict[str, Variant] = Field(default_factory=dict)
    exports: dict[str, ExportSpec] = Field(default_factory=dict)
    routes: dict[str, Route] = Field(default_factory=dict)  # 1:many routing (engine/routing.py)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
