"""The house's layering rules (CONVENTIONS §1), checked by walking every module's imports.

Only `storage/*` talks to a database driver, only `web/*` to the web framework, only `cli/*` to
the CLI library; the core imports none of them and none of the edges. Imports inside functions
count too: a lazy import is still an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trailkeeper

PACKAGE_DIR = Path(trailkeeper.__file__).resolve().parent
DATABASE_LIBRARIES = {"sqlite3", "psycopg", "psycopg2", "psycopg_pool", "asyncpg", "sqlalchemy"}
WEB_LIBRARIES = {"starlette", "fastapi", "uvicorn", "granian", "hypercorn"}
CLI_LIBRARIES = {"click", "typer"}
EDGE_PACKAGES = {"trailkeeper.storage", "trailkeeper.web", "trailkeeper.cli"}
CORE = ("events", "catalog", "query", "validation", "ratelimit", "integrity", "demo")
FORBIDDEN_NAMES = {"utils", "util", "helpers", "helper", "common", "misc"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute, including relative and function-level imports."""
    source = path.read_text(encoding="utf-8")
    return imports_in(source, module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool) -> set[str]:
    """The absolute names imported by `source`, the text of `module`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                name = f"{base}.{node.module}" if node.module else base
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imported_modules(p) for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def top(module: str) -> str:
    return module.split(".", maxsplit=1)[0]


def importers_of(libraries: set[str]) -> set[str]:
    return {name for name, imports in MODULES.items() if {top(m) for m in imports} & libraries}


def is_under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def is_core(module: str) -> bool:
    return is_under(module, *(f"trailkeeper.{name}" for name in CORE))


def test_the_import_walk_sees_the_edges_it_polices() -> None:
    # Guards against a walker that finds nothing and so passes every rule below.
    assert "sqlite3" in MODULES["trailkeeper.storage.sqlite"]
    assert any(top(m) == "starlette" for m in MODULES["trailkeeper.web.app"])
    assert any(top(m) == "click" for m in MODULES["trailkeeper.cli"])
    assert "trailkeeper.errors" in MODULES["trailkeeper.query"]
    assert sum(map(is_core, MODULES)) >= 5


def test_relative_and_function_level_imports_are_resolved() -> None:
    source = "from . import base\nfrom ..events import StoredRow\ndef lazy():\n    import sqlite3\n"
    found = imports_in(source, "trailkeeper.storage.example", is_package=False)
    assert {"trailkeeper.storage.base", "trailkeeper.events", "sqlite3"} <= found
    in_init = imports_in("from .base import Store\n", "trailkeeper.storage", is_package=True)
    assert "trailkeeper.storage.base" in in_init


def test_only_storage_imports_a_database_driver() -> None:
    offenders = {
        m for m in importers_of(DATABASE_LIBRARIES) if not is_under(m, "trailkeeper.storage")
    }
    assert offenders == set()


def test_only_web_imports_starlette() -> None:
    offenders = {m for m in importers_of({"starlette"}) if not is_under(m, "trailkeeper.web")}
    assert offenders == set()


def test_only_cli_and_web_import_uvicorn() -> None:
    allowed = ("trailkeeper.cli", "trailkeeper.web")
    offenders = {m for m in importers_of({"uvicorn"}) if not is_under(m, *allowed)}
    assert offenders == set()


def test_only_bus_and_cli_import_nats() -> None:
    allowed = ("trailkeeper.bus", "trailkeeper.cli")
    offenders = {m for m in importers_of({"nats"}) if not is_under(m, *allowed)}
    assert offenders == set()


def test_the_bus_uses_the_store_protocol_not_a_driver_web_or_cli() -> None:
    libraries = DATABASE_LIBRARIES | WEB_LIBRARIES | CLI_LIBRARIES
    bus = [m for m in MODULES if is_under(m, "trailkeeper.bus")]
    assert bus
    for module in bus:
        assert {top(m) for m in MODULES[module]} & libraries == set(), module


def test_detectors_are_pure_of_every_edge() -> None:
    pure = [
        m
        for m in MODULES
        if is_under(m, "trailkeeper.detect")
        and m.rpartition(".")[2].startswith(("detectors", "state", "dedup", "pipeline"))
    ]
    assert pure
    for module in pure:
        edges = {m for m in MODULES[module] if is_under(m, *EDGE_PACKAGES, "trailkeeper.bus")}
        assert edges == set(), module


def test_only_cli_imports_click() -> None:
    offenders = {m for m in importers_of({"click"}) if not is_under(m, "trailkeeper.cli")}
    assert offenders == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if is_core(m)))
def test_core_modules_import_no_database_web_or_cli_library(module: str) -> None:
    libraries = DATABASE_LIBRARIES | WEB_LIBRARIES | CLI_LIBRARIES
    assert {top(m) for m in MODULES[module]} & libraries == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if is_core(m)))
def test_core_modules_import_no_storage_web_or_cli_module(module: str) -> None:
    assert {m for m in MODULES[module] if is_under(m, *EDGE_PACKAGES)} == set()


def test_no_module_is_named_utils_helpers_common_or_misc() -> None:
    offenders = [
        name
        for name in MODULES
        if any(part.strip("_").lower() in FORBIDDEN_NAMES for part in name.split("."))
    ]
    assert offenders == []
