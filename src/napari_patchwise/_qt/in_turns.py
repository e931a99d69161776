"""Adding layers one per turn of the event loop, so a long list never freezes the window.

napari does a layer's work in two parts: putting it in the viewer (its vispy
node, controls, the layer list and selection) and showing it (reading its
slice, uploading it, compiling its shaders on the first draw; for a Shapes
layer with text, rendering the glyphs). Each layer therefore comes in turns:
added hidden, then shown, then (a Shapes layer with text) its text shown.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from contextlib import contextmanager

from napari.layers import Shapes
from qtpy.QtCore import QThread, QTimer

#: Milliseconds between two turns (about one frame): a real timer (not a zero-delay call, which Qt runs before any
#: timer that is due), so the window's own timers, repaints and input are handled in between.
TURN_MS = 16


def event_loop_running() -> bool:
    """True when an event loop runs (napari's window is up and answering), so work can wait a turn."""
    return QThread.currentThread().loopLevel() > 0


def _hidden_text(layer) -> bool:
    """Hide a Shapes layer's text (its glyphs are rendered on the first draw); whether it was shown."""
    if isinstance(layer, Shapes) and layer.text.visible and len(layer.data):
        layer.text.visible = False
        return True
    return False


def add_in_turns(viewer, layers: list, wanted: Callable[[object], bool] = lambda viewer: True,
                 done: Callable[[], None] | None = None,
                 add: Callable[[object, object], None] | None = None) -> None:
    """Add napari layers to ``viewer`` over turns of the event loop: each added hidden, then shown.

    The window repaints and answers between two turns. A layer whose name
    the viewer holds already is skipped; once ``wanted(viewer)`` is False (e.g. the
    project was closed meanwhile) or the viewer is gone, the rest is dropped.
    ``done()`` is called at the end either way; ``add(viewer, layer)``, when
    given, adds a layer instead of ``viewer.add_layer``.
    """
    pending: list[Callable[[object], None]] = []
    for layer in layers:
        pending.append(lambda viewer, layer=layer: _add_hidden(viewer, layer, add, pending))
    ref = weakref.ref(viewer)

    def next_turn() -> None:
        viewer = ref()
        if viewer is None or not pending or not wanted(viewer):
            pending.clear()
        else:
            pending.pop(0)(viewer)
        if pending:
            QTimer.singleShot(TURN_MS, next_turn)
        elif done is not None:
            done()

    QTimer.singleShot(TURN_MS, next_turn)


def _add_hidden(viewer, layer, add, pending: list) -> None:
    """Add ``layer`` hidden and put showing it (then its text) first in line; nothing when its name
    is taken."""
    if layer.name in viewer.layers:
        return
    text = _hidden_text(layer)
    shown = layer.visible
    layer.visible = False  # not sliced on insertion
    if add is None:
        viewer.add_layer(layer)  # the viewer or a plugin's proxy of it
    else:
        add(viewer, layer)
    shown = shown or layer.visible  # e.g. the boxes layer's sync shows it on insertion: drawn next turn
    layer.visible = False
    steps = []
    if shown:
        steps.append(lambda viewer: setattr(layer, "visible", True) if layer in viewer.layers else None)
    if text:
        steps.append(lambda viewer: setattr(layer.text, "visible", True) if layer in viewer.layers else None)
    pending[:0] = steps


@contextmanager
def text_a_turn_later(layer: Shapes):
    """Hide a Shapes layer's text while the block changes its shapes, and show it a turn later.

    The shapes' first draw (shaders compiled, vertices uploaded) and the text's
    (glyphs rendered) then come in two repaints with the window answering in
    between, instead of one long one. Without a running event loop the text
    is shown again at once.
    """
    hidden = layer.text.visible
    if hidden:
        layer.text.visible = False
    try:
        yield
    finally:
        if hidden:
            call_in_turns([lambda: None, lambda: setattr(layer.text, "visible", True)])


def call_in_turns(steps: list[Callable[[], None]]) -> None:
    """Call ``steps`` one per turn of the event loop (the first now), so the window repaints and answers
    between two of them; without a running event loop (a script, a test not waiting) all at once.

    Examples
    --------
    Without an event loop the steps run at once, in order:

    >>> seen = []
    >>> call_in_turns([lambda: seen.append(1), lambda: seen.append(2)])
    >>> seen
    [1, 2]
    """
    steps = list(steps)
    if not event_loop_running():
        for step in steps:
            step()
        return

    def next_turn() -> None:
        if not steps:
            return
        step = steps.pop(0)
        if steps:
            QTimer.singleShot(TURN_MS, next_turn)
        step()

    next_turn()
