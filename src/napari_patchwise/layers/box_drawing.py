"""Put boxes into a napari Shapes layer in as few layer updates as possible.

Every assignment to a Shapes property (``data``, ``features``, colours,
widths) makes napari redraw the layer, and a ``data`` assignment rebuilds every
shape, so :func:`fill` sets each once and :func:`restyle` only those that
differ. After an edit the layer usually shows the wanted boxes already: the
rectangle just dropped covers its box's voxels (it lies within half a voxel of
the voxel edges). :func:`misplaced` finds the rectangles that do not (the
magnification grid or the image's faces moved the box) and :func:`move` puts
them on their box with one ``data`` assignment that keeps the layer's features
and colours; colours are set only where a finding changed.
Used by :class:`~napari_patchwise.layers.box_sync.BoxLayerSync`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from napari.layers import Shapes

from .box_shapes import _rgba, edge_colors, edge_widths, face_colors, wireframe_colors


class BoxStyle(NamedTuple):
    """How a plan's boxes look: worst finding, stratum, locked ids and base edge width."""

    severities: dict
    strata: dict
    locked: set
    width: float


def misplaced(layer: Shapes, data, features, within: float = 0.5) -> list[tuple[int, int]] | None:
    """The rectangles of a layer that are not where ``data`` wants them.

    A rectangle is in place when each of its vertices lies less than
    ``within`` voxels from the wanted one. At the default half voxel it covers
    exactly the voxels of its box (:func:`~.box_shapes.extent_from_vertices`
    maps it to the box): a rectangle the mouse dropped between voxel edges
    already shows its box and is left as dropped, which spares napari a
    rebuild and a repaint of the layer.

    Returns
    -------
    list of (int, int) or None
        ``(layer index, index in data)`` of each rectangle out of place, when
        the layer holds the same boxes (one rectangle each, in any order) with
        the same features; ``None`` when it does not (redraw it all). An empty
        list: the layer already shows ``data``.
    """
    if len(layer.data) != len(data) or set(layer.shape_type) - {"rectangle"}:
        return None
    have = layer.features
    if set(features) - set(have.columns):
        return None
    ids = have["box_id"].to_numpy()
    where = {int(b): i for i, b in enumerate(ids)}
    if len(where) != len(ids) or set(where) != {int(b) for b in features["box_id"]}:
        return None
    order = [where[int(b)] for b in features["box_id"]]
    for key, values in features.items():
        if not np.array_equal(have[key].to_numpy()[order], values):
            return None
    shapes = layer.data
    return [(i, j) for j, i in enumerate(order)
            if shapes[i].shape != np.shape(data[j]) or np.abs(shapes[i] - data[j]).max() >= within]


def move(layer: Shapes, pairs, data) -> None:
    """Put ``data[j]`` in place of the layer's rectangle ``i`` for each ``(i, j)`` of ``pairs``.

    One ``data`` assignment with the shapes in the layer's order: napari keeps
    the features, colours and widths of a layer whose shape count stays, so
    nothing else is set (each set would redraw the layer again). Removing and
    adding the one shape costs more: each data event makes the viewer
    recompute its dimensions.
    """
    if not pairs:
        return
    shapes = list(layer.data)
    for i, j in pairs:
        shapes[i] = data[j]
    layer.data = (shapes, "rectangle")


def restyle(layer: Shapes, ids, style: BoxStyle) -> None:
    """Set the rectangles' colours and widths, touching only those that differ (each set redraws)."""
    if not len(ids):
        return
    widths = edge_widths(ids, style.locked, style.width)
    if not np.allclose(layer.edge_width, widths):
        layer.edge_width = widths
    edges = np.array([_rgba(c) for c in edge_colors(ids, style.severities)])
    if not np.allclose(layer.edge_color, edges, atol=1e-3):
        layer.edge_color = edges
    faces = face_colors(ids, style.strata)
    if not np.allclose(layer.face_color, faces, atol=1e-3):
        layer.face_color = faces


def fill(layer: Shapes, data, features, shape_type, style: BoxStyle, wire: bool = False) -> int:
    """Replace a layer's shapes, features and colours in one go; returns the shape count.

    Rectangles: edge by severity, fill by stratum. Wireframes (``wire``):
    lines in the stratum colour, no fill. An empty layer gets its shapes by
    ``add`` with their colours and widths (two layer updates instead of five).

    Examples
    --------
    >>> import pandas as pd
    >>> layer = Shapes(ndim=3)
    >>> rect = np.array([[0, 0, 0], [0, 4, 0], [0, 4, 4], [0, 0, 4]], float)
    >>> style = BoxStyle({1: "error"}, {1: "dense"}, set(), 1.0)
    >>> def styles(layer):
    ...     return (layer.features["box_id"].tolist(), layer.edge_color.round(2).tolist(),
    ...             layer.face_color.round(2).tolist(), layer.edge_width)
    >>> fill(layer, [rect, rect + 1], pd.DataFrame({"box_id": [1, 2]}), "rectangle", style)  # empty: add
    2
    >>> first = styles(layer)
    >>> first[0], first[1][0], first[3]
    ([1, 2], [1.0, 0.27, 0.23, 1.0], [1.0, 1.0])
    >>> fill(layer, [rect + 2, rect], pd.DataFrame({"box_id": [1, 2]}), "rectangle", style)  # data set
    2
    >>> styles(layer) == first
    True
    """
    types = [shape_type] * len(data) if isinstance(shape_type, str) else list(shape_type)
    ids = features["box_id"] if data else []
    if data and not len(layer.data):  # an empty layer takes the shapes with their colours: one update less
        edges = wireframe_colors(ids, style.strata) if wire else edge_colors(ids, style.severities)
        layer.add(data, shape_type=types, edge_width=edge_widths(ids, style.locked, style.width),
                  edge_color=edges,
                  face_color="transparent" if wire else face_colors(ids, style.strata))
        layer.features = features
        return len(data)
    layer.data = (data, types) if data else []
    layer.features = features
    if data:
        layer.edge_width = edge_widths(ids, style.locked, style.width)
        if wire:
            layer.edge_color = wireframe_colors(ids, style.strata)
            layer.face_color = "transparent"
        else:
            layer.edge_color = edge_colors(ids, style.severities)
            layer.face_color = face_colors(ids, style.strata)
    return len(data)
