"""Strict emulators of the source and destination APIs: the embedded default.

With no credentials configured, connectors talk to these apps in process through
`httpx.ASGITransport`, over SQLite files under `var/sandbox/`, so every process shares one state.
`migrate sandbox serve` exposes the same apps on 127.0.0.1 for real HTTP.

Which emulator serves which system, with what credentials and seeding hooks, is part of each
system's declaration (`migration_assets.systems`). Each emulator module says in its docstring
which behaviour follows the real API (reference files in shared/reference) and which is ours.
"""

from __future__ import annotations

from migration_assets.systems import SandboxDeclaration, system


def sandbox(name: str) -> SandboxDeclaration:
    """The emulator declaration of system `name` (credentials, host, token path)."""
    return system(name).sandbox
