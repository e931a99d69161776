"""Live checks on napari Labels layers: paint events, cropping, contacts, undo, Separate."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from napari.layers import Labels

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.annotation_store import hidden_layer
from napari_patchwise.engine.geometry.regions import grow_region as grow
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.layers.annotation_layers import annotation_layer_data
from napari_patchwise.layers.live_qc import LiveQC
from napari_patchwise.layers.paint_regions import stroke_region, stroke_regions


def _setup(tmp_path, shape=(8, 40, 40), voxel_size=(2.0, 0.5, 0.5), mag=(1, 1, 1)):
    plan = Plan(ImageRef(shape, voxel_size=voxel_size), magnification=mag,
                classes=(ClassSpec("nuclei"), ClassSpec("mito", "semantic")))
    plan = plan.add_boxes([((0, 0, 0), (8, 20, 20))])
    folder = create_project(tmp_path / "p", plan)
    group = open_annotations(folder)
    layers = {kw["metadata"]["napari-patchwise"]["array"]: Labels(data, **kw)
              for data, kw, _ in annotation_layer_data(plan, group, str(folder))}
    for layer in layers.values():
        layer.brush_size = 5
    queue = []
    live = LiveQC(plan, layers, edits=hidden_layer(group, "edits"), defer=queue.append)
    for layer in layers.values():
        _flush_after_edits(layer, queue)
    return plan, group, layers, live


def _flush_after_edits(layer, queue):
    """Run the deferred stroke handling once an edit call returns, as the Qt event loop would."""
    for name in ("paint", "data_setitem", "undo", "redo", "refresh"):
        method = getattr(layer, name)

        def wrapped(*args, _method=method, **kwargs):
            _method(*args, **kwargs)
            while queue:
                queue.pop(0)()

        setattr(layer, name, wrapped)


def _same_as_full_scan(live, layer):
    got = {tuple(p) for p in live.indexes["nuclei"].pairs().tolist()}
    want = {tuple(p) for p in find_contacts(layer.data).pairs().tolist()}
    return got == want


def test_paint_flags_touching_at_once_and_marks_edits(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    nuc = layers["nuclei"]
    seen = []
    live.contacts_changed.connect(seen.append)
    touched = []
    live.boxes_touched.connect(touched.append)
    nuc.paint((3, 10, 10), 1)
    assert live.n_pairs() == 0
    nuc.paint((3, 10, 14), 2)  # overlaps the first disc's edge: the two ids now share faces
    assert seen and live.n_pairs() == 1
    pair = live.contacts()[0]
    assert (pair.name, pair.a, pair.b) == ("nuclei", 1, 2) and pair.n_contacts > 0
    assert _same_as_full_scan(live, nuc)
    edits = group["edits"][:]
    assert edits[3].sum() == np.count_nonzero(nuc.data[3][:]) and edits[3].sum() > 0
    assert touched[0] == {1}
    loc = live.contacts()[0].location
    assert loc[0] == 3 and 9 <= loc[1] <= 12
    assert len(live.contact_voxels_in()) > 0
    # the last change was reported with the stroke's region: the contact lies in it plus a one-voxel halo
    region = seen[-1]
    assert region is not None and region[0].start <= 3 < region[0].stop
    assert 0 < len(live.contact_voxels_in(region)) < len(live.contact_voxels_in())
    assert len(live.contact_voxels_in(grow(region, nuc.data.shape, 1))) == len(live.contact_voxels_in())


def test_background_is_cropped_where_painted_only(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    nuc, bg = layers["nuclei"], layers["background"]
    nuc.paint((3, 10, 10), 4)
    bg.data[5, 30:35, 30:35] = 1  # written outside napari: not cropped (no stroke)
    nuc.data[5, 32, 32] = 9
    bg.brush_size = 15
    bg.paint((3, 10, 10), 1)  # coarse background over the object
    b, n = np.asarray(bg.data[:]), np.asarray(nuc.data[:])
    assert b[3].sum() > 0 and not np.any((b[3] > 0) & (n[3] > 0))
    assert b[5, 32, 32] == 1  # outside the painted region: untouched until asked
    assert live.crop_background() == 1
    assert np.asarray(bg.data[5, 32, 32]) == 0
    # painting an object over background crops background under it too
    nuc.paint((3, 4, 4), 7)
    b, n = np.asarray(bg.data[:]), np.asarray(nuc.data[:])
    assert not np.any((b > 0) & (n > 0))
    live.crop = False
    nuc.paint((3, 16, 16), 8)
    assert np.any((np.asarray(bg.data[:]) > 0) & (np.asarray(nuc.data[:]) == 8))


def test_data_setitem_payload_is_read(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    nuc = layers["nuclei"]
    nuc.data_setitem((np.array([2, 2]), np.array([5, 5]), np.array([5, 6])), np.array([1, 2]))
    assert live.n_pairs() == 1
    assert group["edits"][2, 5, 5] == 1 and group["edits"][2, 5, 7] == 0


def test_undo_asks_for_a_recheck_and_install_replays_later_strokes(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    nuc = layers["nuclei"]
    asked = []
    live.recheck_needed.connect(asked.append)
    nuc.paint((3, 10, 10), 1)
    nuc.paint((3, 10, 14), 2)
    assert live.n_pairs() == 1
    nuc.undo()  # no paint event: the index is stale until rechecked
    assert asked and asked[-1] == "nuclei"
    since = live.stroke_count("nuclei")
    index = live.compute_index("nuclei")  # what the dock runs in a worker
    nuc.paint((6, 30, 30), 5)
    nuc.paint((6, 30, 34), 6)  # painted while the worker ran
    live.install_index("nuclei", index, since)
    assert _same_as_full_scan(live, nuc) and live.n_pairs() == 1
    assert {tuple(p) for p in live.indexes["nuclei"].pairs().tolist()} == {(5, 6)}


def test_separate_carves_background_and_is_undoable(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    nuc, bg = layers["nuclei"], layers["background"]
    nuc.paint((3, 10, 10), 1)
    nuc.paint((3, 10, 14), 2)
    before = np.asarray(nuc.data[:]).copy()
    sep = live.separate("nuclei")
    after = np.asarray(nuc.data[:])
    assert sep.n_voxels > 0 and live.n_pairs() == 0
    assert set(np.unique(after)) == {0, 1, 2}
    gap = (before > 0) & (after == 0)
    assert np.array_equal(gap, np.asarray(bg.data[:]) > 0)
    assert len(find_contacts(after).pairs()) == 0
    nuc.undo()
    assert np.array_equal(np.asarray(nuc.data[:]), before)
    with pytest.raises(ValueError, match="not an instance class"):
        live.separate("mito")


def test_anisotropic_magnified_layers(tmp_path):
    plan, group, layers, live = _setup(tmp_path, shape=(8, 80, 80), mag=(1, 2, 2))
    nuc = layers["nuclei"]
    assert nuc.data.shape == (8, 40, 40) and nuc.scale[1] == 1.0
    nuc.paint((3, 10, 10), 1)
    nuc.paint((3, 10, 14), 2)
    assert live.n_pairs() == 1


def test_live_off_only_marks_edits(tmp_path):
    plan, group, layers, live = _setup(tmp_path)
    live.live = False
    nuc = layers["nuclei"]
    nuc.paint((3, 10, 10), 1)
    nuc.paint((3, 10, 14), 2)
    assert live.n_pairs() == 0 and group["edits"][:].sum() > 0
    live.install_index("nuclei", live.compute_index("nuclei"))
    assert live.n_pairs() == 1
    live.disconnect()
    nuc.paint((3, 30, 30), 3)
    assert group["edits"][3, 30, 30] == 0


def test_stroke_regions_masked_atoms_and_planar_masks():
    atom = SimpleNamespace(slice_key=(slice(0, 2), slice(3, 5), slice(1, 4)), mask=np.ones((2, 2, 3), bool))
    planar = SimpleNamespace(slice_key=(slice(4, 5), slice(0, 2), slice(0, 2)), mask=np.array([[True, False], [False, False]]))
    regions = stroke_regions([atom, planar, object()])
    assert len(regions) == 2 and regions[1][1].shape == (1, 2, 2) and regions[1][1].sum() == 1
    assert stroke_region([]) is None and stroke_regions(None) == []
    four_d = SimpleNamespace(slice_key=(slice(0, 1), slice(0, 2), slice(3, 5), slice(1, 4)), mask=None)
    assert stroke_region([four_d]) == (slice(0, 2), slice(3, 5), slice(1, 4))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 23), st.integers(0, 23),
                          st.integers(0, 4), st.integers(1, 4)), min_size=1, max_size=12))
def test_random_strokes_match_a_full_scan(strokes):
    plan = Plan(ImageRef((6, 24, 24)))
    data = np.zeros((6, 24, 24), np.uint32)
    layers = {"nuclei": Labels(data), "background": Labels(np.zeros((6, 24, 24), np.uint8)),
              "ignore": Labels(np.zeros((6, 24, 24), np.uint8))}
    queue = []
    live = LiveQC(plan, layers, defer=queue.append)
    for z, y, x, label, size in strokes:
        layers["nuclei"].brush_size = size
        layers["nuclei"].paint((z, y, x), label)
        while queue:
            queue.pop(0)()
        assert _same_as_full_scan(live, layers["nuclei"])
    live.disconnect()


def test_contacts_across_the_face_of_two_boxes_are_not_listed(tmp_path):
    plan = Plan(ImageRef((8, 40, 40))).add_boxes([((0, 0, 0), (8, 20, 20)), ((0, 0, 20), (8, 20, 40))])
    data = np.zeros((8, 40, 40), np.uint32)
    data[3, 5:8, 17:20] = 1   # box 1's seed ...
    data[3, 5:8, 20:23] = 2   # ... meets box 2's seed at the shared face: no crop holds both
    data[3, 30:33, 5:8] = 3   # outside every box ...
    data[3, 33:36, 5:8] = 4   # ... touching: still shown
    layers = {"nuclei": Labels(data), "background": Labels(np.zeros_like(data, np.uint8)),
              "ignore": Labels(np.zeros_like(data, np.uint8))}
    live = LiveQC(plan, layers)
    assert [(c.a, c.b) for c in live.contacts()] == [(3, 4)]
    assert set(live.contact_voxels_in((slice(3, 4), slice(0, 40), slice(0, 40)))[:, 2]) == {5, 6, 7}
    assert live.n_contacts() == 3
    later, loose = live.contact_voxels_later(), live.contact_voxels_later(unique=False)
    data[3, 20, 20] = 9  # changed after: the snapshots do not see it
    data[3, 20, 21] = 8
    live.install_index("nuclei", live.compute_index("nuclei"))
    assert later().tolist() == [[3, 32, x] for x in (5, 6, 7)] + [[3, 33, x] for x in (5, 6, 7)]
    assert sorted(set(map(tuple, loose().tolist()))) == list(map(tuple, later().tolist()))
    assert len(live.contact_voxels_in()) == 8
    data[3, 20, 20:22] = 0
    live.install_index("nuclei", live.compute_index("nuclei"))
    live.separate("nuclei")
    assert len(find_contacts(layers["nuclei"].data).pairs()) == 1  # the cross-box pair is left alone
    data[3, 6, 10] = 5
    data[3, 6, 11] = 6        # inside box 1: listed
    live.install_index("nuclei", live.compute_index("nuclei"))
    assert [(c.a, c.b) for c in live.contacts()] == [(5, 6)]


def test_contacts_kept_from_the_worker_follow_box_changes(tmp_path):
    """The contacts an index keeps filtered by the boxes (computed where it was built) are not
    reused once the boxes change, before or after it is installed."""
    two = Plan(ImageRef((8, 40, 40))).add_boxes([((0, 0, 0), (8, 20, 20)), ((0, 0, 20), (8, 20, 40))])
    one = Plan(ImageRef((8, 40, 40))).add_boxes([((0, 0, 0), (8, 20, 40))])
    data = np.zeros((8, 40, 40), np.uint32)
    data[3, 5:8, 17:20], data[3, 5:8, 20:23] = 1, 2  # across the face of the two boxes
    layers = {"nuclei": Labels(data), "background": Labels(np.zeros_like(data, np.uint8)),
              "ignore": Labels(np.zeros_like(data, np.uint8))}
    live = LiveQC(two, layers, build_index=False)
    index = live.compute_index("nuclei")  # in a worker: filtered by the two boxes
    live.set_plan(one)  # one box holding both sides: the contacts break the rule
    live.install_index("nuclei", index)
    assert live.n_contacts() == 3 and [(c.a, c.b) for c in live.contacts()] == [(1, 2)]
    assert len(live.contact_voxels_in()) == 6 and live.n_pairs() == 1
    live.set_plan(two)
    assert live.n_contacts() == 0 and live.contacts() == [] and len(live.contact_voxels_in()) == 0
    live.install_index("nuclei", live.compute_index("nuclei"))
    assert live.n_contacts() == 0
    live.set_plan(one)
    assert live.n_contacts() == 3 and live.location("nuclei", 1, 2)[0] == 3.0


def test_background_and_ignore_have_one_colour_of_their_own(tmp_path):
    """Background painted in label 1's colour looked like the class's object 1 on screen."""
    _, _, layers, _ = _setup(tmp_path)
    nuclei, background, ignore = layers["nuclei"], layers["background"], layers["ignore"]
    bg = [tuple(background.get_color(v)) for v in (1, 2, 7)]
    assert bg[0] == bg[1] == bg[2]  # any value reads as background, so shows as background
    assert tuple(ignore.get_color(1)) != bg[0]
    for v in (1, 2):  # the class's first objects look different
        assert not np.allclose(nuclei.get_color(v)[:3], bg[0][:3], atol=0.1)
    assert background.get_color(0) is None or background.get_color(0)[3] == 0


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["stroke", "slice", "undo", "install"]), st.integers(0, 5),
                          st.integers(0, 23), st.integers(0, 23), st.integers(1, 4)), min_size=1, max_size=15))
def test_random_strokes_and_slices_match_a_full_scan(ops):
    """Slicing (a refresh with a new view) asks for no recheck, undo does; the index, built
    later as the dock builds it, and the pair table equal a full scan after any sequence."""
    plan = Plan(ImageRef((6, 24, 24)))
    layers = {"nuclei": Labels(np.zeros((6, 24, 24), np.uint32)),
              "background": Labels(np.zeros((6, 24, 24), np.uint8)),
              "ignore": Labels(np.zeros((6, 24, 24), np.uint8))}
    view, queue, asked = [0], [], []
    live = LiveQC(plan, layers, defer=queue.append, view_key=lambda: view[0], build_index=False)
    live.recheck_needed.connect(asked.append)
    nuc = layers["nuclei"]
    assert live.pending == ["nuclei"] and live.n_pairs() == 0
    started = []  # (index, strokes seen) of a "worker" started before later strokes

    def recheck():
        started.append((live.compute_index("nuclei"), live.stroke_count("nuclei")))

    recheck()
    for op, z, y, x, size in ops:
        if op == "stroke":
            nuc.brush_size = size
            nuc.paint((z, y, x), 1 + (y + x) % 3)
        elif op == "slice":
            before = len(asked)
            view[0] += 1
            nuc.refresh()  # what napari does when it slices the layer anew
            assert len(asked) == before
        elif op == "undo":
            nuc.undo()  # asks for a recheck when there was an edit to undo
            recheck()
        while queue:
            queue.pop(0)()
        if op == "install" and started:
            live.install_index("nuclei", *started.pop(0))
    for index, since in started:
        live.install_index("nuclei", index, since)
    assert not asked or any(op == "undo" for op, *_ in ops)
    assert live.pending == []
    assert _same_as_full_scan(live, nuc)
    table, later = live.pair_table(), live.pair_table_later()()
    want = find_contacts(nuc.data).pairs().tolist()
    assert np.stack([table.a, table.b], axis=1).reshape(-1, 2).tolist() == want
    assert np.stack([later.a, later.b], axis=1).reshape(-1, 2).tolist() == want
    assert table.n.tolist() == later.n.tolist()
    live.disconnect()


def test_a_whole_refresh_during_a_stroke_is_no_undo():
    """napari refreshes a layer whole when a stroke's partial redraw cannot be done (a new
    id beyond its colours): that refresh comes with the stroke, and asks for no recheck."""
    plan = Plan(ImageRef((6, 24, 24)))
    layers = {"nuclei": Labels(np.zeros((6, 24, 24), np.uint32))}
    queue, asked = [], []
    live = LiveQC(plan, layers, defer=queue.append, view_key=lambda: 0)
    live.recheck_needed.connect(asked.append)
    nuc = layers["nuclei"]
    for label in (1, 300):
        nuc.paint((2, 5, 5 + 3 * label % 10), label)  # the paint event comes first here
        nuc.refresh()  # napari's whole refresh, before the Qt loop handles the stroke
        while queue:
            queue.pop(0)()
    assert asked == [] and live.stroke_count("nuclei") == 2
    nuc.undo()
    while queue:
        queue.pop(0)()
    assert asked == ["nuclei"]
    live.disconnect()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["stroke", "slice", "show", "undo", "hidden undo", "install"]),
                          st.integers(0, 5), st.integers(0, 23), st.integers(0, 23), st.integers(1, 4)),
                min_size=1, max_size=15))
def test_on_project_buffers_only_an_unseen_write_asks_for_a_recheck(ops):
    """On a project's layers (each a StrokeBuffer counting its writes) slicing and showing a
    layer again never ask for a recheck, whatever was painted before; an undo that wrote asks,
    also one made while the layer was hidden and shown again on another slice. Rechecks run only
    when asked (as the dock does), and the index equals a full scan after any sequence."""
    import zarr

    from napari_patchwise.engine.plan.stroke_buffer import StrokeBuffer

    plan = Plan(ImageRef((6, 24, 24)))
    layers = {name: Labels(StrokeBuffer(zarr.zeros((6, 24, 24), chunks=(2, 8, 8), dtype=dtype)))
              for name, dtype in (("nuclei", "uint32"), ("background", "uint8"), ("ignore", "uint8"))}
    view, queue, asked = [0], [], []
    live = LiveQC(plan, layers, defer=queue.append, view_key=lambda: view[0], build_index=False)
    live.recheck_needed.connect(asked.append)
    nuc = layers["nuclei"]
    refreshes = []
    nuc.events.set_data.connect(lambda e: refreshes.append(view[0]))
    started = []

    def recheck():
        started.append((live.compute_index("nuclei"), live.stroke_count("nuclei")))

    recheck()
    for op, z, y, x, size in ops:
        before, writes, seen = len(asked), nuc.data.writes, len(refreshes)
        if op == "stroke":
            nuc.brush_size = size
            nuc.paint((z, y, x), 1 + (y + x) % 3)
        elif op == "slice":
            view[0] += 1
            nuc.refresh()  # what napari does when it slices the layer anew
        elif op == "show":
            nuc.visible = False
            nuc.visible = True  # napari refreshes a layer shown again
            assert len(refreshes) > seen
        elif op == "undo":
            nuc.undo()
        elif op == "hidden undo":
            nuc.visible = False
            nuc.undo()
            view[0] += 1
            nuc.refresh()
            nuc.visible = True  # the one refresh that tells of the undo comes with a new view
        while queue:
            queue.pop(0)()
        if op in ("slice", "show"):
            assert len(asked) == before
        if op in ("undo", "hidden undo"):
            assert (len(asked) > before) == (nuc.data.writes > writes)
        if len(asked) > before:
            recheck()
        if op == "install" and started:
            live.install_index("nuclei", *started.pop(0))
    for index, since in started:
        live.install_index("nuclei", index, since)
    got = {tuple(p) for p in live.indexes["nuclei"].pairs().tolist()}
    assert got == {tuple(p) for p in find_contacts(np.asarray(nuc.data)).pairs().tolist()}
    live.disconnect()


def test_a_strokes_contacts_come_a_turn_before_its_bookkeeping(tmp_path):
    """The overlay is what the person waits for: the contacts are updated in the stroke's first turn; the
    background crop, the edits marks and the boxes touched in the turn after (a repaint of its own)."""
    plan = Plan(ImageRef((8, 40, 40)), classes=(ClassSpec("nuclei"),)).add_boxes([((0, 0, 0), (8, 20, 20))])
    folder = create_project(tmp_path / "p", plan)
    group = open_annotations(folder)
    layers = {kw["metadata"]["napari-patchwise"]["array"]: Labels(data, **kw)
              for data, kw, _ in annotation_layer_data(plan, group, str(folder))}
    queue = []
    live = LiveQC(plan, layers, edits=hidden_layer(group, "edits"), defer=queue.append)
    nuc, bg = layers["nuclei"], layers["background"]
    bg.data[3, 5:15, 5:15] = 1
    touched = []
    live.boxes_touched.connect(touched.append)
    nuc.brush_size = 5
    nuc.paint((3, 10, 10), 1)
    nuc.paint((3, 10, 14), 2)
    assert live.strokes_pending == 2 and len(queue) == 2
    queue.pop(0)(), queue.pop(0)()  # both strokes' first turns: contacts
    assert live.n_pairs() == 1 and live.strokes_pending == 2 and len(queue) == 2
    assert not group["edits"][:].any() and not touched and np.asarray(bg.data[3, 10, 10]) == 1
    while queue:
        queue.pop(0)()
    assert live.strokes_pending == 0 and touched == [{1}, {1}]
    assert group["edits"][3].sum() == np.count_nonzero(np.asarray(nuc.data[3])) > 0
    assert np.asarray(bg.data[3, 10, 10]) == 0  # cropped under the object
