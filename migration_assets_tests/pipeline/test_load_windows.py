"""The loader's windows: the first holds a batch for every request in flight, later ones double and
never hold fewer rows than a batch per slot at the time they are cut, up to WINDOW_ROWS; and the
collector freeze around a load."""

from __future__ import annotations

import asyncio
import gc

import polars as pl

from migration_assets import heap
from migration_assets.engine.loading import WINDOW_ROWS, BatchTuner, windows
from migration_assets.heap import heap_frozen


def _sizes(height: int, tuner: BatchTuner, after_first: int | None = None) -> list[int]:
    """Window heights as the loader cuts them, the batches growing after each window (answers came
    back fast) and, with `after_first`, the limiter admitting that many slots after the first."""
    frame = pl.DataFrame({"n": range(height)})
    out = []
    for window in windows(frame, lambda: tuner.size * tuner.in_flight()):
        out.append(window.height)
        tuner.size = min(tuner.max_rows, tuner.size * 2)
        if after_first is not None:
            tuner.slots = lambda: after_first
    return out


def test_windows_cover_every_row_once_doubling_up_to_the_cap() -> None:
    sizes = _sizes(20_000, BatchTuner(size=100, max_rows=1000, concurrency=4))
    assert sizes[0] == 400  # four batches of 100: one per slot in flight
    assert sizes == [400, 800, 1600, 3200, 5000, 5000, 4000]
    assert sum(sizes) == 20_000 and max(sizes) == WINDOW_ROWS


def test_a_window_holds_a_batch_for_each_slot_the_limiter_opened() -> None:
    sizes = _sizes(20_000, BatchTuner(size=100, max_rows=1000, concurrency=2), after_first=9)
    # 200 rows for two slots; then ten slots of 200-row batches: 2,000 rows, not the doubled 400
    assert sizes[:2] == [200, 2000]
    assert sum(sizes) == 20_000


def test_a_small_load_goes_in_one_window() -> None:
    assert _sizes(250, BatchTuner(size=100, max_rows=1000, concurrency=4)) == [250]


def test_a_load_leaves_a_freeze_it_did_not_make_in_place() -> None:
    """A load in a process frozen for life (a step process's definitions), or beside another load
    that froze the heap, neither freezes more nor puts the others' objects back when it ends; alone,
    it freezes the heap and puts it back. The test leaves the process as it found none: nothing
    frozen (freezing again at the end would freeze the test's passing objects too, and a later
    test comparing freeze counts would see them die)."""

    async def load() -> int:
        return gc.get_freeze_count()

    async def beside() -> tuple[int, int]:
        inner = await heap_frozen(load)()
        return inner, gc.get_freeze_count()

    gc.unfreeze()  # this test process's own freeze for life, if it has one
    heap._lifelong = False
    try:
        assert asyncio.run(heap_frozen(load)()) > 0  # nothing frozen before: this load froze the heap
        assert gc.get_freeze_count() == 0
        inner, outer = asyncio.run(heap_frozen(beside)())  # a load inside another's freeze
        assert inner > 0 and outer > 0  # the inner load did not put the outer one's objects back
        assert gc.get_freeze_count() == 0

        heap.freeze_for_life()
        frozen = gc.get_freeze_count()
        assert asyncio.run(heap_frozen(load)()) == frozen
        assert gc.get_freeze_count() == frozen  # still frozen: for life means for life
    finally:
        gc.unfreeze()
        heap._lifelong = False


def test_the_collector_waits_longer_while_loads_run_and_as_before_once_the_last_ends() -> None:
    before = gc.get_threshold()

    async def load() -> tuple[int, ...]:
        return gc.get_threshold()

    async def beside() -> tuple[tuple[int, ...], tuple[int, ...]]:
        inner = await heap_frozen(load)()
        return inner, gc.get_threshold()  # the inner load ended, the outer one still runs

    inner, outer = asyncio.run(heap_frozen(beside)())
    assert inner[0] == outer[0] == max(heap.YOUNG_THRESHOLD, before[0])
    assert inner[1:] == outer[1:] == before[1:]
    assert gc.get_threshold() == before
