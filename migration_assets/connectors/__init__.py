"""Connectors: one package per system, all speaking the shapes in `base.py`.

`open_source(system, ...)` and `open_destination(system, ...)` build a connector from environment
credentials when they are set (a real tenant) or, when they are not, from the sandbox emulator
served in process. Pointing at a real system is a configuration change: set the variables listed
in the connector's `settings.ENV`.
"""

from migration_assets.connectors.registry import (
    CONNECTORS,
    Connection,
    open_destination,
    open_source,
    resolve_connection,
)

__all__ = ["CONNECTORS", "Connection", "open_destination", "open_source", "resolve_connection"]
