"""Tests for the synthetic nuclei sample (``napari_patchwise.engine.sample``)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_patchwise.engine.sample import SAMPLE_SHAPE, SampleVolume, make_sample

SMALL = (24, 96, 96)
REGION_KEYS = {"dense", "sparse", "low_snr", "saturated", "blank", "empty", "edge"}


@pytest.fixture(scope="module", params=[0, 1, 7], ids=lambda s: f"seed{s}")
def sample(request):
    return make_sample(SMALL, seed=request.param)


def crop(array, box):
    lo, hi = box
    return array[tuple(slice(a, b) for a, b in zip(lo, hi))]


def contrast(image, labels):
    """(mean nucleus - mean background) / std(background) of a crop."""
    image = image.astype(np.float64)
    fg = labels > 0
    return (image[fg].mean() - image[~fg].mean()) / image[~fg].std()


def touching_pairs(labels):
    """Set of (a, b) id pairs, a < b, that share a face anywhere in ``labels``."""
    pairs = set()
    for axis in range(labels.ndim):
        a = np.moveaxis(labels, axis, 0)
        p, q = a[1:], a[:-1]
        m = (p > 0) & (q > 0) & (p != q)
        pairs |= set(zip(np.minimum(p[m], q[m]).tolist(), np.maximum(p[m], q[m]).tolist()))
    return pairs


def test_types_shape_and_voxel_size(sample):
    assert isinstance(sample, SampleVolume)
    assert sample.image.shape == sample.labels.shape == SMALL
    assert sample.image.dtype == np.uint16
    assert sample.labels.dtype == np.int32
    assert sample.voxel_size == (2.0, 0.5, 0.5)
    assert sample.labels.min() == 0


def test_frozen(sample):
    with pytest.raises(AttributeError):
        sample.image = None


def test_same_seed_is_byte_identical():
    a, b = make_sample(SMALL, seed=3), make_sample(SMALL, seed=3)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.regions == b.regions


def test_other_seed_differs():
    a, b = make_sample(SMALL, seed=0), make_sample(SMALL, seed=1)
    assert not np.array_equal(a.image, b.image)
    assert not np.array_equal(a.labels, b.labels)
    assert a.regions == b.regions  # the layout depends on the shape only


def test_regions_are_valid_boxes(sample):
    assert REGION_KEYS <= set(sample.regions)
    for name, (lo, hi) in sample.regions.items():
        assert len(lo) == len(hi) == 3, name
        assert all(isinstance(v, int) for v in (*lo, *hi)), name
        assert all(0 <= a < b <= n for a, b, n in zip(lo, hi, SMALL)), name


def test_regions_scale_with_shape():
    small = make_sample((16, 32, 64)).regions
    assert small["dense"] == ((0, 0, 0), (16, 16, 32))
    assert small["empty"] == ((0, 16, 32), (16, 24, 48))


def test_dense_has_more_objects_than_sparse(sample):
    dense = crop(sample.labels, sample.regions["dense"])
    sparse = crop(sample.labels, sample.regions["sparse"])
    assert (dense > 0).mean() > 5 * (sparse > 0).mean()
    assert (dense > 0).mean() > 0.15
    n_dense = np.unique(dense[dense > 0]).size / dense.size
    n_sparse = np.unique(sparse[sparse > 0]).size / sparse.size
    assert n_dense > 3 * n_sparse
    assert np.unique(sparse[sparse > 0]).size >= 1
    assert (sparse == 0).mean() > 0.9


def test_low_snr_has_lowest_contrast(sample):
    low = contrast(crop(sample.image, sample.regions["low_snr"]),
                   crop(sample.labels, sample.regions["low_snr"]))
    assert low < 2.0
    for name in ("dense", "sparse", "edge"):
        other = contrast(crop(sample.image, sample.regions[name]),
                         crop(sample.labels, sample.regions[name]))
        assert other > 2 * low, name
    # the nuclei are still there, just hard to see
    assert low > 0
    assert (crop(sample.labels, sample.regions["low_snr"]) > 0).mean() > 0.05


def pixel_noise(image, labels):
    """Noise level of background voxels away from nuclei, from differences along x."""
    d = np.diff(image.astype(np.float64), axis=2)
    far = ~ndi.binary_dilation(labels > 0, iterations=3)
    bg = far[..., 1:] & far[..., :-1]
    return d[bg].std() / np.sqrt(2)


def test_low_snr_background_is_noisier(sample):
    low = pixel_noise(crop(sample.image, sample.regions["low_snr"]),
                      crop(sample.labels, sample.regions["low_snr"]))
    for name in ("empty", "sparse"):
        other = pixel_noise(crop(sample.image, sample.regions[name]),
                            crop(sample.labels, sample.regions[name]))
        assert low > 3 * other, name


def test_saturated_band(sample):
    band = crop(sample.image, sample.regions["saturated"])
    assert (band == np.iinfo(np.uint16).max).all()
    assert not crop(sample.labels, sample.regions["saturated"]).any()
    # the stripe is a band, thin in y compared with the volume
    (_, y0, _), (_, y1, _) = sample.regions["saturated"]
    assert y1 - y0 <= SMALL[1] // 8
    # nowhere else is saturated
    outside = sample.image.copy()
    outside[tuple(slice(a, b) for a, b in zip(*sample.regions["saturated"]))] = 0
    assert outside.max() < np.iinfo(np.uint16).max


def test_blank_slab_is_constant(sample):
    slab = crop(sample.image, sample.regions["blank"])
    assert slab.size > 0
    assert slab.min() == slab.max() == 0
    assert not crop(sample.labels, sample.regions["blank"]).any()
    # the cell around the slab holds nuclei, so the slab is a real gap
    (z0, y0, x0), (z1, y1, x1) = sample.regions["blank"]
    assert sample.labels[:z0, y0:y1, x0:x1].any() or sample.labels[z1:, y0:y1, x0:x1].any()


def test_empty_region_has_no_nuclei(sample):
    assert not crop(sample.labels, sample.regions["empty"]).any()
    empty = crop(sample.image, sample.regions["empty"]).astype(float)
    assert empty.min() > 0  # background offset, not a blank
    dense = crop(sample.image, sample.regions["dense"]).astype(float)
    assert np.percentile(empty, 99.9) < np.percentile(dense, 90)


def test_nuclei_brighter_than_background(sample):
    for name in ("dense", "sparse", "edge"):
        image = crop(sample.image, sample.regions[name]).astype(float)
        labels = crop(sample.labels, sample.regions[name])
        assert np.median(image[labels > 0]) > 3 * np.median(image[labels == 0]), name


def test_touching_pairs_exist(sample):
    pairs = touching_pairs(sample.labels)
    assert len(pairs) >= 3
    dense = crop(sample.labels, sample.regions["dense"])
    assert len(touching_pairs(dense)) >= 3


def test_instances_are_connected_and_not_tiny(sample):
    sizes = np.bincount(sample.labels.ravel())
    ids = np.flatnonzero(sizes[1:]) + 1
    assert ids.size > 50
    for i, sl in enumerate(ndi.find_objects(sample.labels), start=1):
        if sl is None:
            continue
        _, n = ndi.label(sample.labels[sl] == i)
        assert n == 1, f"instance {i} has {n} parts"
    assert sizes[ids].min() >= 5


def test_edge_region_has_cut_objects(sample):
    labels = sample.labels
    (z0, y0, x0), (z1, y1, x1) = sample.regions["edge"]
    # nuclei planted on the outer y and x faces of the edge cell are cut there:
    # their extent across the face is clearly shorter than along it
    for axis, face in ((1, labels[z0:z1, -1, x0:x1]), (2, labels[z0:z1, y0:y1, -1])):
        ids = np.unique(face[face > 0])
        assert ids.size >= 1, f"no object on face {axis}"
        objects = ndi.find_objects(labels)
        ratios = []
        for i in ids:
            sl = objects[i - 1]
            across, along = sl[axis], sl[3 - axis]
            ratios.append((across.stop - across.start) / (along.stop - along.start))
        assert min(ratios) < 0.8, (axis, ratios)


def test_default_shape():
    s = make_sample()
    assert s.image.shape == s.labels.shape == SAMPLE_SHAPE == (96, 384, 384)
    assert s.regions["dense"] == ((0, 0, 0), (96, 192, 192))
    assert s.regions["empty"] == ((0, 192, 192), (96, 288, 288))
    assert len(touching_pairs(crop(s.labels, s.regions["dense"]))) >= 20
    assert s.labels.max() > 1000


@pytest.mark.parametrize(
    "shape, match",
    [
        ((24, 96), "3 positive integers"),
        ((24, 96, 96, 1), "3 positive integers"),
        ((0, 96, 96), "3 positive integers"),
        ((-24, 96, 96), "3 positive integers"),
        ((24.0, 96, 96), "3 positive integers"),
        ((True, 96, 96), "3 positive integers"),
        ("abc", "3 positive integers"),
        (None, "3 positive integers"),
        (24, "3 positive integers"),
        ((8, 96, 96), "too small"),
        ((24, 96, 15), "at least 16"),
    ],
)
def test_bad_shape_raises(shape, match):
    with pytest.raises(ValueError, match=match):
        make_sample(shape)


def test_numpy_integer_shape_is_accepted():
    s = make_sample(np.array([16, 32, 32]))
    assert s.image.shape == (16, 32, 32)
