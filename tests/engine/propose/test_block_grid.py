"""The grid of candidate blocks: inside the image, on the magnification grid, refusals, faces."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine.propose.block_grid import BlockGrid, border_axes, candidate_grid, edge_blocks

SHAPE = (32, 64, 64)
BLOCK = (16, 32, 32)


@pytest.mark.parametrize(
    "shape, block, mag, stride",
    [
        ((32, 64, 64), (16, 32, 32), 1, None),
        ((33, 70, 65), (16, 32, 32), 1, None),
        ((32, 64, 64), (16, 32, 32), (1, 2, 2), (8, 16, 16)),
        ((40, 100, 90), (8, 16, 16), (2, 4, 4), (4, 12, 8)),
        ((32, 64, 64), (16, 32, 32), 1, (24, 40, 40)),
    ],
)
def test_grid_inside_on_mag_grid_and_count(shape, block, mag, stride):
    g = candidate_grid(shape, block, mag=mag, stride=stride)
    m = np.array(g.magnification)
    st = np.array(block if stride is None else stride)
    expected = np.prod((np.array(shape) - np.array(block)) // st + 1)
    assert len(g) == expected == g.origins.shape[0]
    assert g.origins.dtype == np.int64
    assert np.all(g.origins >= 0)
    assert np.all(g.origins + np.array(block) <= np.array(shape))
    assert np.all(g.origins % m == 0)
    assert np.all(g.origins % st == 0)
    assert len({tuple(o) for o in g.origins}) == len(g)
    assert g.block == tuple(block) and g.image_shape == tuple(shape)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_shape": (64, 64), "block": (16, 32, 32)}, "2D.*z axis"),
        ({"image_shape": SHAPE, "block": (1, 32, 32)}, "smaller than 2 voxels"),
        ({"image_shape": SHAPE, "block": (16, 2, 2), "mag": (1, 2, 2)}, "smaller than 2 voxels"),
        ({"image_shape": SHAPE, "block": (16, 31, 32), "mag": (1, 2, 2)}, r"not a multiple.*block=\(16, 32, 32\)"),
        ({"image_shape": SHAPE, "block": (16, 32, 128)}, "larger than the image"),
        ({"image_shape": SHAPE, "block": BLOCK, "mag": 2, "stride": (8, 9, 8)}, "stride.*not a multiple"),
    ],
)
def test_grid_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        candidate_grid(**kwargs)


def test_grid_is_frozen():
    g = candidate_grid(SHAPE, BLOCK)
    assert isinstance(g, BlockGrid)
    with pytest.raises(AttributeError):
        g.block = (2, 2, 2)


def test_edge_blocks_only_along_axes_with_two_blocks():
    g = candidate_grid((16, 96, 96), (16, 32, 32))
    edge = edge_blocks(g.origins, g.block, g.image_shape)
    assert border_axes(g.block, g.image_shape).tolist() == [False, True, True]
    # the 3 x 3 grid in (y, x): all but the centre block touch a face
    assert edge.tolist() == [True, True, True, True, False, True, True, True, True]
