"""One emulator served over real HTTP on 127.0.0.1 in its own process, for the benches that compare
clients "on the same served sandbox" (ours and dlt's read the same server, which counts their
requests per API key in its state file).

    python -m migration_assets.bench.serving SYSTEM STATE_DIR   # prints {"base_url": ...} once listening
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from migration_assets.heap import freeze_for_life
from migration_assets.systems import system


async def _serve(name: str, state_dir: Path) -> None:
    declared = system(name)
    config = uvicorn.Config(declared.create_app(state_dir), host="127.0.0.1", port=0, log_level="warning")
    freeze_for_life()  # the app lives as long as the process: full collections need not walk it again
    config.lifespan = "off"
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(json.dumps({"base_url": f"http://127.0.0.1:{port}{declared.sandbox.api_prefix}"}), flush=True)
    await task


@contextmanager
def served(name: str, state_dir: Path) -> Iterator[str]:
    """The base URL of `name`'s emulator over `state_dir`, served by a child process while inside."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "migration_assets.bench.serving", name, str(state_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"the {name} sandbox server did not start")
        yield json.loads(line)["base_url"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], Path(sys.argv[2])))
