"""`migrate sandbox serve`: every emulator on 127.0.0.1 over real HTTP.

Prints one JSON line per system once it listens: system, base_url, token_url and the sandbox
client id/secret or API key (sandbox credentials only; they grant nothing outside this machine).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import uvicorn

from migration_assets.heap import freeze_for_life
from migration_assets.systems import declarations


def _server(app, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return uvicorn.Server(config)


async def serve(state_dir: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve every available emulator until interrupted; `port` 0 picks free ports."""
    if host != "127.0.0.1":
        raise ValueError("sandbox servers bind 127.0.0.1 only")
    servers: list[tuple[str, uvicorn.Server]] = []
    for i, (name, declared) in enumerate(declarations().items()):
        server = _server(declared.create_app(state_dir), host, port + i if port else 0)
        servers.append((name, server))
    freeze_for_life()  # the apps live as long as the process: full collections need not walk them again
    tasks = [asyncio.create_task(s.serve()) for _, s in servers]
    for name, server in servers:
        while not server.started:
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        box = declarations()[name].sandbox
        base = f"http://{host}:{bound}"
        line = {
            "system": name,
            "base_url": base + box.api_prefix,
            "host": base,
            "token_url": base + box.token_path if box.token_path else None,
            **box.credentials,
        }
        print(json.dumps(line), flush=True)
    sys.stdout.flush()
    await asyncio.gather(*tasks)
