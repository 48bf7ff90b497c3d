"""Connectors: one package per system, all speaking the shapes in `base.py`, each declared once in
its `system.py` (see `migration_assets.systems`).

`open_source(system, ...)` and `open_destination(system, ...)` build a connector from environment
credentials when they are set (a real tenant) or, when they are not, from the sandbox emulator
served in process. Pointing at a real system is a configuration change: set the variables its
declaration names.
"""

from migration_assets.connectors.connection import Connection
from migration_assets.connectors.registry import (
    connectors,
    open_destination,
    open_source,
    resolve_connection,
)

__all__ = ["Connection", "connectors", "open_destination", "open_source", "resolve_connection"]
