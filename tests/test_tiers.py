"""The command line and the docks never import each other: both go through the engine's jobs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "napari_patchwise"


def imported_modules(source: str, module: str) -> set[str]:
    """Absolute names of the modules ``source`` (the module ``module``) imports, relative imports resolved.

    ``from .. import cli`` counts as importing ``napari_patchwise.cli``.
    """
    package = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str):
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if parts[-1] == "__init__":
            name += ".__init__"  # relative imports resolve against the package itself
        yield path, name


def _crossing(folder: str, forbidden: str) -> list[str]:
    bad = []
    for path, name in _modules(folder):
        for target in imported_modules(path.read_text(encoding="utf-8"), name):
            if target == forbidden or target.startswith(forbidden + "."):
                bad.append(f"{path.relative_to(PACKAGE)} imports {target}")
    return bad


@pytest.mark.parametrize("folder, forbidden", [
    ("cli", "napari_patchwise._qt"),
    ("_qt", "napari_patchwise.cli"),
    ("engine", "napari_patchwise.cli"),
    ("engine", "napari_patchwise._qt"),
])
def test_tiers_do_not_import_each_other(folder, forbidden):
    assert list(_modules(folder)), f"no modules found under {folder}/"
    assert _crossing(folder, forbidden) == []


@pytest.mark.parametrize("source, module, target", [
    ("from .._qt.seed_dock import SeedWidget", "napari_patchwise.cli.seed", "napari_patchwise._qt.seed_dock"),
    ("from .. import cli", "napari_patchwise._qt.export_dock", "napari_patchwise.cli"),
    ("from ..cli.export import parse_ids", "napari_patchwise._qt.export_dock", "napari_patchwise.cli.export"),
    ("import napari_patchwise._qt.runner as r", "napari_patchwise.cli.main", "napari_patchwise._qt.runner"),
    ("from . import seed", "napari_patchwise.cli.__init__", "napari_patchwise.cli.seed"),
])
def test_the_scan_sees_each_way_of_importing(source, module, target):
    assert target in imported_modules(source, module)
