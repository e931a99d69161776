"""Opening a project from napari's running window without freezing it.

napari calls a reader on its GUI thread and builds every layer it returns
there, one after the other. From the running window (a drop, File › Open,
the Plan step's *Open project*) the project reader instead hands the heavy
part to :func:`open_in_background`: in a worker thread of the
:class:`~.runner.Runner` the image is opened lazily, its contrast sampled,
the plan validated and the napari layer models built
(:meth:`napari.layers.Layer.create`: pint's unit table, the boxes layer's
features and text, the Labels colormaps) with the sync that keeps the boxes
layer on the displayed slice, so the GUI thread only puts each finished layer
into the viewer over turns of the event loop (:func:`.in_turns.add_in_turns`:
added hidden, shown a turn later).

Nothing is added once the viewer has closed or the session has let go of the
project meanwhile; a failure is shown as one message ("Opening project …
failed: …") and the project's lock is let go, since none of its layers came.
"""

from __future__ import annotations

import os
import weakref

from napari.layers import Layer, Shapes
from napari.utils.notifications import show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QWidget

from ..layers.box_sync import BoxLayerSync
from ..layers.session import layer_project, session_for
from .in_turns import add_in_turns
from .runner import Runner


def build_layers(layer_data: list[tuple]) -> list[Layer]:
    """napari layers from ``(data, kwargs, layer_type)`` tuples (Qt-free: runs in a worker thread).

    Examples
    --------
    >>> import numpy as np
    >>> (layer,) = build_layers([(np.zeros((2, 4, 4)), {"name": "a", "contrast_limits": (0, 1)}, "image")])
    >>> type(layer).__name__, layer.name
    ('Image', 'a')
    """
    return [Layer.create(data, dict(kwargs), layer_type) for data, kwargs, layer_type in layer_data]


def open_in_background(viewer, folder, plan, read) -> Runner:
    """Build a project's layers in a worker (``read()`` gives their data and notes) and add them
    to ``viewer`` one per turn of the event loop; returns the runner doing it.

    The boxes layer comes with the :class:`~..layers.box_sync.BoxLayerSync` that keeps it on
    the displayed slice (``plan`` validated and drawn in the worker too), which the session
    takes as the layer's follower (:meth:`~..layers.session.Session.follow_boxes`).
    """
    session = session_for(viewer)
    ref = weakref.ref(viewer)
    # no dock asked for this: a hidden widget of the window the opening came from owns the runner,
    # so nothing is delivered once that window closes (see Runner)
    owner = QWidget(QApplication.activeWindow())
    owner.hide()
    runner = Runner(owner, session=session)
    session.openings.add(runner)  # kept until the opening ends
    name = os.path.basename(os.path.normpath(os.fspath(folder)))
    state = {"delivered": False, "ended": False}

    def end(*_) -> None:
        if state["ended"]:
            return
        state["ended"] = True
        session.openings.discard(runner)
        session.release_unused()  # a project none of whose layers came (failed, window closed) is let go
        if runner.owner_alive:
            owner.deleteLater()

    owner.destroyed.connect(end)  # its window was deleted first

    held = session.holds(folder)  # a read-only project opens without its lock

    def wanted(v) -> bool:
        let_go = held and not session.holds(folder)  # e.g. closed by removing what had come
        return not session.closed and not let_go and runner.owner_alive and window_open(v)

    def work(progress):
        layer_data, notes = read()
        layers = build_layers(layer_data)
        boxes = [lay for lay in layers if layer_project(lay) is not None and isinstance(lay, Shapes)]
        return layers, {id(lay): BoxLayerSync(plan, rectangles=lay) for lay in boxes}, notes

    def add(viewer, layer) -> None:
        sync = syncs.pop(id(layer), None)
        if sync is not None:
            session.follow_boxes(layer, sync)  # made in the worker: nothing redrawn on insertion
        viewer.add_layer(layer)

    syncs: dict = {}

    def returned(result) -> None:
        state["delivered"] = True
        layers, made, notes = result
        syncs.update(made)
        viewer = ref()
        if viewer is None or not wanted(viewer):
            end()
            return
        for note in notes:
            show_warning(note)
        add_in_turns(viewer, layers, wanted=wanted, done=end, add=add)

    def failed(message) -> None:
        state["delivered"] = True
        end()

    def finished() -> None:  # after returned / failed, or instead of them once the window has closed
        QTimer.singleShot(0, lambda: None if state["delivered"] else end())

    job = runner.start(work, what=f"Opening project {name}", label="opening…", returned=returned, failed=failed)
    job.worker.finished.connect(finished)
    return runner


def window_open(viewer) -> bool:
    """Whether the viewer's window is still open: napari's ``Window`` answers ``geometry()`` until it
    is closed (the layers of a closed viewer are gone, adding one fails)."""
    try:
        viewer.window.geometry()
    except (AttributeError, RuntimeError):
        return False
    return True
