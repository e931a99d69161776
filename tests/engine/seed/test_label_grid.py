"""Imported labels and probabilities as annotation labels: ids 1..N, onto the annotation grid."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_patchwise.engine.geometry.magnification import scaled_shape
from napari_patchwise.engine.seed.label_grid import (
    labels_from_probability,
    labels_to_annotation,
    relabel_sequential_uint32,
)


def _zarr_array(path, data):
    arr = zarr.create_array(store=str(path), shape=data.shape, dtype=data.dtype, chunks=data.shape)
    arr[...] = data
    return arr


def test_labels_from_probability():
    prob = np.zeros((3, 8, 8), np.float32)
    prob[1, 1:3, 1:3] = 0.9
    prob[1, 5:8, 5:8] = 0.6
    prob[0, 0, 7] = 0.8  # one voxel
    inst = labels_from_probability(prob)
    assert inst.dtype == np.uint32 and inst.max() == 3
    assert labels_from_probability(prob, min_size=2).max() == 2
    assert labels_from_probability(prob, threshold=0.7).max() == 2
    sem = labels_from_probability(prob, instance=False)
    assert sem.dtype == np.uint32 and sem.max() == 1 and sem.sum() == 4 + 9 + 1
    with pytest.raises(ValueError, match=r"threshold must lie in \(0, 1\]"):
        labels_from_probability(prob, threshold=0)
    with pytest.raises(ValueError, match="min_size must be a whole number"):
        labels_from_probability(prob, min_size=-1)
    with pytest.raises(ValueError, match="3D"):
        labels_from_probability(prob[0])


def test_relabel_sequential_uint32():
    lab = np.array([[[0, 9, 9, 4, 0, 100]]], np.int64)
    out = relabel_sequential_uint32(lab)
    assert out.dtype == np.uint32 and out.tolist() == [[[0, 2, 2, 1, 0, 3]]]
    assert relabel_sequential_uint32(np.array([[[5, 5]]])).tolist() == [[[1, 1]]]
    assert relabel_sequential_uint32(np.zeros((1, 1, 2), "uint16")).tolist() == [[[0, 0]]]
    with pytest.raises(ValueError, match="labels must be >= 0"):
        relabel_sequential_uint32(np.array([[[-1, 2]]]))
    with pytest.raises(ValueError, match="labels must be integers"):
        relabel_sequential_uint32(np.array([[[0.5]]]))


# -- onto the annotation grid ---------------------------------------------------------


def _centre_reference(labels, mag):
    out = np.empty(scaled_shape(labels.shape, mag), labels.dtype)
    for idx in np.ndindex(*out.shape):
        lo = [i * m for i, m in zip(idx, mag)]
        hi = [min(a + m, n) for a, m, n in zip(lo, mag, labels.shape)]
        out[idx] = labels[tuple(a + (b - a) // 2 for a, b in zip(lo, hi))]
    return out


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 2, 2), (1, 3, 4), (3, 1, 2)])
@pytest.mark.parametrize("shape", [(4, 10, 12), (5, 11, 13)])
def test_full_resolution_labels_are_sampled_at_block_centres(mag, shape):
    lab = np.arange(np.prod(shape), dtype=np.uint32).reshape(shape)
    out = labels_to_annotation(lab, shape, mag)
    assert out.shape == scaled_shape(shape, mag)
    np.testing.assert_array_equal(out, _centre_reference(lab, mag))
    if all(n % m == 0 for n, m in zip(shape, mag)):  # whole blocks: the simple stride
        mz, my, mx = mag
        np.testing.assert_array_equal(out, lab[mz // 2::mz, my // 2::my, mx // 2::mx])


def test_labels_already_at_the_magnification_are_returned_as_is():
    small = np.arange(90, dtype="uint16").reshape(3, 5, 6)
    out = labels_to_annotation(small, (5, 10, 12), (2, 2, 2))
    np.testing.assert_array_equal(out, small)


def test_zarr_labels_are_sampled_without_loading_everything(tmp_path):
    lab = np.arange(5 * 11 * 13, dtype=np.uint32).reshape(5, 11, 13)
    z = _zarr_array(tmp_path / "l.zarr", lab)
    np.testing.assert_array_equal(labels_to_annotation(z, lab.shape, (1, 2, 2)), _centre_reference(lab, (1, 2, 2)))


def test_labels_of_another_shape_name_both_expected_shapes():
    with pytest.raises(ValueError) as e:
        labels_to_annotation(np.zeros((4, 9, 9)), (4, 10, 12), (1, 2, 2))
    assert str(e.value) == (
        "labels have shape (4, 9, 9); expected the image's shape (4, 10, 12) (full resolution) "
        "or (4, 5, 6) (at magnification (1, 2, 2))."
    )
