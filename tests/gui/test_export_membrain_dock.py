"""The Export dock writes MemBrain-seg's layout (real napari viewer under Xvfb)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise._qt.export_dock import ExportWidget
from napari_patchwise.engine.export.model import MANIFEST_NAME

nib = pytest.importorskip("nibabel")

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer, annotated_project, messages):
    viewer = make_napari_viewer()
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    return viewer


def _dock(viewer):
    widget = ExportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Export training data")
    return widget


def _export(qtbot, widget):
    widget.export_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)


def test_membrain_format_in_the_dock(viewer, tmp_path, qtbot, messages):
    widget = _dock(viewer)
    form = widget.form

    def shown(w):
        return w.native.isVisibleTo(form.native)

    assert "membrain" in form.formats and not shown(form.membrain_token)
    form.formats["nnunet"].value = False
    form.formats["membrain"].value = True
    assert shown(form.membrain_token) and shown(form.membrain_class)
    assert list(form.membrain_class.choices) == ["nuclei"]
    form.out.value = tmp_path / "out"
    form.train.value, form.val.value = 0.5, 0.5

    form.membrain_token.value = "bad_token"  # MemBrain-seg would read "bad" as the token
    _export(qtbot, widget)
    assert "has a '_'" in messages["error"][-1]
    assert not (tmp_path / "out" / "membrain").exists()

    form.membrain_token.value = "blobs"
    _export(qtbot, widget)
    root = tmp_path / "out" / "membrain"
    labels = sorted(p.name for d in ("labelsTr", "labelsVal") for p in (root / d).iterdir())
    assert labels == [f"blobs_blobs_patch{i}.nii.gz" for i in (1, 2, 4)]
    images = sorted(p.name for d in ("imagesTr", "imagesVal") for p in (root / d).iterdir())
    assert images == [name.replace(".nii.gz", "_0000.nii.gz") for name in labels]
    lab = np.asarray(nib.load(str(next(root.glob("labels*/blobs_blobs_patch2.nii.gz")))).dataobj)
    assert set(np.unique(lab).tolist()) == {0, 1, 2}  # box 2's unannotated planes are 2
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["settings"] == {"membrain_token": "blobs", "membrain_class": "nuclei"}
    assert "membrain: 3 new cases" in widget.summary.toPlainText()
