"""Tests for the synthetic nuclei sample (``napari_patchwise.engine.samples.nuclei``)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_patchwise.engine.samples.rare import RARE_SHAPE, make_rare_sample
from napari_patchwise.engine.samples.nuclei import (
    SAMPLE_SHAPE,
    SampleVolume,
    make_sample,
)

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


# ---------------------------------------------------------------- rare sample
RARE_SMALL = (32, 256, 256)
_MAX16 = np.iinfo(np.uint16).max


@pytest.fixture(scope="module", params=[0, 1, 7], ids=lambda s: f"seed{s}")
def rare(request):
    return make_rare_sample(RARE_SMALL, seed=request.param)


def region_mask(shape, *boxes):
    mask = np.zeros(shape, bool)
    for box in boxes:
        mask[tuple(slice(a, b) for a, b in zip(*box))] = True
    return mask


def background_mask(sample):
    """Voxels outside every region and outside the blank slab's patch."""
    (_, y0, x0), (_, y1, x1) = sample.regions["blank"]
    patch = ((0, y0, x0), (sample.image.shape[0], y1, x1))
    return ~region_mask(sample.image.shape, patch, *sample.regions.values())


def objects_per_voxel(labels, mask):
    return np.unique(labels[mask & (labels > 0)]).size / np.count_nonzero(mask)


def test_rare_types_shape_and_voxel_size(rare):
    assert isinstance(rare, SampleVolume)
    assert rare.image.shape == rare.labels.shape == RARE_SMALL
    assert rare.image.dtype == np.uint16
    assert rare.labels.dtype == np.int32
    assert rare.voxel_size == (2.0, 0.5, 0.5)
    assert rare.labels.min() == 0


def test_rare_same_seed_is_byte_identical():
    a, b = make_rare_sample(RARE_SMALL, seed=3), make_rare_sample(RARE_SMALL, seed=3)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.labels.tobytes() == b.labels.tobytes()
    assert a.regions == b.regions


def test_rare_other_seed_differs():
    a, b = make_rare_sample(RARE_SMALL, seed=0), make_rare_sample(RARE_SMALL, seed=1)
    assert not np.array_equal(a.image, b.image)
    assert not np.array_equal(a.labels, b.labels)
    assert a.regions == b.regions  # the layout depends on the shape only


def test_rare_regions_inside_and_disjoint(rare):
    assert set(rare.regions) == REGION_KEYS
    boxes = list(rare.regions.items())
    for name, (lo, hi) in boxes:
        assert all(isinstance(v, int) for v in (*lo, *hi)), name
        assert all(0 <= a < b <= n for a, b, n in zip(lo, hi, RARE_SMALL)), name
    for i, (a, (alo, ahi)) in enumerate(boxes):
        for b, (blo, bhi) in boxes[i + 1:]:
            assert not all(p < s and q < r for p, r, q, s in zip(alo, ahi, blo, bhi)), (a, b)


def test_rare_regions_are_small_and_background_dominates(rare):
    vol = np.prod(RARE_SMALL)
    for name, (lo, hi) in rare.regions.items():
        assert np.prod(np.subtract(hi, lo)) < 0.05 * vol, name
    assert background_mask(rare).mean() > 0.6


