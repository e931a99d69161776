"""A project's labels held in memory for the length of a brush stroke.

The project's annotation layers hold a
:class:`~napari_patchwise.engine.plan.stroke_buffer.StrokeBuffer` over their
Zarr arrays. :func:`buffer_strokes` makes a layer hold its writes while the
mouse button is down in the paint or erase mode and write them once when it
comes up, before anything listening to ``Labels.events.paint`` runs: a stroke
of twenty dabs writes each chunk it touched once instead of twenty times, and
it is on disk when the stroke ends.
"""

from __future__ import annotations

from contextlib import contextmanager

from napari.layers import Labels

from ..engine.plan.stroke_buffer import StrokeBuffer

#: Label modes whose drags are strokes of many dabs (a fill or a polygon writes once).
HOLDING_MODES = ("paint", "erase")


def _hold_while_dragging(layer, event):
    """Mouse drag callback: hold the buffer from the press to the release of a brush stroke."""
    data = layer.data
    if not isinstance(data, StrokeBuffer) or str(layer.mode) not in HOLDING_MODES:
        return
    data.hold()
    try:
        yield
        while event.type == "mouse_move":
            yield
    finally:
        data.release()


def _write_stroke(event) -> None:
    """``events.paint`` (first listener): the stroke is on disk before any check reads it."""
    data = getattr(event.source, "data", None)
    if isinstance(data, StrokeBuffer):
        data.flush(keep=True)


def buffer_strokes(layer) -> bool:
    """Hold each brush stroke of ``layer`` in memory until it ends; False if its data is no buffer.

    Examples
    --------
    >>> import zarr
    >>> layer = Labels(StrokeBuffer(zarr.zeros((4, 32, 32), chunks=(2, 16, 16), dtype="uint32")))
    >>> buffer_strokes(layer), buffer_strokes(layer), layer.mouse_drag_callbacks.count(_hold_while_dragging)
    (True, True, 1)
    >>> buffer_strokes(Labels(zarr.zeros((4, 8, 8), dtype="uint8")))
    False
    """
    if not isinstance(layer, Labels) or not isinstance(layer.data, StrokeBuffer):
        return False
    if _hold_while_dragging not in layer.mouse_drag_callbacks:
        # first: the press holds before napari's brush paints its first dab (mode changes append theirs)
        layer.mouse_drag_callbacks.insert(0, _hold_while_dragging)
        layer.events.paint.connect(_write_stroke, position="first")
    return True


@contextmanager
def held(layer):
    """Hold ``layer``'s writes for the block (one ``data_setitem`` of many voxels then reads
    and writes its chunks once); a layer whose data is no buffer, or already held, is left as it is.

    Examples
    --------
    >>> import numpy as np, zarr
    >>> layer = Labels(StrokeBuffer(zarr.zeros((2, 8, 8), chunks=(1, 4, 4), dtype="uint8")))
    >>> with held(layer):
    ...     layer.data_setitem((np.array([0, 1]), np.array([1, 6]), np.array([2, 7])), 3)
    ...     layer.data.pending
    2
    >>> layer.data.pending, int(layer.data.array[1, 6, 7])
    (0, 3)
    """
    data = getattr(layer, "data", None)
    if not isinstance(data, StrokeBuffer) or data.holding:
        yield
        return
    data.hold()
    try:
        yield
    finally:
        data.release()


def write_held(layer) -> None:
    """Write whatever ``layer`` holds (it leaves the viewer mid-stroke)."""
    data = getattr(layer, "data", None)
    if isinstance(data, StrokeBuffer):
        data.release()


def planes_to_read_ahead(layers, point) -> list[tuple[StrokeBuffer, int]]:
    """``(buffer, z)`` for each of ``layers`` (2D Labels over a buffer): the plane it shows at ``point``.

    A job that writes these layers' arrays calls ``buffer.read_ahead(z)`` in
    its worker when it is done, so the layers' refresh afterwards finds the
    plane read (see :meth:`~napari_patchwise.engine.plan.stroke_buffer.StrokeBuffer.read_ahead`).

    Examples
    --------
    >>> import zarr
    >>> layer = Labels(StrokeBuffer(zarr.zeros((4, 8, 8), dtype="uint32")), scale=(2, 1, 1))
    >>> [(type(b).__name__, z) for b, z in planes_to_read_ahead([layer], (4.2, 0, 0))]
    [('StrokeBuffer', 2)]
    """
    out = []
    for layer in layers:
        data = getattr(layer, "data", None)
        if isinstance(layer, Labels) and isinstance(data, StrokeBuffer) and len(data.shape) == 3:
            z = int(round(float(layer.world_to_data(tuple(point))[0])))
            if 0 <= z < data.shape[0]:
                out.append((data, z))
    return out


def writes_of(layer) -> int | None:
    """The writes ``layer``'s data took so far, when it is a :class:`StrokeBuffer` (which counts them);
    ``None`` for other data."""
    data = getattr(layer, "data", None)
    return data.writes if isinstance(data, StrokeBuffer) else None


def refresh_is_no_edit(writes: int | None, accounted: int | None, new_view: bool) -> bool:
    """Whether a layer refresh changed nothing (napari slicing it anew or showing it again, not
    undo or redo): its buffer took no write since the ``accounted`` ones; on data that counts no
    writes (``writes`` None), the refresh came with a new view.

    Examples
    --------
    >>> refresh_is_no_edit(5, 5, False), refresh_is_no_edit(6, 5, True), refresh_is_no_edit(None, None, True)
    (True, False, True)
    """
    return writes == accounted if writes is not None else new_view

