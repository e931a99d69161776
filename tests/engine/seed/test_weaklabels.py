"""Weak labels: block means, thresholds, seeds (instances, background) and their rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

from napari_patchwise.engine.seed import thresholds
from napari_patchwise.engine.seed import weaklabels as wl
from napari_patchwise.engine.geometry.magnification import scaled_shape, voxel_size_at
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.geometry.resample import downsample_mean
from napari_patchwise.engine.seed.thresholds import (
    THRESHOLD_METHODS,
    compute_threshold,
    threshold_for_regions,
)
from napari_patchwise.engine.seed.weaklabels import (
    SeedParams,
    Seeds,
    physical_sigma,
    seed_region,
    smooth_physical,
)

SPACING = (2.0, 0.5, 0.5)


def _raw(**kwargs) -> SeedParams:
    """Parameters with every length given (no smoothing, no size filter, depth-based markers) unless
    set: the mechanics of seeding, without lengths derived from an object diameter."""
    return SeedParams(**{"smooth": 0.0, "min_size": 0, "min_distance": 0.0, **kwargs})


@pytest.fixture(scope="module")
def sample():
    return make_sample((24, 96, 96), seed=0)


def _crop(a, box):
    (z0, y0, x0), (z1, y1, x1) = box
    return a[z0:z1, y0:y1, x0:x1]


def _region(sample, name, mag=(1, 1, 1)):
    """Image region at ``mag`` (block mean), its spacing and ground truth sampled at block centres."""
    img, gt = _crop(sample.image, sample.regions[name]), _crop(sample.labels, sample.regions[name])
    mz, my, mx = mag
    return downsample_mean(img, mag), voxel_size_at(sample.voxel_size, mag), gt[mz // 2::mz, my // 2::my, mx // 2::mx]


def _dice(a, b):
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _matched(labels, gt):
    """Ground-truth objects matched one-to-one by an instance with IoU > 0.5."""
    lab, g = labels.astype(np.int64).ravel(), gt.astype(np.int64).ravel()
    pairs, inter = np.unique(np.stack([lab, g]), axis=1, return_counts=True)
    size_l, size_g = np.bincount(lab), np.bincount(g)
    ok = (pairs[0] > 0) & (pairs[1] > 0)
    iou = inter[ok] / (size_l[pairs[0][ok]] + size_g[pairs[1][ok]] - inter[ok])
    return int(np.count_nonzero(iou > 0.5))


def _touching_ids(labels):
    """Pairs of different non-zero ids that share a face."""
    out = set()
    for axis in range(labels.ndim):
        a, b = np.moveaxis(labels, axis, 0)[:-1], np.moveaxis(labels, axis, 0)[1:]
        clash = (a > 0) & (b > 0) & (a != b)
        out |= {tuple(sorted(p)) for p in zip(a[clash].tolist(), b[clash].tolist())}
    return out


def _check_rules(seeds: Seeds, spacing, params: SeedParams, instance=True):
    """What every output must satisfy, whatever the image."""
    lab, fg, bg = seeds.labels, seeds.foreground, seeds.background
    assert lab.dtype == np.uint32 and fg.dtype == bool and bg.dtype == bool
    assert lab.shape == fg.shape == bg.shape
    assert not _touching_ids(lab)
    assert not (bg & (lab > 0)).any()
    assert not ((lab > 0) & ~fg).any()  # instances lie in the foreground
    ids = np.unique(lab[lab > 0])
    if instance:
        assert seeds.n_objects == len(ids) and (len(ids) == 0 or ids[-1] == len(ids))  # 1..N
    else:
        assert seeds.n_objects == ndi.label(fg)[1] and lab.max() <= 1
    lines = bg & fg
    np.testing.assert_array_equal(lines, fg & (lab == 0))  # separating voxels are background
    outside = bg & ~fg
    near = ndi.binary_dilation(fg, structure=np.ones((3, 3, 3), bool))
    assert not (outside & near).any()  # at least one voxel away, even diagonally
    if params.background_distance > 0 and fg.any():
        dist = ndi.distance_transform_edt(~fg, sampling=spacing)
        assert (dist[outside] >= params.background_distance).all()


def _ellipsoid(shape, centre, radii, spacing=(1.0, 1.0, 1.0)):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) * s / r) ** 2 for g, c, r, s in zip(grids, centre, radii, spacing)) <= 1.0


def _two_touching_spheres(gap=0.0):
    """Two 3 um spheres in (2, 0.5, 0.5) voxels whose centres are ``6 + gap`` um apart in x."""
    shape = (9, 28, 52)
    a = _ellipsoid(shape, (4, 14, 14), (3.0, 3.0, 3.0), SPACING)
    b = _ellipsoid(shape, (4, 14, 14 + (6.0 + gap) / 0.5 * 0.9), (3.0, 3.0, 3.0), SPACING)
    img = np.full(shape, 100.0, np.float32)
    img[a | b] = 1000.0
    return img


# -- downsample_mean ------------------------------------------------------------


def _block_mean_reference(a, mag):
    out = np.empty(scaled_shape(a.shape, mag))
    for i, j, k in itertools.product(*(range(n) for n in out.shape)):
        block = a[i * mag[0]:(i + 1) * mag[0], j * mag[1]:(j + 1) * mag[1], k * mag[2]:(k + 1) * mag[2]]
        out[i, j, k] = block.astype(np.float64).mean()
    return out


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 2, 2), (3, 1, 2), (2, 3, 4), (4, 4, 4)])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64", "int16"])
@pytest.mark.parametrize("shape", [(4, 8, 8), (5, 7, 9), (1, 3, 10)])
def test_downsample_mean_matches_brute_force(mag, dtype, shape):
    rng = np.random.default_rng(1)
    a = (rng.random(shape) * 200).astype(dtype)
    out = downsample_mean(a, mag)
    assert out.dtype == np.float32
    assert out.shape == scaled_shape(shape, mag)
    np.testing.assert_allclose(out, _block_mean_reference(a, mag), rtol=1e-6, atol=1e-4)


def test_downsample_mean_partial_blocks_use_their_own_voxels():
    a = np.zeros((3, 3, 3), "uint16")
    a[2] = 90  # the last, one-plane block of mag 2 in z
    out = downsample_mean(a, 2)
    assert out.shape == (2, 2, 2)
    assert out[1].tolist() == [[90.0, 90.0], [90.0, 90.0]]
    assert out[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_downsample_mean_accepts_int_and_string_mag_and_copies():
    a = np.arange(16, dtype="uint16").reshape(1, 4, 4)
    np.testing.assert_array_equal(downsample_mean(a, 2), downsample_mean(a, (2, 2, 2)))
    np.testing.assert_array_equal(downsample_mean(a, "1,2,2"), downsample_mean(a, (1, 2, 2)))
    f = np.ones((2, 2, 2), np.float32)
    out = downsample_mean(f, 1)
    out[0, 0, 0] = 5
    assert f[0, 0, 0] == 1  # a copy, not a view


def test_downsample_mean_rejects_2d_and_bad_mag():
    with pytest.raises(ValueError, match="3D"):
        downsample_mean(np.zeros((4, 4)), 2)
    with pytest.raises(ValueError, match="positive"):
        downsample_mean(np.zeros((4, 4, 4)), (1, 0, 2))


# -- parameters -----------------------------------------------------------------


def test_defaults_are_valid():
    p = SeedParams()
    assert p.method == "otsu" and p.split and p.fill_holes
    assert set(THRESHOLD_METHODS) == {"otsu", "li", "yen", "triangle", "local", "manual"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "otsu2"}, "unknown threshold method 'otsu2'; use one of otsu, li, yen, triangle, local, manual"),
        ({"method": "manual"}, "method 'manual' needs a threshold"),
        ({"method": "manual", "threshold": float("nan")}, "threshold must be a finite number"),
        ({"smooth": -1}, "smooth must be a finite number >= 0"),
        ({"block_size": -3.0}, "block_size must be a finite number >= 0"),
        ({"min_distance": float("inf")}, "min_distance must be a finite number >= 0"),
        ({"background_distance": -0.5}, "background_distance must be a finite number >= 0"),
        ({"background_margin": -0.1}, "background_margin must be a finite number >= 0"),
        ({"background_margin": 1.5}, r"background_margin is a fraction of t - low in \[0, 1\]"),
        ({"offset": "a"}, "offset must be a number"),
        ({"min_size": -1}, "min_size must be a whole number of voxels >= 0"),
        ({"min_size": 2.5}, "min_size must be a whole number"),
        ({"min_size": True}, "min_size must be a whole number"),
    ],
)
def test_bad_params_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SeedParams(**kwargs)


def test_params_are_frozen():
    with pytest.raises(AttributeError):
        SeedParams().method = "li"  # type: ignore[misc]


# -- thresholds -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["otsu", "li", "yen", "triangle"])
def test_global_thresholds_fall_between_background_and_objects(method):
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(100, 10, 9000), rng.normal(1000, 50, 1000)]
    t = compute_threshold(values, method)
    assert isinstance(t, float)
    assert 115 < t < 850


@pytest.mark.parametrize("method", ["otsu", "li", "yen", "triangle"])
def test_global_thresholds_on_the_sample_separate_nuclei(sample, method):
    img, _, gt = _region(sample, "sparse")
    t = compute_threshold(img, method)
    assert np.median(img[gt == 0]) < t < np.median(img[gt > 0])


@pytest.mark.parametrize("method", ["otsu", "li", "yen", "triangle"])
def test_saturated_and_blank_voxels_do_not_pull_the_threshold(sample, method):
    img, _, gt = _region(sample, "sparse")
    spoiled = img.copy()
    spoiled[:, :2, :] = 65535  # a saturated band (about 4 %)
    spoiled[:2] = 0  # and blank planes
    t = compute_threshold(spoiled, method)
    assert np.median(img[gt == 0]) < t < np.median(img[gt > 0])


def test_two_level_images_keep_their_threshold():
    binary = np.zeros((4, 8, 8), "uint8")
    binary[1:3, 2:6, 2:6] = 255
    for method in ("otsu", "li", "yen", "triangle"):
        assert 0 <= compute_threshold(binary, method) < 255
    seeds = seed_region(binary, SPACING, _raw())
    np.testing.assert_array_equal(seeds.foreground, binary > 0)


def test_threshold_manual_local_and_errors():
    assert compute_threshold([1, 2, 3], "manual", threshold=7) == 7.0
    with pytest.raises(ValueError, match="needs a threshold"):
        compute_threshold([1, 2, 3], "manual")
    with pytest.raises(ValueError, match="no single global threshold"):
        compute_threshold([1, 2, 3], "local")
    with pytest.raises(ValueError, match="unknown threshold method 'mean'; use one of otsu"):
        compute_threshold([1, 2, 3], "mean")
    with pytest.raises(ValueError, match="no contrast: every intensity is 5.0"):
        compute_threshold(np.full((3, 4, 4), 5, "uint16"), "otsu")
    with pytest.raises(ValueError, match="empty or not finite"):
        compute_threshold([np.nan, np.inf], "otsu")


def test_threshold_ignores_non_finite_values():
    v = np.r_[np.zeros(50), np.full(50, 10.0), [np.nan, np.inf]]
    assert 0 <= compute_threshold(v, "otsu") < 10


def test_threshold_for_regions_pools_all_regions():
    rng = np.random.default_rng(3)
    a = rng.normal(100, 5, (4, 10, 10))
    b = rng.normal(500, 5, (3, 8, 12))
    both = np.r_[a.ravel(), b.ravel()]
    assert threshold_for_regions([a, b], "otsu") == pytest.approx(compute_threshold(both, "otsu"))
    t = threshold_for_regions([a, b], "otsu")
    assert (a < t).mean() > 0.99 and (b > t).all()
    assert compute_threshold(a, "otsu") < t  # one region alone would cut into its noise


def test_threshold_for_regions_subsamples_large_and_lazy_regions(monkeypatch, tmp_path):
    rng = np.random.default_rng(4)
    data = np.where(rng.random((16, 32, 32)) < 0.3, 1000, 100).astype("uint16")
    data = data + rng.integers(0, 20, data.shape).astype("uint16")
    z = zarr.create_array(store=str(tmp_path / "r.zarr"), shape=data.shape, dtype=data.dtype, chunks=(4, 32, 32))
    z[...] = data
    full = threshold_for_regions([data], "otsu")
    monkeypatch.setattr(thresholds, "_SAMPLE_VALUES", 1000)
    sub = threshold_for_regions([z, data[:5]], "otsu")
    assert data.max(where=data < 500, initial=0) <= sub < 1000
    assert data.max(where=data < 500, initial=0) <= full < 1000


def test_threshold_for_regions_manual_local_and_empty():
    assert threshold_for_regions([np.zeros((2, 2, 2))], "manual", threshold=3) == 3.0
    with pytest.raises(ValueError, match="no regions"):
        threshold_for_regions([np.zeros((0, 4, 4))], "otsu")
    with pytest.raises(ValueError, match="no single global threshold"):
        threshold_for_regions([np.zeros((2, 2, 2))], "local")


# -- smoothing ------------------------------------------------------------------


def test_physical_sigma_divides_by_the_spacing():
    assert physical_sigma(1.0, (2.0, 0.5, 0.25)) == (0.5, 2.0, 4.0)
    assert physical_sigma(0, SPACING) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="spacing must be three positive numbers"):
        physical_sigma(1.0, (1.0, 0.0, 1.0))


def test_smoothing_has_the_physical_sigma_along_every_axis():
    impulse = np.zeros((41, 61, 61), np.float32)
    impulse[20, 30, 30] = 1.0
    spacing = (1.0, 0.5, 0.25)
    out = smooth_physical(impulse, 2.0, spacing)
    assert out.sum() == pytest.approx(1.0, abs=1e-4)
    for axis, s in enumerate(spacing):
        profile = out.sum(axis=tuple(i for i in range(3) if i != axis))
        x = np.arange(profile.size) - profile.size // 2
        sigma_voxels = np.sqrt((profile * x**2).sum() / profile.sum())
        assert sigma_voxels * s == pytest.approx(2.0, rel=0.02)  # the same physical width


def test_seed_region_thresholds_the_physically_smoothed_image():
    rng = np.random.default_rng(5)
    img = rng.normal(100, 30, (8, 32, 32)).astype(np.float32)
    img[2:6, 8:24, 8:24] += 200
    params = _raw(method="manual", threshold=200.0, smooth=1.0, fill_holes=False, split=False)
    seeds = seed_region(img, SPACING, params)
    np.testing.assert_array_equal(seeds.foreground, smooth_physical(img, 1.0, SPACING) > 200.0)


def test_smoothing_helps_in_low_snr(sample):
    img, sp, gt = _region(sample, "low_snr")
    raw = seed_region(img, sp, _raw(min_size=20))
    smooth = seed_region(img, sp, _raw(smooth=0.5, min_size=20))
    assert _dice(smooth.foreground, gt > 0) > _dice(raw.foreground, gt > 0) + 0.2


# -- seeds on the sample --------------------------------------------------------


@pytest.mark.parametrize("method", ["otsu", "li"])
def test_seeds_recover_dense_nuclei(sample, method):
    img, sp, gt = _region(sample, "dense")
    seeds = seed_region(img, sp, _raw(method=method))
    n_gt = len(np.unique(gt)) - 1
    assert abs(seeds.n_objects - n_gt) <= 0.3 * n_gt  # measured: 160 (otsu), 141 (li) of 182
    assert _dice(seeds.foreground, gt > 0) > 0.85  # measured: 0.90, 0.95
    assert _matched(seeds.labels, gt) >= 0.45 * n_gt  # measured: 100, 120


@pytest.mark.parametrize("name", ["sparse", "edge"])
@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2)])
def test_seeds_recover_separate_nuclei(sample, name, mag):
    img, sp, gt = _region(sample, name, mag)
    seeds = seed_region(img, sp, _raw(min_size=5))
    n_gt = len(np.unique(gt)) - 1
    assert abs(seeds.n_objects - n_gt) <= 0.3 * n_gt
    assert _dice(seeds.foreground, gt > 0) > 0.8  # measured: 0.86-0.95
    assert _matched(seeds.labels, gt) >= 0.6 * n_gt  # measured: 67-93 %


def test_dense_seeds_at_a_magnification(sample):
    img, sp, gt = _region(sample, "dense", (1, 2, 2))
    seeds = seed_region(img, sp, _raw(method="li"))
    n_gt = len(np.unique(gt)) - 1
    assert abs(seeds.n_objects - n_gt) <= 0.4 * n_gt  # measured: 120 of 182
    assert _dice(seeds.foreground, gt > 0) > 0.8  # measured: 0.87


def test_confident_background_is_background(sample):
    img, sp, gt = _region(sample, "dense")
    seeds = seed_region(img, sp, _raw())
    assert seeds.background.mean() > 0.2
    assert np.mean(gt[seeds.background & ~seeds.foreground] > 0) < 0.05


def test_local_threshold_follows_uneven_illumination():
    shape = (9, 48, 96)
    rng = np.random.default_rng(0)
    img = np.zeros(shape, np.float32) + np.linspace(50, 2000, shape[2])[None, None, :]
    centres = [(4, 24, x) for x in (16, 48, 80)]
    for c in centres:  # three objects twice as bright as their surroundings
        img[_ellipsoid(shape, c, (2.5, 6, 6))] *= 2
    img += rng.normal(0, 10, shape)  # noise 10: an offset of -50 ignores it
    global_seeds = seed_region(img, SPACING, _raw(method="otsu"))
    assert global_seeds.labels[centres[0]] == 0  # the dim one is lost
    local = seed_region(img, SPACING, _raw(method="local", block_size=12.0, offset=-50.0, min_size=20))
    assert local.n_objects == 3
    assert sorted(int(local.labels[c]) for c in centres) == [1, 2, 3]
    assert 50 < local.threshold < 2100  # the mean local threshold
    _check_rules(local, SPACING, _raw())


def test_local_default_block_is_a_quarter_of_the_region_odd_and_clamped():
    assert wl._local_block((24, 48, 48), SPACING, 0.0) == (7, 25, 25)
    assert wl._local_block((4, 100, 100), (1.0, 1.0, 1.0), 0.0) == (3, 25, 25)
    assert wl._local_block((2, 100, 100), (1.0, 1.0, 1.0), 9.0) == (1, 9, 9)


# -- instances ------------------------------------------------------------------


def test_split_separates_two_touching_spheres():
    img = _two_touching_spheres()
    assert ndi.label(img > 500)[1] == 1  # they touch
    seeds = seed_region(img, SPACING, _raw(method="manual", threshold=500))
    assert seeds.n_objects == 2
    sizes = np.bincount(seeds.labels.ravel())[1:]
    assert sizes.min() > 0.8 * sizes.max()
    assert not _touching_ids(seeds.labels)
    _check_rules(seeds, SPACING, _raw())


def test_without_split_touching_spheres_stay_one_object():
    img = _two_touching_spheres()
    seeds = seed_region(img, SPACING, _raw(method="manual", threshold=500, split=False))
    assert seeds.n_objects == 1
    semantic = seed_region(img, SPACING, _raw(method="manual", threshold=500), instance=False)
    assert semantic.labels.max() == 1 and semantic.n_objects == 1
    np.testing.assert_array_equal(semantic.labels > 0, semantic.foreground)


def test_a_large_min_distance_keeps_touching_spheres_together():
    img = _two_touching_spheres()
    seeds = seed_region(img, SPACING, _raw(method="manual", threshold=500, min_distance=8.0))
    assert seeds.n_objects == 1


def _depth(fg, spacing):
    dist = ndi.distance_transform_edt(fg, sampling=spacing)
    comps, n = ndi.label(fg)
    depth = np.zeros(n + 1)
    np.maximum.at(depth, comps.ravel(), dist.ravel())
    return depth, comps


def test_default_min_distance_comes_from_spacing_and_object_depth():
    flat = np.zeros((5, 40, 40), bool)
    flat[1:4, 5:35, 5:35] = True  # depth 2: 1.5 coarsest voxels win
    assert wl._default_min_distance(*_depth(flat, (1.0, 1.0, 1.0)), (1.0, 1.0, 1.0)) == 1.5
    assert wl._default_min_distance(*_depth(flat, (2.0, 1.0, 1.0)), (2.0, 1.0, 1.0)) == 3.0
    cube = np.pad(np.ones((30, 30, 30), bool), 1)  # depth 7.5 (0.5 voxels): half of it wins
    depth, comps = _depth(cube, (0.5, 0.5, 0.5))
    assert wl._default_min_distance(depth, comps, (0.5, 0.5, 0.5)) == pytest.approx(0.5 * depth.max())
    specks = cube.copy()
    specks[0, ::2, ::2] = True  # many one-voxel objects hardly count: the median is by volume
    specks[0, 1::2, :] = specks[0, :, 1::2] = False
    depth, comps = _depth(specks, (0.5, 0.5, 0.5))
    assert len(depth) > 30  # more specks than cubes
    assert wl._default_min_distance(depth, comps, (0.5, 0.5, 0.5)) == pytest.approx(0.5 * depth.max())


@pytest.mark.parametrize("name", ["dense", "edge", "low_snr"])
@pytest.mark.parametrize("method", ["otsu", "local"])
@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 2, 2)])
def test_rules_hold_on_the_sample(sample, name, method, mag):
    img, sp, _ = _region(sample, name, mag)
    params = _raw(method=method, background_distance=3.0 if mag == (1, 2, 2) else 0.0)
    _check_rules(seed_region(img, sp, params), sp, params)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    shape=st.tuples(st.integers(1, 8), st.integers(2, 24), st.integers(2, 24)),
    spacing=st.tuples(*[st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0])] * 3),
    smooth=st.sampled_from([0.0, 1.0]),
    split=st.booleans(),
    instance=st.booleans(),
    background_distance=st.sampled_from([0.0, 1.0, 3.0]),
    method=st.sampled_from(["otsu", "li", "yen", "triangle", "local"]),
)
def test_rules_hold_on_random_blobs(seed, shape, spacing, smooth, split, instance, background_distance, method):
    rng = np.random.default_rng(seed)
    img = ndi.gaussian_filter(rng.random(shape), 1.5) + 0.01 * rng.random(shape)
    params = _raw(method=method, smooth=smooth, split=split, background_distance=background_distance)
    seeds = seed_region(img, spacing, params, instance=instance)
    _check_rules(seeds, spacing, params, instance)


def test_separation_clears_face_contacts_left_by_the_watershed():
    labels = np.zeros((1, 3, 4), np.int32)
    labels[0, :, :2] = 1
    labels[0, :, 2:] = 2
    labels[0, 0, 3] = 3
    out = wl._separate(labels.copy())
    assert not _touching_ids(out)
    assert (out == 1).sum() == 6  # the smaller id keeps its voxels


# -- background -----------------------------------------------------------------


def test_background_keeps_its_distance_and_margin():
    img = np.full((9, 40, 40), 100.0, np.float32)
    img[3:6, 15:25, 15:25] = 1000.0
    img[0, 0, 0] = 0.0
    params = _raw(method="manual", threshold=500.0, background_distance=4.0)
    seeds = seed_region(img, SPACING, params)
    _check_rules(seeds, SPACING, params)
    dist = ndi.distance_transform_edt(~seeds.foreground, sampling=SPACING)
    np.testing.assert_array_equal(seeds.background, dist >= 4.0)  # everything else is dark enough
    # low (1st percentile) = 100: margin 0.9 keeps what is below 140, margin 1 only the single 0
    loose = seed_region(img, SPACING, _raw(method="manual", threshold=500.0, background_margin=0.9))
    assert loose.background.sum() > 10_000
    strict = seed_region(img, SPACING, _raw(method="manual", threshold=500.0, background_margin=1.0))
    assert np.argwhere(strict.background).tolist() == [[0, 0, 0]]


def test_background_default_gap_is_one_voxel_even_diagonally():
    img = np.zeros((5, 9, 9), np.float32)
    img[2, 4, 4] = 10.0
    seeds = seed_region(img, (1.0, 1.0, 1.0), _raw(method="manual", threshold=5.0))
    assert seeds.foreground.sum() == 1
    gap = np.zeros_like(seeds.foreground)
    gap[1:4, 3:6, 3:6] = True
    np.testing.assert_array_equal(seeds.background, ~gap)


def test_watershed_lines_are_background(sample):
    img, sp, _ = _region(sample, "dense")
    seeds = seed_region(img, sp, _raw())
    lines = seeds.foreground & (seeds.labels == 0)
    assert lines.any()
    assert seeds.background[lines].all()


# -- cleaning -------------------------------------------------------------------


def test_holes_are_filled_in_3d_and_plane_by_plane_in_thin_regions():
    img = np.zeros((7, 15, 15), np.float32)
    img[1:6, 2:13, 2:13] = 100
    img[3, 6:9, 6:9] = 0  # an enclosed hole
    filled = seed_region(img, (1.0, 1.0, 1.0), _raw(method="manual", threshold=50, split=False))
    assert filled.foreground[3, 7, 7]
    kept = seed_region(img, (1.0, 1.0, 1.0), _raw(method="manual", threshold=50, fill_holes=False))
    assert not kept.foreground[3, 7, 7]
    thin = img[2:4].copy()
    thin[1, 6:9, 6:9] = 0
    seeds = seed_region(thin, (1.0, 1.0, 1.0), _raw(method="manual", threshold=50, split=False))
    assert seeds.foreground[1, 7, 7]


def test_min_size_removes_small_objects():
    img = np.zeros((5, 20, 20), np.float32)
    img[1:4, 2:10, 2:10] = 100  # 192 voxels
    img[2, 15, 15] = 100  # 1 voxel
    params = _raw(method="manual", threshold=50)
    assert seed_region(img, (1.0, 1.0, 1.0), params).n_objects == 2
    cleaned = seed_region(img, (1.0, 1.0, 1.0), _raw(method="manual", threshold=50, min_size=10))
    assert cleaned.n_objects == 1
    assert not cleaned.foreground[2, 15, 15]


# -- shared threshold and input checks -------------------------------------------


def test_a_shared_threshold_is_used_instead_of_the_region_one(sample):
    img, sp, _ = _region(sample, "sparse")
    seeds = seed_region(img, sp, _raw(), threshold=250.0)
    assert seeds.threshold == 250.0
    np.testing.assert_array_equal(seeds.foreground, ndi.binary_fill_holes(img > 250.0, ndi.generate_binary_structure(3, 1)))
    own = seed_region(img, sp, _raw())
    assert own.threshold == pytest.approx(compute_threshold(img, "otsu"), rel=0.02)
    with pytest.raises(ValueError, match="own threshold"):
        seed_region(img, sp, _raw(method="local"), threshold=250.0)


def test_a_constant_region_needs_a_shared_threshold():
    flat = np.full((4, 8, 8), 7.0)
    with pytest.raises(ValueError, match="no contrast"):
        seed_region(flat, SPACING, _raw())
    seeds = seed_region(flat, SPACING, _raw(), threshold=100.0)
    assert seeds.n_objects == 0 and not seeds.foreground.any()


def test_manual_threshold_and_integer_images():
    img = np.zeros((3, 10, 10), "uint16")
    img[1, 3:7, 3:7] = 300
    seeds = seed_region(img, SPACING, _raw(method="manual", threshold=150))
    assert seeds.threshold == 150.0 and seeds.n_objects == 1


@pytest.mark.parametrize(
    ("image", "spacing", "message"),
    [
        (np.zeros((8, 8)), SPACING, r"single plane: add a z axis"),
        (np.zeros((2, 2, 8, 8)), SPACING, r"a 3D \(z, y, x\) region is needed"),
        (np.zeros((0, 8, 8)), SPACING, "image is empty"),
        (np.zeros((2, 8, 8)), (1.0, 1.0), "spacing must be three positive numbers"),
        (np.zeros((2, 8, 8)), (1.0, -1.0, 1.0), r"voxel_size_at\(voxel_size, mag\)"),
        (np.zeros((2, 8, 8)), None, "spacing must be three positive numbers"),
    ],
)
def test_bad_inputs_say_how_to_fix_them(image, spacing, message):
    with pytest.raises(ValueError, match=message):
        seed_region(image, spacing, _raw())


def test_params_must_be_seed_params():
    with pytest.raises(ValueError, match="SeedParams"):
        seed_region(np.zeros((2, 4, 4)), SPACING, {"method": "otsu"})  # type: ignore[arg-type]
