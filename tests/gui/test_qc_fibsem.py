"""The QC dock on dense FIB-SEM labels (gala's watershed fragments of the fly medulla)
imported as a project's annotations: open QC, paint, scroll; the pairs stay a full recheck."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._qt.qc_dock import QCWidget
from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui


def _read(path, key="stack"):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "r") as f:
        return f[key][()]


@pytest.fixture
def fibsem_project(shared_data, tmp_path):
    folder = shared_data / "fibsem_gala"
    labels = _read(folder / "test-ws.lzf.h5").astype(np.uint32)
    image = _read(folder / "test-image.h5")
    shape = labels.shape
    plan = Plan(ImageRef(shape, voxel_size=(10.0, 10.0, 10.0), unit="nm", path="image.tif", name="raw"),
                classes=(ClassSpec("neurons"),))
    plan = plan.add_boxes([((0, 0, 0), shape)])
    project = create_project(tmp_path / "fibsem", plan)
    write_tiff(project / "image.tif", image.astype(np.uint8), (10.0, 10.0, 10.0))
    open_annotations(project, plan)["neurons"][...] = labels
    return project, labels


def _pairs(table):
    return np.stack([table.a, table.b], axis=1).reshape(-1, 2).tolist()


def test_dense_fibsem_labels_paint_and_scroll(make_napari_viewer, fibsem_project, qtbot, slice_to):
    project, labels = fibsem_project
    viewer = make_napari_viewer()
    viewer.open(str(project), plugin="napari-patchwise")
    qtbot.waitUntil(lambda: not session_for(viewer).working and "neurons labels" in viewer.layers, timeout=20000)
    widget = QCWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Annotation QC")
    assert widget.live is not None  # usable at once: the index is built in a worker
    qtbot.waitUntil(lambda: not widget.live.pending and not widget.runner.jobs, timeout=20000)
    n_full = len(find_contacts(labels).pairs())
    assert n_full > 100  # dense fragments touch
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == n_full, timeout=10000)
    layer = viewer.layers["neurons labels"]
    layer.brush_size = 7
    rng = np.random.default_rng(3)

    asked = []
    widget.live.recheck_needed.connect(asked.append)
    for i in range(8):  # strokes with slice changes before each is handled (deferred to the event loop)
        z = int(rng.integers(0, labels.shape[0]))
        viewer.dims.set_point(0, z * 10.0)
        layer.paint((z, int(rng.integers(0, labels.shape[1])), int(rng.integers(0, labels.shape[2]))),
                    int(rng.integers(1, labels.max() + 3)))
        for dz in (1, 2, -3):
            slice_to(viewer, [layer], float(np.clip(z + dz, 0, labels.shape[0] - 1)) * 10.0)
    qtbot.waitUntil(lambda: widget.settled, timeout=20000)
    for z in range(labels.shape[0]):  # scrolling through every slice is no edit
        viewer.dims.set_point(0, z * 10.0)
    assert asked == [] and widget.settled  # neither strokes (new ids refresh the layer whole) nor slices
    now = np.asarray(layer.data[...])
    want = find_contacts(now).pairs().tolist()
    assert widget.live.indexes["neurons"].pairs().tolist() == want
    assert _pairs(widget.live.pair_table()) == want
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == len(want), timeout=10000)
    qtbot.waitUntil(lambda: not session_for(viewer).working, timeout=20000)
