"""Adding layers one per turn of the event loop, so a long list never freezes the window."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from qtpy.QtCore import QThread, QTimer


def event_loop_running() -> bool:
    """True when an event loop runs (napari's window is up and answering), so work can wait a turn."""
    return QThread.currentThread().loopLevel() > 0


def add_in_turns(viewer, layer_data: list[tuple], wanted: Callable[[object], bool] = lambda viewer: True) -> None:
    """Add ``(data, kwargs, layer_type)`` tuples to ``viewer``, one per turn of the event loop.

    The window repaints and answers between two layers. A layer whose name
    the viewer holds already is skipped; once ``wanted(viewer)`` is False (e.g. the
    project was closed meanwhile) or the viewer is gone, the rest is dropped.
    """
    pending = list(layer_data)
    ref = weakref.ref(viewer)

    def add_next() -> None:
        viewer = ref()
        if viewer is None or not pending or not wanted(viewer):
            return
        data, kwargs, layer_type = pending.pop(0)
        if kwargs.get("name") not in viewer.layers:
            getattr(viewer, f"add_{layer_type}")(data, **kwargs)
        if pending:
            QTimer.singleShot(0, add_next)

    if pending:
        QTimer.singleShot(0, add_next)
