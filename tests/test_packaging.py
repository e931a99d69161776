"""The plain install is headless; napari and Qt come with an extra; the licence is declared."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the plain install does not bring: napari, its Qt stack and its plugin engine.
GUI_PACKAGES = ("napari", "qtpy", "magicgui", "superqt", "vispy", "npe2", "app_model",
                "PyQt5", "PyQt6", "PySide2", "PySide6")

#: Runs in a fresh Python where importing any of GUI_PACKAGES fails, as on a headless install.
HEADLESS = """
import importlib, pkgutil, sys

BLOCKED = set(sys.argv[1].split(","))


class NoGui:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed (headless)")
        return None


sys.meta_path.insert(0, NoGui())
import napari_patchwise.engine

modules = [m.name for m in pkgutil.walk_packages(napari_patchwise.engine.__path__, "napari_patchwise.engine.")]
import napari_patchwise.cli

modules += ["napari_patchwise"]
modules += [m.name for m in pkgutil.walk_packages(napari_patchwise.cli.__path__, "napari_patchwise.cli.")
            if not m.name.endswith("__main__")]
for name in modules:
    importlib.import_module(name)
print(f"imported {len(modules)} modules")
from napari_patchwise.cli import main

sys.exit(main(sys.argv[2:]))
"""


def _headless(*args, **kw):
    return subprocess.run([sys.executable, "-c", HEADLESS, ",".join(GUI_PACKAGES), *args],
                          capture_output=True, text=True, timeout=900, **kw)


def test_the_engine_and_the_command_run_without_napari_or_qt(tmp_path):
    run = _headless("--help")
    assert run.returncode == 0, run.stderr
    assert "imported" in run.stdout and "demo" in run.stdout
    run = _headless("demo", "--out", str(tmp_path / "demo"), "--no-export")
    assert run.returncode == 0, run.stderr
    assert "4/5 checking boxes and annotations" in run.stdout
    assert (tmp_path / "demo" / "plan.json").is_file()


def test_the_blocker_really_blocks():
    run = subprocess.run([sys.executable, "-c", HEADLESS.replace("import napari_patchwise.engine\n",
                                                                 "import napari_patchwise.engine\nimport qtpy\n"),
                          ",".join(GUI_PACKAGES), "--help"], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "qtpy is not installed (headless)" in run.stderr


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_plain_dependencies_are_headless_and_the_napari_extra_brings_the_gui():
    project = _pyproject()["project"]
    plain = _names(project["dependencies"])
    assert plain >= {"numpy", "scipy", "scikit-image", "zarr", "dask", "tifffile"}
    assert not plain & {p.lower() for p in GUI_PACKAGES}
    extras = project["optional-dependencies"]
    for extra in ("napari", "all", "testing"):
        assert _names(extras[extra]) >= {"napari", "magicgui", "qtpy", "npe2"}, extra
        assert any(r.replace(" ", "").startswith("napari[pyqt6]") for r in extras[extra]), extra
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install "napari-patchwise[napari]"' in readme
    assert '.venv/bin/pip install -e ".[all]"' in readme  # the README's first command


def test_licence_file_and_a_setuptools_that_builds_the_spdx_string():
    data = _pyproject()
    assert data["project"]["license"] == "BSD-3-Clause"
    assert "setuptools>=77.0.3" in data["build-system"]["requires"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License") and "napari-patchwise developers" in text
