"""The cyclic collector and long-lived objects: what this process freezes (gc.freeze) and when.

Every freeze in the project goes through here, so that whether objects are frozen is a flag read,
not `gc.get_freeze_count()`: on Python 3.11 that walks every frozen object (~15 ms in a step
process, which freezes its definitions at import), once per load before its first request.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_lifelong = False  # objects were frozen for the rest of the process
_loads = 0  # loads running with the heap they froze


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
    back here: `gc.unfreeze` would put theirs back too."""

    @functools.wraps(load)
    async def frozen(*args: P.args, **kwargs: P.kwargs) -> T:
        global _loads
        outermost = not _lifelong and _loads == 0
        if outermost:
            gc.freeze()
        _loads += 1
        try:
            return await load(*args, **kwargs)
        finally:
            _loads -= 1
            if outermost:
                gc.unfreeze()

    return frozen
