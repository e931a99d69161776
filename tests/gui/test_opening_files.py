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
from napari_patchwise.engine.io.tiff_write import write_tiff
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


def _open_in_loop(viewer, folder) -> list:
    """``viewer.open`` from a running event loop, as a drop or File > Open calls it; what it returned."""
    from qtpy.QtCore import QEventLoop, QTimer

    returned, loop = [], QEventLoop()

    def open_in_loop():
        try:
            returned.extend(viewer.open(str(folder), plugin="napari-patchwise"))
        finally:
            loop.quit()

    QTimer.singleShot(0, open_in_loop)
    loop.exec()
    return returned


PROJECT_LAYERS = ["vol", "patchwise boxes", "nuclei labels", "background", "ignore"]


def test_from_the_running_window_the_layers_are_built_in_a_worker_and_come_in_turns(
        make_napari_viewer, qtbot, project, monkeypatch):
    """A drop or File > Open runs in napari's event loop: the reader locks the project and returns at
    once; the image, its contrast and the layers are made in a worker thread, and the layers come one
    per turn of the loop (each added hidden, then shown), the image lazy with its contrast set."""
    import threading

    from qtpy.QtCore import QTimer

    from napari_patchwise._qt import opening
    from napari_patchwise.engine.io.contrast import robust_contrast_limits
    from napari_patchwise.layers.session import session_for

    built_in = []
    build = opening.build_layers
    monkeypatch.setattr(opening, "build_layers", lambda data: built_in.append(threading.current_thread()) or build(data))
    viewer = make_napari_viewer()
    session = session_for(viewer)
    on_insertion = []  # as the turn that added a layer leaves it: shown (and its text) on later turns
    viewer.layers.events.inserted.connect(lambda e: QTimer.singleShot(0, lambda layer=e.value: on_insertion.append(
        (layer.name, layer.visible, getattr(getattr(layer, "text", None), "visible", None)))))
    assert _open_in_loop(viewer, project) == []  # napari adds nothing itself
    assert session.holds(project) and session.openings
    qtbot.waitUntil(lambda: [lay.name for lay in viewer.layers] == PROJECT_LAYERS and not session.openings)
    assert built_in and built_in[0] is not threading.main_thread()
    assert on_insertion[0] == ("vol", False, None) and on_insertion[2] == ("nuclei labels", False, None)
    assert on_insertion[1] == ("patchwise boxes", False, True)  # no rectangle on the middle slice: no text to hide
    assert all(lay.visible for lay in viewer.layers) and viewer.layers["patchwise boxes"].text.visible
    image = viewer.layers["vol"]
    assert not isinstance(image.data, np.ndarray)
    assert tuple(image.contrast_limits) == pytest.approx(robust_contrast_limits(tifffile.imread(project.parent / "vol.tif")))
    labels = viewer.layers["nuclei labels"]
    assert tuple(labels.scale) == (2.0, 0.5, 0.5) and not isinstance(labels.data, np.ndarray)
    boxes = viewer.layers["patchwise boxes"]  # kept on the displayed slice by the sync made in the worker
    viewer.dims.set_point(0, 3 * 2.0)
    assert boxes.features["z"].tolist() == [3] and session.followers


def test_closing_the_viewer_while_a_project_opens_adds_nothing_and_lets_the_project_go(
        make_napari_viewer, qtbot, project):
    from napari_patchwise.engine.plan.lock import lock_holder
    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    session = session_for(viewer)
    _open_in_loop(viewer, project)
    assert lock_holder(project) is not None
    viewer.close()
    qtbot.waitUntil(lambda: not session.openings)
    assert len(viewer.layers) == 0 and lock_holder(project) is None


def test_a_damaged_image_found_in_the_worker_is_one_message_and_the_project_is_let_go(
        make_napari_viewer, qtbot, project, monkeypatch):
    from napari_patchwise._qt import runner
    from napari_patchwise.engine.plan.lock import lock_holder
    from napari_patchwise.layers.session import session_for

    (project.parent / "vol.tif").write_bytes(b"II*\x00 not a tiff at all")
    errors = []
    monkeypatch.setattr(runner, "show_error", errors.append)
    viewer = make_napari_viewer()
    session = session_for(viewer)
    _open_in_loop(viewer, project)
    qtbot.waitUntil(lambda: not session.openings)
    assert len(errors) == 1 and errors[0].startswith("Opening project proj failed")
    assert len(viewer.layers) == 0 and lock_holder(project) is None


def test_the_box_planner_takes_over_the_sync_made_while_opening(make_napari_viewer, qtbot, project):
    """*Open project* from the running window: the planner edits through the boxes layer's sync
    made in the worker (nothing validated or drawn again), its 3D wireframes added a turn later."""
    from napari_patchwise._qt.planner_widget import PlannerWidget
    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    planner = PlannerWidget(viewer)
    session = session_for(viewer)
    made = []
    session.followers = _Recording(made)
    _open_in_loop(viewer, project)
    qtbot.waitUntil(lambda: planner.sync is not None and planner.sync.wireframes in viewer.layers
                    and not session.openings)
    assert made and planner.sync is made[0] and planner.sync.rectangles is viewer.layers["patchwise boxes"]
    assert not session.followers and planner.sync.project == str(project)


class _Recording(dict):
    """A followers dict that remembers every sync put in it."""

    def __init__(self, made):
        super().__init__()
        self.made = made

    def __setitem__(self, key, sync):
        self.made.append(sync)
        super().__setitem__(key, sync)


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


def test_layers_added_in_turns_come_hidden_and_are_shown_a_turn_later(make_napari_viewer, qtbot):
    """A Shapes layer with text comes with its text hidden, any other layer hidden; each is shown on the
    next turn, and a layer whose name the viewer holds already is skipped."""
    from napari.layers import Image, Shapes

    from napari_patchwise._qt.in_turns import add_in_turns

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((4, 8, 8)), name="taken")
    rect = np.array([[0, 0, 0], [0, 0, 4], [0, 4, 4], [0, 4, 0]], float)
    layers = [Image(np.ones((4, 8, 8)), name="img"), Shapes([rect], shape_type="rectangle", name="boxes",
                                                            features={"i": [7]}, text="{i}"),
              Image(np.ones((4, 8, 8)), name="taken")]
    seen, ended = [], []
    viewer.layers.events.inserted.connect(lambda e: seen.append(
        (e.value.name, e.value.visible, getattr(getattr(e.value, "text", None), "visible", None))))
    add_in_turns(viewer, layers, done=lambda: ended.append(True))
    qtbot.waitUntil(lambda: bool(ended))
    assert seen == [("img", False, None), ("boxes", False, False)]
    assert viewer.layers["img"].visible and viewer.layers["boxes"].text.visible
    assert [lay.name for lay in viewer.layers] == ["taken", "img", "boxes"]
