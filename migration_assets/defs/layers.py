"""One asset-decorator helper for every layer of a pair, so each asset states only what is its own.

`pair_asset(ctx, layer, name, ...)` derives the key (`<pair>/<layer>/<layer>_<name>`), the group
(the pair's lane for the layer, see `naming.LANES`), the phase partitions, the staging pool, the
layer tag, the owner and the layer's kinds; the function it decorates first has its phase checked
(a key that is not a phase fails before anything is read or written). `pair_check` does the same for
asset checks. Checks of a partitioned asset are partitioned by phase too, so the UI shows each
result under its phase (a gate result of the sample is never read as the full run's).

Example:
    @pair_asset(ctx, "stage", "contact", deps=[...], description="clients → contact")
    def _stage(context, staging: StagingResource) -> dg.MaterializeResult:
        phase = context.partition_key  # already validated
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg

from migration_assets.defs.instance import record_process
from migration_assets.defs.naming import OWNER, POOL, asset_key, group_name
from migration_assets.defs.phases import current_phase
from migration_assets.settings import Paths
from migration_assets.spec.loader import LoadedSpec


@dataclass(frozen=True)
class PairDefs:
    """What every factory of one pair needs: its spec, its phase partitions and the folders."""

    loaded: LoadedSpec
    phases: dg.DynamicPartitionsDefinition
    paths: Paths

    @property
    def pair(self) -> str:
        return self.loaded.pair

    @property
    def source(self) -> str:
        return self.loaded.spec.source

    @property
    def destination(self) -> str:
        return self.loaded.spec.destination

    def key(self, layer: str, name: str) -> dg.AssetKey:
        return asset_key(self.pair, layer, name)

    def layer_kinds(self, layer: str) -> set[str]:
        """What a layer's assets are made of (shown as kind tags in the UI)."""
        return {
            "discover": {self.source, self.destination},
            "profile": {"polars", "duckdb"},
            "plan": {"duckdb"},
            "extract": {self.source, "duckdb"},
            "stage": {"polars", "duckdb"},
            "load": {self.destination},
            "patch": {self.destination},
            "verify": {self.destination, "duckdb"},
            "export": {self.source, "json"},
            "cutover": {"human"},
        }[layer]


def phase_checked(fn: Callable, *, partitioned: bool = True) -> Callable:
    """Record the run's process (see `instance.reclaim_dead_runs`) and refuse a partition key that
    is not a phase, before the step body runs."""

    @functools.wraps(fn)
    def wrapper(context, *args, **kwargs):
        record_process(context)
        if partitioned:
            current_phase(context)
        return fn(context, *args, **kwargs)

    return wrapper


def pair_asset(
    ctx: PairDefs,
    layer: str,
    name: str,
    *,
    description: str,
    deps: Iterable[dg.AssetKey] = (),
    kinds: Iterable[str] = (),
    check_specs: Iterable[dg.AssetCheckSpec] = (),
    metadata: Mapping[str, Any] | None = None,
    partitioned: bool = True,
    staging: bool = True,
) -> Callable[[Callable], dg.AssetsDefinition]:
    """The decorator of one asset of `ctx`'s pair in `layer`.

    Args:
        ctx: the pair.
        layer: one of `naming.LAYERS`; gives the key prefix, group, tag and default kinds.
        name: the last key segment.
        description: what the asset holds, for the UI.
        deps: upstream asset keys.
        kinds: kinds beyond the layer's own.
        check_specs: checks the asset's body reports.
        metadata: definition metadata (e.g. the mapping of a staged table).
        partitioned: partitioned by phase (the discovery assets are not).
        staging: opens the pair's DuckDB file (runs in the `duckdb` pool).
    """

    def decorate(fn: Callable) -> dg.AssetsDefinition:
        with _partitioned_checks():
            specs = [_phased(ctx, spec) if partitioned else spec for spec in check_specs]
            return dg.asset(
                key=ctx.key(layer, name),
                group_name=group_name(ctx.pair, layer, name),
                partitions_def=ctx.phases if partitioned else None,
                pool=POOL if staging else None,
                deps=list(deps),
                kinds=ctx.layer_kinds(layer) | set(kinds),
                owners=[OWNER],
                tags={"layer": layer},
                check_specs=specs or None,
                metadata=dict(metadata) if metadata else None,
                description=description,
            )(phase_checked(fn, partitioned=partitioned))

    return decorate


def _phased(ctx: PairDefs, spec: dg.AssetCheckSpec) -> dg.AssetCheckSpec:
    """`spec` partitioned by the pair's phases (its results then carry their phase)."""
    return dg.AssetCheckSpec(
        spec.name,
        asset=spec.asset_key,
        description=spec.description,
        blocking=spec.blocking,
        metadata=spec.metadata,
        additional_deps=spec.additional_deps,
        partitions_def=ctx.phases,
    )


@contextmanager
def _partitioned_checks() -> Iterator[None]:
    """Partitioned asset checks are a preview feature of Dagster 1.13 (stable enough for results per
    phase); its warning says nothing a user of the workbench can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        yield


def pair_check(
    ctx: PairDefs, layer: str, name: str, check: str, *, description: str, blocking: bool = False
) -> Callable[[Callable], dg.AssetChecksDefinition]:
    """The decorator of a check on `<pair>/<layer>/<name>` that opens staging and needs a phase."""

    def decorate(fn: Callable) -> dg.AssetChecksDefinition:
        with _partitioned_checks():
            return dg.asset_check(
                asset=ctx.key(layer, name),
                name=check,
                blocking=blocking,
                pool=POOL,
                description=description,
                partitions_def=ctx.phases,
            )(phase_checked(fn))

    return decorate
