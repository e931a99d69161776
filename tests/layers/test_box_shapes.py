"""Box <-> rectangle conversion (no viewer)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.engine.propose.strata import STRATA
from napari_patchwise.layers.box_shapes import (
    FACE_ALPHA,
    LOCKED_EDGE_FACTOR,
    SEVERITY_COLORS,
    STRATUM_COLORS,
    box_rectangles,
    box_wireframes,
    edge_widths,
    extent_from_vertices,
    face_colors,
    stratum_legend,
)

corner = st.tuples(st.integers(0, 50), st.integers(0, 300), st.integers(0, 300))
size = st.tuples(st.integers(1, 6), st.integers(1, 200), st.integers(1, 200))


@settings(max_examples=150, deadline=None)
@given(corner, size, st.floats(-0.45, 0.45, allow_nan=False), st.sampled_from([np.float32, np.float64]))
def test_rectangles_round_trip_to_the_box_extent(lo, sz, jitter, dtype):
    box = Box(1, lo, tuple(a + b for a, b in zip(lo, sz)))
    rects, feats = box_rectangles([box])
    assert len(rects) == sz[0] and feats["z"].tolist() == list(range(lo[0], lo[0] + sz[0]))
    for r in rects:
        assert extent_from_vertices(r.astype(dtype)) == (box.lo[1:], box.hi[1:])
        # a drag of less than half a voxel does not change the extent
        assert extent_from_vertices((r + [0, jitter, jitter]).astype(dtype)) == (box.lo[1:], box.hi[1:])


def test_wireframe_spans_the_box():
    box = Box(3, (2, 10, 20), (6, 30, 50))
    paths, feats = box_wireframes([box])
    pts = np.concatenate(paths)
    assert pts[:, 0].min() == 2 and pts[:, 0].max() == 5
    assert pts[:, 1].min() == 9.5 and pts[:, 2].max() == 49.5
    assert set(feats["box_id"]) == {3}


def test_every_stratum_has_its_own_colour():
    assert set(STRATUM_COLORS) == {*STRATA, None}
    assert len(set(STRATUM_COLORS.values())) == len(STRATUM_COLORS)
    assert not set(STRATUM_COLORS.values()) & set(SEVERITY_COLORS.values())
    assert [row[0] for row in stratum_legend()] == [*STRATA, None]


def test_fill_follows_the_stratum_and_width_the_lock():
    fills = face_colors([1, 2, 3], {1: "dense", 2: None, 3: "no-such-stratum"})
    assert fills.shape == (3, 4) and np.allclose(fills[:, 3], FACE_ALPHA)
    assert np.allclose(fills[0, :3], [0xF2 / 255, 0x8E / 255, 0x2B / 255])
    assert np.allclose(fills[1], fills[2])  # unknown strata look like "no stratum"
    assert face_colors([], {}).shape == (0, 4)
    assert edge_widths([1, 2], [2], 2.0) == [2.0, 2.0 * LOCKED_EDGE_FACTOR]
