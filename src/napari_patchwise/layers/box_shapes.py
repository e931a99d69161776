"""Boxes <-> napari Shapes layers.

napari's Shapes are planar, so a 3D box is edited in the 2D view as one
rectangle on the displayed z-slice, drawn only while that slice crosses the box
(:func:`slice_rectangles`; :func:`box_rectangles` gives every slice at once
for a static layer), and shown in the 3D view as a wireframe: one thin path
per box through its twelve edges (:func:`box_wireframes`). Each rectangle
carries the features ``box_id`` and ``z``.

Pixel ``i`` of an image covers ``[i - 0.5, i + 0.5]`` in napari's data
coordinates, so the rectangle of the half-open extent ``[lo, hi)`` runs from
``lo - 0.5`` to ``hi - 0.5``.

Colours: a rectangle's **edge** shows its box's worst validation finding
(:data:`SEVERITY_COLORS`), its semi-transparent **fill** the box's stratum
(:data:`STRATUM_COLORS`), and locked boxes have thicker edges
(:data:`LOCKED_EDGE_FACTOR`). The 3D wireframes are unfilled lines in the
stratum colour, their box id written at a corner (:func:`wireframe_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..engine.geometry.box import Box
from ..engine.plan.border import interior_slices
from ..engine.propose.strata import STRATA, STRATUM_DESCRIPTIONS

#: Edge colour per worst finding of a box (``None``: no finding).
SEVERITY_COLORS: dict[str | None, str] = {
    "error": "#ff453a",
    "warning": "#ff9f0a",
    "info": "#64d2ff",
    None: "#32d74b",
}
#: Face colour per stratum of a box (``None``: no stratum, e.g. drawn by hand).
#: Rectangles are filled with it at :data:`FACE_ALPHA`, so the edge keeps the
#: severity colour and both can be read at once.
STRATUM_COLORS: dict[str | None, str] = {
    "best": "#59a14f",
    "worst": "#e15759",
    "low_snr": "#b07aa1",
    "dense": "#f28e2b",
    "sparse": "#76b7b2",
    "edge": "#9c755f",
    "artifact": "#ff9da7",
    "uncertain": "#edc948",
    "typical": "#4e79a7",
    None: "#bab0ac",
}
#: Fill of a failure stratum (``failure:<kind>``: a box where a prediction fails, from the failure
#: scan): one reddish family, a shade per kind; other kinds get :data:`FAILURE_COLOR`.
FAILURE_COLORS: dict[str, str] = {
    "uncertainty": "#ff7f66",
    "uncertain": "#ff7f66",
    "disagreement": "#e34a33",
    "implausible": "#b30000",
    "size": "#b30000",
    "shape": "#cb181d",
    "fragment": "#fc4e2a",
    "touching": "#a50f15",
    "merge": "#d7301f",
    "split": "#ef6548",
}
FAILURE_COLOR = "#d7301f"
#: Stratum prefix of failure boxes.
FAILURE_PREFIX = "failure:"
#: Opacity of the stratum fill of a rectangle (the image stays visible through it).
FACE_ALPHA = 0.25
#: Locked boxes are drawn with edges this many times thicker.
LOCKED_EDGE_FACTOR = 2.5
#: Edge colour of a rectangle being drawn, before it becomes a box.
NEW_SHAPE_COLOR = "#ffffff"
NO_BOX = -1
#: Fill of a box's ignore border on the displayed slice (grey: these voxels are not trained on).
BORDER_COLOR = "#d0d0d0"
#: Opacity of that fill (the image stays visible through it).
BORDER_ALPHA = 0.45
#: Key of patchwise entries in napari layer metadata.
METADATA_KEY = "napari-patchwise"


def box_rectangles(boxes: Iterable[Box], z: int | None = None
                   ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """One rectangle per z-slice of every box (only slice ``z`` when given).

    Returns
    -------
    data : list of (4, 3) arrays
        Rectangle vertices ``(z, y, x)`` in data coordinates.
    features : dict
        ``box_id`` and ``z`` per rectangle.

    Examples
    --------
    >>> data, feats = box_rectangles([Box(7, (2, 0, 0), (4, 10, 20))])
    >>> len(data), feats["box_id"].tolist(), feats["z"].tolist()
    (2, [7, 7], [2, 3])
    >>> data[0][:, 1:].min(axis=0).tolist(), data[0][:, 1:].max(axis=0).tolist()
    ([-0.5, -0.5], [9.5, 19.5])
    """
    data: list[np.ndarray] = []
    ids: list[int] = []
    zs: list[int] = []
    for b in boxes:
        (z0, y0, x0), (z1, y1, x1) = b.lo, b.hi
        ya, yb, xa, xb = y0 - 0.5, y1 - 0.5, x0 - 0.5, x1 - 0.5
        yx = np.array([[ya, xa], [ya, xb], [yb, xb], [yb, xa]], dtype=float)
        for k in range(z0, z1) if z is None else ([int(z)] if z0 <= z < z1 else []):
            data.append(np.column_stack([np.full(4, float(k)), yx]))
            ids.append(b.id)
            zs.append(k)
    return data, {"box_id": np.asarray(ids, dtype=int), "z": np.asarray(zs, dtype=int)}


def slice_rectangles(boxes: Iterable[Box], z: int) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """One rectangle on slice ``z`` for every box that crosses it.

    Boxes that do not span ``z`` give nothing, so a slice shows the boxes it
    cuts and no others. Rectangles come in the order of ``boxes``.

    Examples
    --------
    >>> boxes = [Box(1, (0, 0, 0), (4, 8, 8)), Box(2, (6, 0, 0), (9, 8, 8))]
    >>> [slice_rectangles(boxes, z)[1]["box_id"].tolist() for z in (0, 3, 4, 6, 8, 9)]
    [[1], [1], [], [2], [2], []]
    >>> data, feats = slice_rectangles(boxes, 7)
    >>> data[0][:, 0].tolist(), feats["z"].tolist()
    ([7.0, 7.0, 7.0, 7.0], [7])
    """
    return box_rectangles(boxes, z)


def border_rectangles(boxes: Iterable[Box], z: int, border: int, mag=(1, 1, 1)
                      ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """The ignore border of every box on slice ``z``, as filled rectangles (full-resolution data coordinates).

    ``border`` is in voxels at the magnification ``mag`` (the preset's
    ``ignore_border``), so it covers ``border × mag`` full-resolution voxels
    (the rule of :func:`~napari_patchwise.engine.plan.border.interior_slices`).
    A slice inside the box's z border is all border: one rectangle over the
    whole box; otherwise four bands (above, below, left, right of the
    interior). Only the boxes that cross ``z`` give rectangles.

    Examples
    --------
    >>> data, feats = border_rectangles([Box(3, (0, 0, 0), (8, 8, 12))], 4, 1, (2, 2, 2))
    >>> len(data), feats["box_id"].tolist()
    (4, [3, 3, 3, 3])
    >>> data[0][:, 1:].min(axis=0).tolist(), data[0][:, 1:].max(axis=0).tolist()  # the band above
    ([-0.5, -0.5], [1.5, 11.5])
    >>> len(border_rectangles([Box(3, (0, 0, 0), (8, 8, 12))], 1, 1, (2, 2, 2))[0])
    1
    >>> border_rectangles([Box(3, (0, 0, 0), (8, 8, 12))], 4, 0)[0]
    []
    """
    data: list[np.ndarray] = []
    ids: list[int] = []
    if border <= 0:
        return data, {"box_id": np.asarray(ids, dtype=int)}

    def rect(y0, y1, x0, x1):  # half-open voxel extents -> vertices on voxel edges
        ya, yb, xa, xb = y0 - 0.5, y1 - 0.5, x0 - 0.5, x1 - 0.5
        return np.array([[z, ya, xa], [z, ya, xb], [z, yb, xb], [z, yb, xa]], dtype=float)

    for b in boxes:
        if not b.lo[0] <= z < b.hi[0]:
            continue
        iz, iy, ix = interior_slices(b.size, border, mag)
        (z0, y0, x0), (y1, x1) = b.lo, b.hi[1:]
        k = z - z0
        if not iz.start <= k < iz.stop or iy.start >= iy.stop or ix.start >= ix.stop:
            parts = [rect(y0, y1, x0, x1)]
        else:
            ya, yb, xa, xb = y0 + iy.start, y0 + iy.stop, x0 + ix.start, x0 + ix.stop
            parts = [rect(y0, ya, x0, x1), rect(yb, y1, x0, x1), rect(ya, yb, x0, xa), rect(ya, yb, xb, x1)]
        data += parts
        ids += [b.id] * len(parts)
    return data, {"box_id": np.asarray(ids, dtype=int)}


def box_wireframes(boxes: Iterable[Box], frame: Sequence[int] | None = None
                   ) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """A path along the twelve edges of every box and a short tick that carries its id (3D view).

    The path goes round the first face, up one vertical edge, round the last
    face and back down the other three verticals (16 vertices, three edges
    drawn twice). The tick is one voxel of the first edge, so its centre (where
    napari writes a shape's text in 3D) is the box's first corner: shape
    ``2k`` is box ``k``'s path (shape type ``path``, empty ``label``), shape
    ``2k + 1`` its tick (``line``, ``label`` the id). The faces sit on the
    centres of the first and last z-slice (not on voxel edges) so that the
    layer adds no half-voxel to the viewer's z range. With ``frame`` (the
    image's shape), the last shape is the image's outline (:func:`image_frame`,
    a ``path`` of box id :data:`NO_BOX`).

    Examples
    --------
    >>> data, feats = box_wireframes([Box(1, (0, 0, 0), (2, 2, 2))])
    >>> [d.shape for d in data], feats["box_id"].tolist(), feats["label"].tolist()
    ([(16, 3), (2, 3)], [1, 1], ['', '1'])
    >>> data[1].tolist()
    [[0.0, -0.5, -0.5], [0.0, -0.5, 0.5]]
    >>> box_wireframes([], frame=(4, 10, 20))[1]["box_id"].tolist()
    [-1]
    """
    data: list[np.ndarray] = []
    ids: list[int] = []
    labels: list[str] = []
    for b in boxes:
        z0, y0, x0 = float(b.lo[0]), b.lo[1] - 0.5, b.lo[2] - 0.5
        data += [_edges_path(b.lo, b.hi), np.asarray([(z0, y0, x0), (z0, y0, min(x0 + 1, b.hi[2] - 0.5))])]
        ids += [b.id, b.id]
        labels += ["", str(b.id)]
    if frame is not None:
        data.append(image_frame(frame))
        ids.append(NO_BOX)
        labels.append("")
    return data, {"box_id": np.asarray(ids, dtype=int), "label": np.asarray(labels, dtype=object)}


def _edges_path(lo, hi) -> np.ndarray:
    """The 16 vertices of a path along the twelve edges of the voxels ``[lo, hi)`` (faces on z centres)."""
    z0, z1 = float(lo[0]), float(hi[0] - 1)
    (y0, x0), (y1, x1) = np.asarray(lo[1:], dtype=float) - 0.5, np.asarray(hi[1:], dtype=float) - 0.5
    yx = [(y0, x0), (y0, x1), (y1, x1), (y1, x0)]
    a = [(z0, y, x) for y, x in yx]
    t = [(z1, y, x) for y, x in yx]
    return np.asarray([*a, a[0], *t, t[0], t[1], a[1], a[2], t[2], t[3], a[3]], dtype=float)


def image_frame(shape: Sequence[int]) -> np.ndarray:
    """The outline of an image of ``shape`` (Z, Y, X): a path along its twelve edges.

    Its y/x sides lie on the image's outer voxel edges, as a box's do, and its
    faces on the first and last z-slice. The 3D wireframe layer always holds
    it, so the viewer's y/x range already reaches the half voxel that the
    rectangle of a box on the image's edge adds: boxes appearing or going
    never change the range (napari slices every layer again when it changes).

    Examples
    --------
    >>> path = image_frame((4, 10, 20))
    >>> path.min(axis=0).tolist(), path.max(axis=0).tolist()
    ([0.0, -0.5, -0.5], [3.0, 9.5, 19.5])
    """
    return _edges_path((0, 0, 0), tuple(int(n) for n in shape))


def wireframe_shape_types(n_boxes: int, frame: bool = False) -> list[str]:
    """Shape types of :func:`box_wireframes` for ``n_boxes`` boxes (and the image's ``frame``).

    Examples
    --------
    >>> wireframe_shape_types(2)
    ['path', 'line', 'path', 'line']
    >>> wireframe_shape_types(1, frame=True)
    ['path', 'line', 'path']
    """
    return ["path", "line"] * n_boxes + (["path"] if frame else [])


def wireframe_colors(box_ids: Sequence[int], strata: Mapping[int, str | None]) -> np.ndarray:
    """Opaque RGBA line colour for each wireframe: its box's stratum (the 2D fill's palette).

    Examples
    --------
    >>> wireframe_colors([4], {4: "best"}).round(3).tolist()
    [[0.349, 0.631, 0.31, 1.0]]
    """
    return face_colors(box_ids, strata, alpha=1.0)


def wireframe_text(color: str = "white", size: int = 10) -> dict:
    """Text of the wireframe layer: each box's id, written at its first corner (its tick).

    Examples
    --------
    >>> wireframe_text()["string"]
    '{label}'
    """
    return {"string": "{label}", "color": color, "size": size, "anchor": "center"}


def extent_from_vertices(vertices: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """The ``(lo, hi)`` y/x voxel extent a drawn shape covers (its bounding box).

    Each side snaps to the nearest voxel edge (edges sit at ``i - 0.5``); a
    side lying on a voxel centre takes the whole voxel. So the rectangles of
    :func:`box_rectangles` map back exactly, float32 noise in napari's
    vertices (``132.49998``) is harmless, and a drag from the centre of voxel
    40 to the centre of voxel 100 covers voxels 40 to 100.

    Examples
    --------
    >>> extent_from_vertices(np.array([[5, -0.5, 3.4], [5, 9.5, 19.6]]))
    ((0, 4), (10, 20))
    >>> extent_from_vertices(np.array([[5, 68.5, 40.0], [5, 132.49998, 100.0]], dtype=np.float32))
    ((69, 40), (133, 101))
    """
    v = np.asarray(vertices, dtype=float)[:, -2:]
    lo = np.ceil(v.min(axis=0)).astype(int)
    hi = np.floor(v.max(axis=0)).astype(int) + 1
    hi = np.maximum(hi, lo + 1)
    return (int(lo[0]), int(lo[1])), (int(hi[0]), int(hi[1]))


def edge_colors(box_ids: Sequence[int], severities: Mapping[int, str | None]) -> list[str]:
    """Colour for each rectangle from its box's worst finding.

    Examples
    --------
    >>> edge_colors([1, 2, 3], {1: "error", 2: None})
    ['#ff453a', '#32d74b', '#32d74b']
    """
    return [SEVERITY_COLORS[severities.get(int(i))] for i in box_ids]


def stratum_color(stratum: str | None) -> str:
    """Colour of a stratum; unknown names get the colour of ``None``.

    Examples
    --------
    >>> stratum_color("dense"), stratum_color(None) == stratum_color("no-such-stratum")
    ('#f28e2b', True)
    >>> stratum_color("failure:merge"), stratum_color("failure:new-kind")
    ('#d7301f', '#d7301f')
    """
    if isinstance(stratum, str) and stratum.startswith(FAILURE_PREFIX):
        return FAILURE_COLORS.get(stratum[len(FAILURE_PREFIX):], FAILURE_COLOR)
    return STRATUM_COLORS.get(stratum, STRATUM_COLORS[None])


def stratum_legend() -> list[tuple[str | None, str, str]]:
    """``(stratum, colour, description)`` for every stratum, then for boxes without one.

    Examples
    --------
    >>> rows = stratum_legend()
    >>> [r[0] for r in rows] == [*STRATA, None]
    True
    >>> rows[0]
    ('best', '#59a14f', 'clean, high-contrast region (best case)')
    """
    rows = [(s, STRATUM_COLORS[s], STRATUM_DESCRIPTIONS[s]) for s in STRATA]
    return rows + [(None, STRATUM_COLORS[None], "no stratum (drawn by hand, from points, ...)")]


def _rgba(color: str, alpha: float = 1.0) -> np.ndarray:
    h = color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)] + [alpha])


def face_colors(box_ids: Sequence[int], strata: Mapping[int, str | None],
                alpha: float = FACE_ALPHA) -> np.ndarray:
    """RGBA fill for each rectangle from its box's stratum.

    Examples
    --------
    >>> face_colors([4, 5], {4: "best"}).round(3).tolist()
    [[0.349, 0.631, 0.31, 0.25], [0.729, 0.69, 0.675, 0.25]]
    """
    rows = [_rgba(stratum_color(strata.get(int(i))), alpha) for i in box_ids]
    return np.array(rows).reshape(-1, 4)


def edge_widths(box_ids: Sequence[int], locked: Iterable[int], width: float) -> list[float]:
    """Edge width for each rectangle: thicker for locked boxes.

    Examples
    --------
    >>> edge_widths([1, 2, 2], {2}, 2.0)
    [2.0, 5.0, 5.0]
    """
    locked = {int(i) for i in locked}
    return [float(width) * (LOCKED_EDGE_FACTOR if int(i) in locked else 1.0) for i in box_ids]


def boxes_layer_kwargs(voxel_size, metadata: Mapping | None = None, unit: str = "pixel") -> dict:
    """Layer keyword arguments shared by every boxes layer (reader and dock)."""
    return {
        "name": "patchwise boxes",
        "ndim": 3,
        "scale": tuple(voxel_size),
        "units": (unit,) * 3,
        "face_color": "transparent",
        "opacity": 1.0,
        "metadata": dict(metadata or {}),
        "text": {"string": "{box_id}", "color": "white", "size": 10, "anchor": "upper_left"},
    }
