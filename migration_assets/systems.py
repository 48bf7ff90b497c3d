"""Every system the workbench talks to declares itself once, in `connectors/<package>/system.py`.

A declaration names everything the generic code needs to know about a system: its connector class,
the environment variables of a real tenant, its catalog (source objects, or the destination's
standard tables), and its strict sandbox emulator with the seeding hooks `migrate sandbox seed`
calls. Every registry (connectors, catalogs, sandboxes, seeding) is derived from these
declarations, so adding a system means adding a connector package (with its `system.py`), an
emulator package and a spec; no existing file changes.

Example: `connectors/case_status/system.py` (a source) and `connectors/dataverse/system.py` (a
destination).

Seeding hooks (module functions of `SandboxDeclaration.seeding`):
    every system:   reset(state_path: Path, **options) -> None
    a source:       generate(state_path, *, scale: int, seed: int) -> dict[str, int]   (records per object)
                    people(state_path) -> list[Person]        (its users, mirrored as destination users)
                    simulate_delta(state_path) -> dict[str, Any]   (changes made, for the demo and tests)
    a destination:  seed_users(state_path, people: list[Person]) -> list[str]   (the new user ids)
    a destination whose custom schema its admin creates by hand (its API cannot): the function named
                    by `SandboxDeclaration.admin_schema_hook`, (state_path, plan) -> list[str]
                    (`migrate sandbox apply-schema-plan PAIR` calls it; see sandbox/schema_plan.py)
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from migration_assets.errors import MigrationError, known_values


@dataclass(frozen=True)
class EnvNames:
    """Names of the environment variables holding one system's endpoint and credentials.

    A real tenant is used when any of them is set; then every one that is not None and not listed
    in `optional` must be set (a partly configured system is an error naming the missing ones).
    """

    base_url: str
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    # further application users as `client_id:secret` pairs separated by commas (list it in `optional`)
    extra_credentials: str | None = None
    optional: tuple[str, ...] = ()  # fields the connector can derive (e.g. a token URL from the login URL)

    @classmethod
    def oauth(cls, prefix: str, *, base_url: str = "BASE_URL", **more: Any) -> EnvNames:
        """An OAuth client-credentials system's names: `<prefix>_<base_url>`, `<prefix>_TOKEN_URL`,
        `<prefix>_CLIENT_ID` and `<prefix>_CLIENT_SECRET` (the README lists every system's)."""
        return cls(
            base_url=f"{prefix}_{base_url}",
            token_url=f"{prefix}_TOKEN_URL",
            client_id=f"{prefix}_CLIENT_ID",
            client_secret=f"{prefix}_CLIENT_SECRET",
            **more,
        )

    def names(self) -> dict[str, str]:
        """{field: variable name} of the variables this system uses."""
        return {k: v for k, v in self.__dict__.items() if v is not None and k != "optional"}


@dataclass(frozen=True)
class Person:
    """A person of a source system, as the sandbox seeding mirrors them into destinations."""

    email: str
    first_name: str
    last_name: str
    active: bool = True


@dataclass(frozen=True)
class SandboxDeclaration:
    """How to build, reach and seed the strict emulator of one system.

    Attributes:
        host: base URL used in process (any host works with the ASGI transport).
        api_prefix: path of the data API under the host ("" or "/api/data/v9.2").
        token_path: OAuth token endpoint path, or None for API-key systems.
        credentials: the sandbox's client id/secret or API key.
        extra_credentials: further application users the sandbox can accept ({client_id,
            client_secret} each; a destination uses them when its options ask for several identities).
        admin_schema_hook: for a destination whose custom schema a person creates by hand (its API
            cannot), "module:function" applying a schema plan as that admin would:
            function(state_path: Path, plan: Mapping) -> list[str] (one line per change), where
            `plan` is the plan/schema_diff report (its `to_create` items). None: the destination's
            connector creates its schema itself in plan/schema_apply.
        app: "module:function"; function(state_path: Path) returns the ASGI app. By convention
            `create_app` of `migration_assets.sandbox.<package>.app`, <package> the declaring
            connector package's folder name.
        seeding: module with the seeding hooks of the system's role (see this module's docstring);
            by convention `migration_assets.sandbox.<package>.seed`.
    """

    host: str
    api_prefix: str = ""
    token_path: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    extra_credentials: tuple[Mapping[str, str], ...] = ()
    admin_schema_hook: str | None = None
    app: str = ""
    seeding: str = ""


@dataclass(frozen=True)
class SystemDeclaration:
    """One system, declared once.

    Attributes:
        name: the name specs use (`source:` / `destination:`) and the sandbox state file's stem.
        title: the name people read ("Dynamics 365 Sales (Dataverse)").
        role: "source" or "destination".
        connector: "module:Class" of its SourceConnector / DestinationConnector; a module starting
            with "." is relative to the declaring package (".client:CaseStatusSource").
        env: environment variables of a real tenant.
        sandbox: its emulator.
        catalog: a source's "module:ATTR" (Mapping[str, SourceObject], by convention
            ".settings:CATALOG"); a destination's YAML file of standard tables, relative to the
            declaring package (by convention `catalog.yaml`).
        column_prefix: a source's short prefix for the columns a destination gets for its data
            (external ids, custom fields), e.g. "cs" for Case Status.
        package: the declaring package's folder (filled in by discovery).
    """

    name: str
    title: str
    role: Literal["source", "destination"]
    connector: str
    env: EnvNames
    sandbox: SandboxDeclaration
    catalog: str = ""
    column_prefix: str = ""
    package: Path | None = None

    def connector_class(self) -> type:
        return load_object(self.connector)

    def seeding(self) -> ModuleType:
        return importlib.import_module(self.sandbox.seeding)

    def create_app(self, state_dir: Path) -> Any:
        return load_object(self.sandbox.app)(self.state_path(state_dir))

    def state_path(self, state_dir: Path) -> Path:
        return Path(state_dir) / f"{self.name}.sqlite"

    def catalog_path(self) -> Path:
        assert self.package is not None and self.role == "destination", self.name
        return self.package / self.catalog


def load_object(reference: str) -> Any:
    """The object named by "module:attribute"."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


CONNECTORS_PACKAGE = "migration_assets.connectors"
CONNECTORS_DIR = Path(__file__).parent / "connectors"


@cache
def declarations() -> dict[str, SystemDeclaration]:
    """Every declared system, by name: one `SYSTEM` per `connectors/<package>/system.py`."""
    found: dict[str, SystemDeclaration] = {}
    for info in sorted(pkgutil.iter_modules([str(CONNECTORS_DIR)]), key=lambda i: i.name):
        if not info.ispkg or not (CONNECTORS_DIR / info.name / "system.py").exists():
            continue  # a helper package, not a system
        module = importlib.import_module(f"{CONNECTORS_PACKAGE}.{info.name}.system")
        declared: SystemDeclaration = module.SYSTEM
        found[declared.name] = _with_conventions(declared, info.name, Path(module.__file__).parent)  # type: ignore[arg-type]
    return found


def _with_conventions(declared: SystemDeclaration, folder: str, package: Path) -> SystemDeclaration:
    """The declaration with its relative references made absolute and its conventional defaults
    filled in (see the attributes of SystemDeclaration and SandboxDeclaration)."""
    here, emulator = f"{CONNECTORS_PACKAGE}.{folder}", f"migration_assets.sandbox.{folder}"
    sandbox = replace(
        declared.sandbox,
        app=declared.sandbox.app or f"{emulator}.app:create_app",
        seeding=declared.sandbox.seeding or f"{emulator}.seed",
    )
    catalog = declared.catalog or (".settings:CATALOG" if declared.role == "source" else "catalog.yaml")
    return replace(
        declared,
        connector=_absolute(declared.connector, here),
        catalog=_absolute(catalog, here) if declared.role == "source" else catalog,
        sandbox=sandbox,
        package=package,
    )


def _absolute(reference: str, package: str) -> str:
    """A "module:attribute" reference whose module may be relative (".client") to `package`."""
    return package + reference if reference.startswith(".") else reference


def system(name: str, role: str | None = None) -> SystemDeclaration:
    """The declaration of `name` (of the given role, when given).

    Raises:
        MigrationError: no such system (the message lists the known ones).
    """
    known = {n: d for n, d in declarations().items() if role is None or d.role == role}
    if name not in known:
        what = f"{role} system" if role else "system"
        raise MigrationError(f"unknown {what} {name!r} {known_values(known)}")
    return known[name]


def systems(role: str) -> list[SystemDeclaration]:
    """Every declared system of one role ("source" or "destination"), by name."""
    return [d for d in declarations().values() if d.role == role]
