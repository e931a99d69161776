"""Packaging: the npe2 manifest, its top-level copy and plugin discovery."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_manifest_is_the_package_manifest():
    top = (ROOT / "napari.yaml").read_bytes()
    inner = (ROOT / "src" / "napari_patchwise" / "napari.yaml").read_bytes()
    assert top == inner


def test_npe2_discovers_the_plugin_and_its_contributions():
    from npe2 import PluginManager

    pm = PluginManager()
    pm.discover()
    manifest = pm.get_manifest("napari-patchwise")
    contrib = manifest.contributions
    assert [w.display_name for w in contrib.widgets] == ["Patchwise", "Box planner", "Seed weak labels", "Annotation QC",
                                                          "Export training data"]
    assert [s.key for s in contrib.sample_data] == ["nuclei3d"]
    assert contrib.readers[0].accepts_directories


def test_every_manifest_command_imports():
    import importlib

    from npe2 import PluginManifest

    manifest = PluginManifest.from_file(ROOT / "napari.yaml")
    for cmd in manifest.contributions.commands:
        module, _, attr = cmd.python_name.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


@pytest.mark.skipif(shutil.which("npe2") is None and not (Path(sys.executable).parent / "npe2").exists(),
                    reason="npe2 command not installed")
def test_npe2_validate_passes():
    exe = shutil.which("npe2") or str(Path(sys.executable).parent / "npe2")
    out = subprocess.run([exe, "validate", "napari-patchwise"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in (out.stdout + out.stderr).lower()


_IMPORT_ALL = (
    "import importlib, pkgutil, sys\n"
    "import {pkg} as p\n"
    "names = [p.__name__] + [m.name for m in pkgutil.walk_packages(getattr(p, '__path__', []), p.__name__ + '.')\n"
    "                           if not m.name.endswith('__main__')]\n"
    "for n in names:\n"
    "    importlib.import_module(n)\n"
    "bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r}))\n"
    "print(len(names), bad)\n"
    "sys.exit(1 if bad else 0)\n"
)
_QT = {"qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6"}


@pytest.mark.parametrize(
    ("pkg", "forbidden"),
    [
        # every engine module, and the CLI, run without Qt or napari
        ("napari_patchwise.engine", _QT | {"napari", "magicgui", "vispy"}),
        ("napari_patchwise.cli", _QT | {"napari", "magicgui", "vispy"}),
        # the napari adapters use napari.layers but no Qt
        ("napari_patchwise.layers", _QT),
    ],
)
def test_tiers_import_without_what_they_must_not_use(pkg, forbidden):
    code = _IMPORT_ALL.format(pkg=pkg, forbidden=sorted(forbidden))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