def test_rare_default_shape_and_lattice():
    s = make_rare_sample()
    assert s.image.shape == RARE_SHAPE == (64, 512, 512)
    assert s.regions["dense"] == ((0, 37, 37), (64, 133, 133))
    assert s.regions["edge"] == ((0, 208, 416), (64, 304, 512))
    assert s.regions["blank"] == ((24, 379, 208), (40, 475, 304))
    # patches are about two 64³ boxes
    for name, (lo, hi) in s.regions.items():
        if name != "blank":
            assert 1.5 <= np.prod(np.subtract(hi, lo)) / 64**3 <= 2.5, name
    # dense, low_snr and sparse each hold a whole block of the 64-voxel lattice
    for name in ("dense", "low_snr", "sparse"):
        (_, y0, x0), (_, y1, x1) = s.regions[name]
        assert -(-y0 // 64) * 64 + 64 <= y1 and -(-x0 // 64) * 64 + 64 <= x1, name
    bg = background_mask(s)
    assert 0.05 < (s.labels[bg] > 0).mean() < 0.15
    assert objects_per_voxel(s.labels, bg) * 64**3 > 20  # a typical box holds many nuclei


def test_rare_saturated_only_in_its_patch(rare):
    sat = rare.image == _MAX16
    inside = region_mask(RARE_SMALL, rare.regions["saturated"])
    assert not sat[~inside].any()
    assert 0.01 < sat[inside].mean() < 0.5  # blobs in the patch, not the whole patch
    assert not rare.labels[sat].any()
    # ordinary nuclei around the blobs
    assert (rare.labels[inside] > 0).mean() > 0.03


def test_rare_blank_only_in_its_slab(rare):
    zero = rare.image == 0
    inside = region_mask(RARE_SMALL, rare.regions["blank"])
    assert zero[inside].all()
    assert not zero[~inside].any()
    assert not rare.labels[inside].any()
    # the patch around the slab holds nuclei above or below it, so the slab is a gap
    (z0, y0, x0), (z1, y1, x1) = rare.regions["blank"]
    assert rare.labels[:z0, y0:y1, x0:x1].any() or rare.labels[z1:, y0:y1, x0:x1].any()


def test_rare_low_snr_patch_is_noisier_and_dim(rare):
    low = rare.regions["low_snr"]
    noise_low = pixel_noise(crop(rare.image, low), crop(rare.labels, low))
    for name in ("empty", "sparse", "dense"):
        box = rare.regions[name]
        assert noise_low > 3 * pixel_noise(crop(rare.image, box), crop(rare.labels, box)), name
    c_low = contrast(crop(rare.image, low), crop(rare.labels, low))
    assert 0 < c_low < 2.0
    for name in ("dense", "edge"):
        box = rare.regions[name]
        assert contrast(crop(rare.image, box), crop(rare.labels, box)) > 2 * c_low, name
    assert (crop(rare.labels, low) > 0).mean() > 0.03  # the nuclei are there


def test_rare_dense_patch_is_densest(rare):
    labels = rare.labels
    bg = background_mask(rare)
    dense = region_mask(RARE_SMALL, rare.regions["dense"])
    assert objects_per_voxel(labels, dense) > 2 * objects_per_voxel(labels, bg)
    assert (labels[dense] > 0).mean() > 2 * (labels[bg] > 0).mean()
    for name in ("sparse", "low_snr", "saturated", "edge"):
        other = region_mask(RARE_SMALL, rare.regions[name])
        assert objects_per_voxel(labels, dense) > objects_per_voxel(labels, other), name
    assert len(touching_pairs(crop(labels, rare.regions["dense"]))) >= 3


def test_rare_sparse_and_empty_patches(rare):
    labels = rare.labels
    bg = background_mask(rare)
    sparse = crop(labels, rare.regions["sparse"])
    assert np.unique(sparse[sparse > 0]).size >= 1
    assert (sparse > 0).mean() < 0.3 * (labels[bg] > 0).mean()
    assert not crop(labels, rare.regions["empty"]).any()
    assert crop(rare.image, rare.regions["empty"]).min() > 0  # background, not blank


def test_rare_nuclei_stay_in_their_region(rare):
    labels = rare.labels
    for name in ("dense", "sparse", "low_snr", "saturated", "edge"):
        inside = region_mask(RARE_SMALL, rare.regions[name])
        ids_in = np.unique(labels[inside & (labels > 0)])
        ids_out = np.unique(labels[~inside & (labels > 0)])
        assert ids_in.size >= 1, name
        assert np.intersect1d(ids_in, ids_out).size == 0, name


def test_rare_only_edge_patch_has_cut_nuclei(rare):
    labels = rare.labels
    (_, y0, _), (_, y1, _) = rare.regions["edge"]
    faces = {"y0": labels[:, 0, :], "y1": labels[:, -1, :], "x0": labels[:, :, 0]}
    for name, face in faces.items():
        assert not face.any(), name
    face = labels[:, :, -1]
    assert not face[:, :y0].any() and not face[:, y1:].any()
    ids = np.unique(face[face > 0])
    assert ids.size >= 2
    objects = ndi.find_objects(labels)
    ratios = []
    for i in ids:
        sl = objects[i - 1]
        ratios.append((sl[2].stop - sl[2].start) / (sl[1].stop - sl[1].start))
    assert min(ratios) < 0.8, ratios


def test_rare_instances_are_connected_and_not_tiny(rare):
    sizes = np.bincount(rare.labels.ravel())
    ids = np.flatnonzero(sizes[1:]) + 1
    assert ids.size > 100
    for i, sl in enumerate(ndi.find_objects(rare.labels), start=1):
        if sl is None:
            continue
        _, n = ndi.label(rare.labels[sl] == i)
        assert n == 1, f"instance {i} has {n} parts"
    assert sizes[ids].min() >= 5


@pytest.mark.parametrize(
    "shape, match",
    [
        ((24, 96), "3 positive integers"),
        ((24.0, 256, 256), "3 positive integers"),
        ((8, 256, 256), "at least 16"),
        ((32, 64, 256), "at least 96"),
        ((32, 256, 95), "at least 96"),
    ],
)
def test_rare_bad_shape_raises(shape, match):
    with pytest.raises(ValueError, match=match):
        make_rare_sample(shape)


def test_rare_smallest_shape():
    s = make_rare_sample((16, 96, 96))
    assert s.image.shape == (16, 96, 96)
    assert (s.image == _MAX16).any() and (s.image == 0).any()
