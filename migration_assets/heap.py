"""The process's memory: what it freezes for the cyclic collector (gc.freeze) and when, how often the
collector runs while loads do, and how many malloc arenas its threads may spread over.

Every freeze in the project goes through here, so that whether objects are frozen is a flag read,
not `gc.get_freeze_count()`: on Python 3.11 that walks every frozen object (~15 ms in a step
process, which freezes its definitions at import), once per load before its first request.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import sys
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

M_ARENA_MAX = -8  # glibc's mallopt parameter
MALLOC_ARENAS = 2

_lifelong = False  # objects were frozen for the rest of the process
_loads = 0  # loads running (with the heap one of them froze, unless it was frozen for life)
_thresholds: tuple[int, ...] | None = None  # the collector's thresholds before the first load running
YOUNG_THRESHOLD = 50_000  # allocations between two passes of the young generation while loads run


def freeze_for_life() -> None:
    """Freeze everything made so far, for as long as the process lives (definitions, emulator
    apps): full collections need not walk it again. Never put back."""
    global _lifelong
    gc.freeze()
    _lifelong = True


def heap_frozen(load: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """`load` with the process's objects made before it left out of the collector's full passes while
    it allocates (gc.freeze), and put back when it ends: each pass walked all of them (definitions,
    instance, frames of earlier steps), 80-150 ms a time and up to five times a load. When objects
    are frozen already (for life, or by a load running beside this one) nothing is frozen or put
    back here: `gc.unfreeze` would put theirs back too.

    While loads run, the collector's young generation also waits for YOUNG_THRESHOLD allocations
    instead of Python's 700: a load allocates a few containers a row (rows, requests, ledger
    entries), nearly all freed by their reference counts, and the young passes promoted the ones
    alive at that moment into older generations, whose passes came in turn. A served matter load
    (4,487 rows, median of 4): 81 passes and 65 ms of collection, the longest 44 ms while batches
    waited, against one pass of 2 ms; its ratio to the replay of its requests went from 0.868 to
    0.946 (median of 9, side by side). The threshold is put back when the last load ends."""

    @functools.wraps(load)
    async def frozen(*args: P.args, **kwargs: P.kwargs) -> T:
        global _loads, _thresholds
        outermost = not _lifelong and _loads == 0
        if outermost:
            gc.freeze()
        if _loads == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _thresholds[0]), *_thresholds[1:])
        _loads += 1
        try:
            return await load(*args, **kwargs)
        finally:
            _loads -= 1
            if _loads == 0 and _thresholds is not None:
                gc.set_threshold(*_thresholds)
                _thresholds = None
            if outermost:
                gc.unfreeze()

    return frozen


def bound_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc make at most `arenas` arenas (as MALLOC_ARENA_MAX would), unless the
    environment sets MALLOC_ARENA_MAX itself; True when set here.

    A run's threads (DuckDB cursors, the quarantine writer's, `to_thread` workers, an in-process
    sandbox's request threads) each took an arena of their own, up to 8 per core, and memory freed in
    one is not reused by the others: the 30,000-scale bench peaked at 635 MiB with the default, 587
    with two set here and 570 with MALLOC_ARENA_MAX=2 in the environment (105, 111 and 107 s).
    Must run before the threads start; other C libraries (non-glibc) are left alone."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
