"""Adding layers one per turn of the event loop, so a long list never freezes the window."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from qtpy.QtCore import QThread, QTimer

#: Milliseconds between two layers: a real timer (not a zero-delay call), so the window's own timers,
#: repaints and input are handled between them.
TURN_MS = 1


def event_loop_running() -> bool:
    """True when an event loop runs (napari's window is up and answering), so work can wait a turn."""
    return QThread.currentThread().loopLevel() > 0


def add_in_turns(viewer, layers: list, wanted: Callable[[object], bool] = lambda viewer: True,
                 done: Callable[[], None] | None = None) -> None:
    """Add layers to ``viewer``, one per turn of the event loop.

    ``layers`` holds napari layers or ``(data, kwargs, layer_type)`` tuples.
    The window repaints and answers between two layers. A layer whose name
    the viewer holds already is skipped; once ``wanted(viewer)`` is False (e.g. the
    project was closed meanwhile) or the viewer is gone, the rest is dropped.
    ``done()`` is called at the end either way.
    """
    pending = list(layers)
    ref = weakref.ref(viewer)

    def add_next() -> None:
        viewer = ref()
        if viewer is None or not pending or not wanted(viewer):
            pending.clear()
        else:
            layer = pending.pop(0)
            name = layer.name if not isinstance(layer, tuple) else layer[1].get("name")
            if name not in viewer.layers:
                if isinstance(layer, tuple):
                    data, kwargs, layer_type = layer
                    getattr(viewer, f"add_{layer_type}")(data, **kwargs)
                else:
                    viewer.add_layer(layer)
        if pending:
            QTimer.singleShot(TURN_MS, add_next)
        elif done is not None:
            done()

    QTimer.singleShot(TURN_MS, add_next)
