"""Every stroke is persisted: a napari brush stroke on a project's labels is on disk as soon as the
stroke returns, so a process killed right after it (SIGKILL, nothing flushed) keeps it. Projects whose
arrays have the older, larger chunk layout open and paint the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from napari.layers import Labels

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import MAX_CHUNKS, open_annotations
from napari_patchwise.engine.plan.project import create_project

SHAPE = (40, 160, 160)
STROKES = [((20, 70, 90), 5), ((21, 100, 40), 6), ((20, 72, 95), 7)]  # (voxel, label); the last overlaps the first
OLD_CHUNKS = (32, 128, 128)

#: The painting process: the project's labels as napari's reader builds the layer, three strokes of
#: radius 5, a line on stdout after each, then it waits to be killed.
CHILD = textwrap.dedent("""
    import sys
    from napari.layers import Labels
    from napari_patchwise.engine.plan.annotation_store import open_annotations
    from napari_patchwise.engine.plan.project import load_plan
    from napari_patchwise.layers.annotation_layers import annotation_layer_data

    folder, strokes = sys.argv[1], eval(sys.argv[2])
    plan = load_plan(folder)
    data, kwargs, _ = annotation_layer_data(plan, open_annotations(folder, plan))[0]
    layer = Labels(data, **kwargs)
    layer.brush_size = 11
    for point, label in strokes:
        layer.paint(point, label)
        print("painted", flush=True)
    sys.stdin.read()  # until killed
""")


def _project(tmp_path: Path, chunks) -> Path:
    plan = Plan(ImageRef(SHAPE), classes=(ClassSpec("nuclei"),))
    folder = create_project(tmp_path / "project", plan)
    group = open_annotations(folder, plan)
    if chunks != MAX_CHUNKS:  # a project saved with another chunk layout
        old = group["nuclei"]
        group.create_array("nuclei", shape=old.shape, chunks=chunks, dtype=old.dtype, fill_value=0,
                           attributes=dict(old.attrs), overwrite=True)
    assert open_annotations(folder, plan)["nuclei"].chunks == tuple(min(s, c) for s, c in zip(SHAPE, chunks))
    return folder


def _expected() -> np.ndarray:
    """The same strokes on a plain in-memory Labels layer."""
    layer = Labels(np.zeros(SHAPE, np.uint32))
    layer.brush_size = 11
    for point, label in STROKES:
        layer.paint(point, label)
    return np.asarray(layer.data)


def _run_child(folder, code, args, n_lines):
    """Run a painting child on ``folder``; SIGKILL it right after its ``n_lines`` "painted" lines,
    which are returned (their words after "painted")."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", code, str(folder), *args], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        for _ in range(n_lines):
            line = child.stdout.readline()
            assert line.startswith("painted"), child.stderr.read() if child.poll() is not None else line
            lines.append(line.split()[1:])
        os.kill(child.pid, signal.SIGKILL)  # right after the last stroke: nothing can be flushed now
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()
    return lines


@pytest.mark.parametrize("chunks", [MAX_CHUNKS, OLD_CHUNKS], ids=["new-chunks", "old-chunks"])
def test_a_stroke_survives_a_kill_right_after_it(tmp_path, chunks):
    folder = _project(tmp_path, chunks)
    _run_child(folder, CHILD, [repr(STROKES)], len(STROKES))
    on_disk = np.asarray(open_annotations(folder, mode="r")["nuclei"][...])
    expected = _expected()
    assert np.count_nonzero(expected == 7) > 50  # each stroke painted a disc
    assert {int(v) for v in np.unique(on_disk)} == {0, 5, 6, 7}
    np.testing.assert_array_equal(on_disk, expected)


#: Brush drags ((z, y, x) from, to, label): napari paints a dab per mouse move, and the project's layer
#: holds them in memory (StrokeBuffer) until the button comes up.
DRAGS = [((20, 60, 40), (20, 90, 120), 3), ((20, 100, 30), (20, 70, 100), 4)]

DRAG_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    import numpy as np, wrapt
    from napari.layers import Labels
    from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks
    from conftest import _MouseEvent
    from napari_patchwise.engine.plan.annotation_store import open_annotations
    from napari_patchwise.engine.plan.project import load_plan
    from napari_patchwise.layers.annotation_layers import annotation_layer_data
    from napari_patchwise.layers.stroke_hold import buffer_strokes

    def drag(layer, start, end, label, steps=8):
        ev = lambda **kw: wrapt.ObjectProxy(_MouseEvent(**kw))
        layer.selected_label = label
        start, end = np.asarray(start, float), np.asarray(end, float)
        mouse_press_callbacks(layer, ev(type="mouse_press", position=tuple(start)))
        for t in np.linspace(0, 1, steps + 1)[1:]:
            mouse_move_callbacks(layer, ev(type="mouse_move", is_dragging=True, position=tuple(start + t * (end - start))))
        held = layer.data.pending
        mouse_release_callbacks(layer, ev(type="mouse_release", position=tuple(end)))
        return held

    folder, drags = sys.argv[1], eval(sys.argv[2])
    plan = load_plan(folder)
    data, kwargs, _ = annotation_layer_data(plan, open_annotations(folder, plan))[0]
    layer = Labels(data, **kwargs)
    layer.brush_size, layer.mode = 11, "paint"
    if sys.argv[4] == "buffered":
        assert buffer_strokes(layer)
    for start, end, label in drags:
        held = drag(layer, start, end, label)
        print("painted", held > 0, data.holding, data.pending, flush=True)
    sys.stdin.read()  # until killed
""")


def test_a_held_drag_is_on_disk_when_the_button_comes_up_and_equals_the_same_drag_unheld(tmp_path):
    tests = str(Path(__file__).parent)
    held = _project(tmp_path / "held", MAX_CHUNKS)
    lines = _run_child(held, DRAG_CHILD, [repr(DRAGS), tests, "buffered"], len(DRAGS))
    # held in memory until the release, then nothing left there
    assert lines == [["True", "False", "0"]] * len(DRAGS)
    plain = _project(tmp_path / "plain", MAX_CHUNKS)
    lines = _run_child(plain, DRAG_CHILD, [repr(DRAGS), tests, "plain"], len(DRAGS))  # straight to the array, dab by dab
    assert lines == [["False", "False", "0"]] * len(DRAGS)
    on_disk = np.asarray(open_annotations(held, mode="r")["nuclei"][...])
    expected = np.asarray(open_annotations(plain, mode="r")["nuclei"][...])
    assert np.count_nonzero(expected == 3) > 300 and np.count_nonzero(expected == 4) > 300
    np.testing.assert_array_equal(on_disk, expected)
