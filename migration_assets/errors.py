"""Every error the workbench raises on purpose.

    MigrationError                  base; the CLI catches this and nothing wider
     +-- SpecError                  a mapping spec is invalid (file:line path: problem)
     +-- ConnectorError             talking to a source or destination failed
     |    +-- AuthError             credentials refused (401/403 from a token or data endpoint)
     |    +-- RateLimited           429/503 still returned after every retry
     |    +-- LostResponse          a non-idempotent request was sent but its answer was lost
     |    +-- RemoteRejected        the remote system refused a request (4xx with its error body)
     |    +-- BudgetExhausted       a daily API budget would be exceeded; the run stops resumably
     |    +-- DestinationNotReady   the destination cannot take this yet (e.g. no document site); retry later
     +-- StagingError               DuckDB staging, quarantine or ledger problem
     +-- GateFailed                 a data-quality gate (pandera check) has not passed for this phase
     +-- ApprovalRequired           full/delta load without an approval for the current spec hash
     +-- RollbackError              rollback could not restore the pre-migration state
          +-- SchemaNotRemoved      `rollback --schema` left schema items in place (names them)

Each error carries the context a person needs to act: the file, YAML path and line for a spec, the
system, object and record id for a connector error.
"""

from __future__ import annotations

from collections.abc import Iterable


class MigrationError(Exception):
    """Base of every deliberate error of the workbench."""


class SpecError(MigrationError):
    """Raised when a mapping spec is invalid; the message names file, line, YAML path and problem."""

    def __init__(self, file: str, path: str, problem: str, line: int | None = None) -> None:
        self.file, self.path, self.problem, self.line = file, path, problem, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where} {path}: {problem}" if path else f"{where}: {problem}")


def known_values(values: Iterable[str]) -> str:
    """Render the valid choices for an error message: '(known: a, b, c)'."""
    return "(known: " + ", ".join(sorted(values)) + ")"


class ConnectorError(MigrationError):
    """Raised when a connector cannot complete a request."""

    def __init__(self, message: str, *, system: str = "", status: int | None = None, body: object = None):
        self.system, self.status, self.body = system, status, body
        prefix = f"{system}: " if system else ""
        super().__init__(prefix + message)


class AuthError(ConnectorError):
    """Raised when the remote system refuses the credentials (token endpoint or a 401/403)."""


class RateLimited(ConnectorError):
    """Raised when 429/503 responses continue after the retry budget is spent."""


class LostResponse(ConnectorError):
    """Raised when a request that is not idempotent was sent and its answer was lost (the connection
    dropped or a read timed out after sending, or a gateway answered 502/504): the remote system may
    have applied it. The caller looks the record (or job) up before sending it again, so a retry
    never creates a duplicate."""


class RemoteRejected(ConnectorError):
    """Raised when the remote system rejects a request with a 4xx and an error body."""


class BudgetExhausted(ConnectorError):
    """Raised when a daily API budget would be exceeded; the run can resume when the window resets."""

    def __init__(self, message: str, *, system: str = "", resume_after: str | None = None):
        self.resume_after = resume_after
        super().__init__(message, system=system)


class DestinationNotReady(ConnectorError):
    """Raised when the destination cannot take a write yet for a reason a person fixes there (for
    example no document site is provisioned); the loader holds the row for a later run instead of
    quarantining it."""


class StagingError(MigrationError):
    """Raised for DuckDB staging, quarantine and ledger problems."""


class GateFailed(MigrationError):
    """Raised by a load when the data-quality gate of its staged input has not passed."""


class ApprovalRequired(MigrationError):
    """Raised when a full or delta load runs without an approval bound to the current spec hash."""


class RollbackError(MigrationError):
    """Raised when rollback cannot restore the pre-migration state of a record."""


class SchemaNotRemoved(RollbackError):
    """Raised by `drop_schema` when some schema items the migration created are still in place:
    `removed` says what went, `left` names each item left (with the destination's reason, or what a
    person removes by hand where the destination's API cannot)."""

    def __init__(self, removed: list[str], left: list[str], *, system: str = "") -> None:
        self.removed, self.left = list(removed), list(left)
        prefix = f"{system}: " if system else ""
        super().__init__(f"{prefix}{len(left)} schema item(s) left: " + "; ".join(left))


__all__ = [
    "ApprovalRequired",
    "AuthError",
    "BudgetExhausted",
    "ConnectorError",
    "DestinationNotReady",
    "GateFailed",
    "LostResponse",
    "MigrationError",
    "RateLimited",
    "RemoteRejected",
    "RollbackError",
    "SchemaNotRemoved",
    "SpecError",
    "StagingError",
    "known_values",
]
