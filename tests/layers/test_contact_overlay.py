"""The contact overlay: redrawn only around each stroke, always equal to a full redraw."""

import numpy as np
import pytest
from napari.layers import Labels

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.layers.contact_overlay import OVERLAY_NAME, ContactOverlay
from napari_patchwise.layers.live_qc import LiveQC

SHAPE = (6, 40, 40)


class _Painted(Labels):
    """Painting from code emits the paint event before writing; a viewer's event loop
    runs LiveQC's deferred handling afterwards. This does the same, at once."""

    queue: list

    def paint(self, *args, **kwargs):
        super().paint(*args, **kwargs)
        while self.queue:
            self.queue.pop(0)()


def _live(data=None, plan=None):
    data = np.zeros(SHAPE, np.uint32) if data is None else data
    nuc = _Painted(data)
    nuc.queue = []
    layers = {"nuclei": nuc, "background": Labels(np.zeros(SHAPE, np.uint8)),
              "ignore": Labels(np.zeros(SHAPE, np.uint8))}
    plan = plan or Plan(ImageRef(SHAPE), classes=(ClassSpec("nuclei"),))
    return LiveQC(plan, layers, defer=nuc.queue.append), nuc


def _expected(labels, radius=1):
    """Markers computed the slow way: every contact voxel dilated in y and x (1),
    with a one-voxel rim (2) where no marker is."""
    out = np.zeros(labels.shape, np.uint8)
    v = find_contacts(labels).voxels()
    for value, r in ((2, radius + 1), (1, radius)):
        for z, y, x in v:
            out[z, max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = value
    return out


def test_no_layer_until_there_is_a_contact():
    live, nuc = _live()
    overlay = ContactOverlay(live)
    assert overlay.update() is False and overlay.layer is None
    nuc.paint((2, 10, 10), 1)
    assert overlay.update() is False and overlay.layer is None
    nuc.paint((2, 10, 13), 2)
    assert overlay.update() is True
    assert overlay.layer.name == OVERLAY_NAME and not overlay.layer.editable
    assert np.array_equal(overlay.layer.data, _expected(nuc.data))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_updates_around_strokes_equal_a_full_redraw(seed):
    rng = np.random.default_rng(seed)
    live, nuc = _live()
    overlay = ContactOverlay(live, radius=1)
    regions = []
    live.contacts_changed.connect(regions.append)
    nuc.brush_size = 5
    for i in range(40):
        z, y, x = (int(rng.integers(0, n)) for n in SHAPE)
        nuc.paint((z, y, x), int(rng.integers(0, 6)))
        for region in regions:
            overlay.update(region)
        regions.clear()
        if overlay.layer is not None:
            assert np.array_equal(overlay.layer.data, _expected(nuc.data)), f"after stroke {i}"
    assert overlay.layer is not None  # the random strokes made contacts


def test_an_update_writes_only_near_the_stroke():
    data = np.zeros(SHAPE, np.uint32)
    data[1, 5:8, 5:8], data[1, 5:8, 8:11] = 1, 2      # a contact far from the stroke
    live, nuc = _live(data)
    overlay = ContactOverlay(live)
    overlay.update()
    before = overlay.layer.data.copy()
    writes = []
    overlay.layer.events.paint.connect(lambda e: writes.append(e))
    nuc.paint((4, 30, 30), 3)
    nuc.paint((4, 30, 33), 4)
    overlay.update((slice(4, 5), slice(25, 40), slice(25, 40)))
    changed = np.argwhere(overlay.layer.data != before)
    assert len(changed) and changed[:, 0].min() == 4 and changed[:, 1].min() >= 20
    assert np.array_equal(overlay.layer.data, _expected(nuc.data))


def test_contacts_across_two_boxes_faces_are_not_marked():
    plan = Plan(ImageRef(SHAPE), classes=(ClassSpec("nuclei"),)).add_boxes(
        [((0, 0, 0), (6, 20, 20)), ((0, 0, 20), (6, 20, 40))])
    data = np.zeros(SHAPE, np.uint32)
    data[3, 5:8, 17:20], data[3, 5:8, 20:23] = 1, 2    # meet at the boxes' shared face
    live, nuc = _live(data, plan)
    overlay = ContactOverlay(live)
    assert overlay.update() is False and overlay.layer is None


def test_the_markers_share_the_annotation_layers_scale_and_units_and_follow_them():
    """Without units beside layers in µm napari warns "Inconsistent units across layers"."""
    data = np.zeros(SHAPE, np.uint32)
    data[1, 5:8, 5:8], data[1, 5:8, 8:11] = 1, 2
    live, nuc = _live(data)
    for layer in live.layers.values():
        layer.scale, layer.translate, layer.units = (2.0, 0.5, 0.5), (0.0, 0.25, 0.25), ("µm",) * 3
    overlay = ContactOverlay(live, metadata={"a": 1})
    assert overlay.update() is True
    layer = overlay.layer
    assert tuple(map(str, layer.units)) == ("micrometer",) * 3 and layer.metadata == {"a": 1}
    np.testing.assert_allclose(layer.scale, (2.0, 0.5, 0.5))
    np.testing.assert_allclose(layer.translate, (0.0, 0.25, 0.25))
    for lay in live.layers.values():  # the voxel size given again in nanometres
        lay.units, lay.scale = ("nm",) * 3, (2000.0, 500.0, 500.0)
    overlay.update((slice(1, 2), slice(0, 10), slice(0, 10)))
    assert tuple(map(str, layer.units)) == ("nanometer",) * 3
    np.testing.assert_allclose(layer.scale, (2000.0, 500.0, 500.0))
    # given placement wins over the layers'
    fixed = ContactOverlay(live, scale=(1.0, 1.0, 1.0))
    fixed.update()
    np.testing.assert_allclose(fixed.layer.scale, (1.0, 1.0, 1.0))
    assert tuple(map(str, fixed.layer.units)) == ("nanometer",) * 3


class _Dims:
    """What the overlay reads of a viewer: its dims (a 2D view at world z = ``point[0]``)."""

    def __init__(self, z):
        self.ndisplay, self.point = 2, (float(z), 0.0, 0.0)


def test_a_full_redraw_in_2d_draws_the_shown_plane_and_a_fill_computed_aside_the_others():
    data = np.zeros(SHAPE, np.uint32)
    for z in range(SHAPE[0]):  # a touching pair on every plane
        data[z, 5:9, 5:9], data[z, 9:12, 5:9] = 1 + 2 * z, 2 + 2 * z
    live, nuc = _live(data)
    overlay = ContactOverlay(live)
    overlay.viewer = type("Viewer", (), {"dims": _Dims(3)})()
    assert overlay.update() is True
    drawn = lambda: [z for z in range(SHAPE[0]) if overlay.layer.data[z].any()]  # noqa: E731
    assert drawn() == [3] and overlay.n_stale == SHAPE[0] - 1
    overlay.viewer.dims.point = (5.0, 0.0, 0.0)
    overlay.draw_shown()  # another plane on screen
    assert drawn() == [3, 5] and not overlay.filling
    fill, token = overlay.fill_later()
    assert overlay.filling
    nuc.paint((1, 20, 20), 50)  # strokes while the fill is computed: one makes a new contact
    nuc.paint((1, 20, 23), 51)
    overlay.update((slice(1, 2), slice(15, 30), slice(15, 30)))
    full = fill()  # as the contacts were when the fill began: without the new contact
    want = _expected(nuc.data)
    assert not np.array_equal(full[1], want[1]) and np.array_equal(full[2:], want[2:])
    assert overlay.apply_fill(full, token)
    assert overlay.n_stale == 0 and not overlay.filling
    assert np.array_equal(overlay.layer.data, want)
    fill, token = overlay.fill_later()
    overlay.update()  # a full redraw makes a fill under way out of date
    assert not overlay.apply_fill(fill(), token)
