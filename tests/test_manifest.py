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
    for cmd in contrib.commands:  # every command points at something importable
        assert callable(cmd.exec) or cmd.python_name


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


def test_engine_imports_without_qt_or_napari():
    code = (
        "import sys\n"
        "import napari_patchwise.engine, napari_patchwise.engine.project, napari_patchwise.engine.sample\n"
        "import napari_patchwise.engine.io, napari_patchwise.engine.layout, napari_patchwise.cli\n"
        "import napari_patchwise.engine.seeding, napari_patchwise.engine.qc, napari_patchwise.cli_annotate\n"
        "import napari_patchwise.engine.touching, napari_patchwise.engine.imports\n"
        "import napari_patchwise.engine.export, napari_patchwise.cli_export\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
