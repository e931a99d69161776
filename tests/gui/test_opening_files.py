"""Opening files in a real napari: images stay with napari's reader, projects and HDF5 open with Patchwise.

``viewer.open(path, plugin=None)`` is what File › Open, drag-and-drop and ``napari PATH`` do: the
preferred or only compatible reader opens the path, several raise ``MultipleReaderError``, which
the GUI turns into its reader dialog.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from napari.errors import MultipleReaderError

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.io.volumes import write_tiff
from napari_patchwise.engine.plan.project import create_project

pytestmark = pytest.mark.gui


def test_a_tiff_opens_with_napari_own_reader_without_asking(make_napari_viewer, tmp_path, small_volume):
    viewer = make_napari_viewer()
    tifffile.imwrite(tmp_path / "stack.tif", small_volume)
    (layer,) = viewer.open(str(tmp_path / "stack.tif"), plugin=None)  # several readers: MultipleReaderError
    assert layer.name == "stack" and layer.data.shape == small_volume.shape


def test_a_project_plan_json_opens_with_patchwise_without_asking(make_napari_viewer, project):
    viewer = make_napari_viewer()
    layers = viewer.open(str(project / "plan.json"), plugin=None)
    assert [lay.name for lay in layers] == ["vol", "patchwise boxes", "nuclei labels", "background", "ignore"]
    assert tuple(layers[0].scale) == (2.0, 0.5, 0.5)


def test_an_opened_project_is_lazy_and_its_boxes_follow_the_slice(make_napari_viewer, project):
    """The image layer reads slices on demand; without a Box planner the session redraws the
    boxes layer (opened with the middle slice's rectangles only) on every slice change, and lets
    the planner take it over."""
    from napari_patchwise._qt.planner_widget import PlannerWidget
    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    image, boxes = viewer.open(str(project), plugin="napari-patchwise")[:2]
    assert not isinstance(image.data, np.ndarray)
    assert session_for(viewer).holds(project)
    assert len(boxes.data) == 0  # the box spans z 0-7, napari shows the middle slice (23)
    viewer.dims.set_point(0, 3 * 2.0)  # z = 3, in world units (voxel size 2 in z)
    assert boxes.features["box_id"].tolist() == [1] and boxes.features["z"].tolist() == [3]
    planner = PlannerWidget(viewer)
    assert planner.sync.rectangles is boxes and not session_for(viewer).followers
    viewer.dims.set_point(0, 5 * 2.0)
    assert boxes.features["z"].tolist() == [5]


def test_closing_the_planner_hands_its_boxes_layer_back_to_the_session(make_napari_viewer, qtbot, project):
    """The boxes layer stays when the planner's dock closes, and keeps showing the current slice."""
    from napari_patchwise._qt.planner_widget import PlannerWidget
    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    boxes = viewer.open(str(project), plugin="napari-patchwise")[1]
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Box planner")
    assert dock.planner.sync.rectangles is boxes
    viewer.window.remove_dock_widget(dock)  # the dock's close button
    dock.deleteLater()
    del dock
    session = session_for(viewer)
    qtbot.waitUntil(lambda: id(boxes) in session.followers, timeout=5000)
    viewer.dims.set_point(0, 4 * 2.0)
    assert boxes.features["box_id"].tolist() == [1] and boxes.features["z"].tolist() == [4]
    viewer.dims.set_point(0, 20 * 2.0)  # past the box (z 0-7)
    assert len(boxes.data) == 0
    again = PlannerWidget(viewer)  # a new planner takes it over
    assert again.sync.rectangles is boxes and not session.followers


def test_from_the_running_window_the_layers_follow_the_image_one_turn_each(make_napari_viewer, qtbot, project):
    """A drop or File > Open runs in napari's event loop: the reader returns the image alone and the
    boxes and annotation layers follow, one per turn of the loop (the window answers in between)."""
    from qtpy.QtCore import QEventLoop, QTimer

    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    returned, loop = [], QEventLoop()

    def open_in_loop():
        returned.extend(viewer.open(str(project), plugin="napari-patchwise"))
        loop.quit()

    QTimer.singleShot(0, open_in_loop)
    loop.exec()
    assert [lay.name for lay in returned] == ["vol"]
    assert session_for(viewer).holds(project)
    names = ["vol", "patchwise boxes", "nuclei labels", "background", "ignore"]
    qtbot.waitUntil(lambda: [lay.name for lay in viewer.layers] == names)
    labels = viewer.layers["nuclei labels"]
    assert tuple(labels.scale) == (2.0, 0.5, 0.5) and not isinstance(labels.data, np.ndarray)


def test_a_project_folder_offers_patchwise(make_napari_viewer, project):
    """napari asks which reader to use for any folder (its own reader takes folders too); the GUI
    turns this error into its reader dialog, where Patchwise is listed and chosen by default."""
    viewer = make_napari_viewer()
    with pytest.raises(MultipleReaderError) as info:
        viewer.open(str(project), plugin=None)
    assert "napari-patchwise" in info.value.available_plugins
    layers = viewer.open(str(project), plugin="napari-patchwise")  # `napari --plugin napari-patchwise PROJECT`
    assert "patchwise boxes" in [lay.name for lay in layers]


def test_an_hdf5_file_opens_with_its_voxel_size(make_napari_viewer, tmp_path, small_volume):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f.create_dataset("raw", data=small_volume).attrs["element_size_um"] = [2.0, 0.5, 0.5]
        f.create_dataset("label", data=(small_volume > 300).astype(np.uint8))
    viewer = make_napari_viewer()
    with pytest.raises(MultipleReaderError):  # napari lists *.h5 for its own reader, which cannot read it
        viewer.open(str(tmp_path / "v.h5"), plugin=None)
    image, labels = viewer.open(str(tmp_path / "v.h5"), plugin="napari-patchwise")
    assert (image.name, labels.name) == ("v raw", "v label")
    assert tuple(image.scale) == tuple(labels.scale) == (2.0, 0.5, 0.5)


def test_reopened_sample_is_not_black_on_screen(make_napari_viewer, tmp_path):
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((32, 128, 128))
    write_tiff(tmp_path / "image.tif", s.image, s.voxel_size)
    folder = create_project(tmp_path / "p", Plan(ImageRef(s.image.shape, "uint16", s.voxel_size,
                                                          path="../image.tif", name="nuclei")))
    viewer = make_napari_viewer(show=True)
    viewer.open(str(folder / "plan.json"), plugin=None)
    for layer in viewer.layers[1:]:
        layer.visible = False
    viewer.dims.set_point(0, 16 * s.voxel_size[0])
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].max(axis=-1)
    assert (shot > 20).mean() > 0.05  # nuclei are visible (a black square with the stripe: 0.3 %)
