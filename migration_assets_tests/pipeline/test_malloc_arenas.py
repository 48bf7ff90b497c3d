"""A workbench process keeps glibc's malloc to MALLOC_ARENAS arenas however many threads allocate
(heap.bound_malloc_arenas, called when the package is imported), unless the environment says
otherwise. Counted from glibc's own per-arena statistics (malloc_stats) in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from migration_assets.heap import MALLOC_ARENAS

# eight threads allocating at once (each blocks on the barrier holding its memory, so none can
# reuse another's arena), then glibc's statistics: one "Arena N:" block per arena made
PROGRAM = """
import ctypes, sys, threading
if sys.argv[1] == "workbench":
    import migration_assets
barrier = threading.Barrier(8)
def work():
    held = [bytearray(4096) for _ in range(2000)]
    barrier.wait()
    del held
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def _on_glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # a libc that does not know the name (musl)
        return False


glibc = pytest.mark.skipif(not _on_glibc(), reason="glibc only")


def _arenas(mode: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    command = [sys.executable, "-c", PROGRAM, mode]
    done = subprocess.run(command, capture_output=True, text=True, env=environ, check=True)
    return len(re.findall(r"^Arena \d+:", done.stderr, re.MULTILINE))


@glibc
def test_a_workbench_process_makes_at_most_its_arenas() -> None:
    assert _arenas("plain") > MALLOC_ARENAS  # the default: threads spread over more arenas
    assert 1 <= _arenas("workbench") <= MALLOC_ARENAS


@glibc
def test_the_environment_setting_wins() -> None:
    assert _arenas("workbench", MALLOC_ARENA_MAX="6") > MALLOC_ARENAS
