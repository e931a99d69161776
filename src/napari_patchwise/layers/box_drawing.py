"""Put boxes into a napari Shapes layer in as few layer updates as possible.

Every assignment to a Shapes property (``data``, ``features``, colours,
widths) makes napari redraw the layer, so :func:`fill` sets each once and
:func:`restyle` only those that differ; :func:`holds` tells when a layer
already shows the wanted shapes (e.g. after a move the grid kept as drawn).
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


def holds(layer: Shapes, data, features) -> bool:
    """Whether a rectangles layer already holds exactly these rectangles (same boxes, order, vertices)."""
    if len(layer.data) != len(data) or set(layer.shape_type) - {"rectangle"}:
        return False
    have = layer.features
    for key, values in features.items():
        if key not in have or not np.array_equal(have[key].to_numpy(), values):
            return False
    return all(np.allclose(a, b, atol=1e-3) for a, b in zip(layer.data, data))


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
    lines in the stratum colour, no fill.
    """
    types = [shape_type] * len(data) if isinstance(shape_type, str) else list(shape_type)
    layer.data = (data, types) if data else []
    layer.features = features
    if data:
        ids = features["box_id"]
        layer.edge_width = edge_widths(ids, style.locked, style.width)
        if wire:
            layer.edge_color = wireframe_colors(ids, style.strata)
            layer.face_color = "transparent"
        else:
            layer.edge_color = edge_colors(ids, style.severities)
            layer.face_color = face_colors(ids, style.strata)
    return len(data)
