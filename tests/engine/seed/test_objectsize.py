"""Object size: the estimate from the image, the lengths derived from it, and seeding with them."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile

from napari_patchwise.engine.seed.weaklabels import largest_parts
from napari_patchwise.engine.evaluate.metrics import match_instances
from napari_patchwise.engine.seed.objectsize import (
    MARKER_FRACTION,
    SMOOTH_FRACTIONS,
    choose_smoothing,
    derive_parameters,
    estimate_object_diameter,
    resolve_seed_params,
)
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.seed.weaklabels import SeedParams, seed_region

#: What seeding did before lengths were derived from the objects (the CLI's and the dock's defaults).
OLD_DEFAULTS = SeedParams(smooth=0.0, min_size=20, min_distance=0.0)


def _balls(spacing, diameter, centres, shape, noise=0.0, seed=0):
    zz, yy, xx = np.indices(shape)
    img = np.zeros(shape, np.float32)
    r = diameter / 2
    for c in centres:
        d2 = sum(((g - ci) * s) ** 2 for g, ci, s in zip((zz, yy, xx), c, spacing))
        img[d2 <= r * r] = 100
    rng = np.random.default_rng(seed)
    return img + rng.normal(0, noise, shape).astype(np.float32) if noise else img


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 0.5, 0.5), (0.3, 0.1, 0.1)])
@pytest.mark.parametrize("diameter_voxels", [10, 18])
def test_the_estimate_finds_the_diameter_of_balls_in_physical_units(spacing, diameter_voxels):
    diameter = diameter_voxels * spacing[2]
    shape = tuple(int(round(3.2 * diameter / s)) for s in spacing)
    centres = [tuple(f * n for f, n in zip(c, shape)) for c in ((0.5, 0.25, 0.25), (0.5, 0.25, 0.75),
                                                             (0.5, 0.75, 0.5))]
    est = estimate_object_diameter(_balls(spacing, diameter, centres, shape, noise=20.0), spacing)
    assert est.diameter == pytest.approx(diameter, rel=0.2)
    assert est.n_objects == 3 and 0 < est.thickness <= est.diameter * 1.2


def test_the_estimate_scales_with_the_voxel_size_and_ignores_the_magnification():
    sample = make_sample((48, 192, 192), seed=2)
    (z0, y0, x0), (z1, y1, x1) = sample.regions["sparse"]
    img = sample.image[z0:z1, y0:y1, x0:x1].astype(np.float32)
    base = estimate_object_diameter(img, sample.voxel_size).diameter
    # the same image said to have voxels twice as large: objects twice as large
    assert estimate_object_diameter(img, tuple(2 * s for s in sample.voxel_size)).diameter == \
        pytest.approx(2 * base, rel=0.05)
    # at a magnification (1, 2, 2): the same physical objects
    from napari_patchwise.engine.geometry.resample import downsample_mean

    coarse = downsample_mean(img, (1, 2, 2))
    spacing = (sample.voxel_size[0], 2 * sample.voxel_size[1], 2 * sample.voxel_size[2])
    assert estimate_object_diameter(coarse, spacing).diameter == pytest.approx(base, rel=0.2)


def test_touching_objects_are_measured_one_by_one():
    spacing = (1.0, 1.0, 1.0)
    centres = [(12, 12, 12 + 9 * i) for i in range(4)]  # a row of four touching balls
    est = estimate_object_diameter(_balls(spacing, 10.0, centres, (24, 24, 52)), spacing)
    assert est.diameter == pytest.approx(10.0, rel=0.2)


def test_an_image_without_objects_says_what_to_do():
    with pytest.raises(ValueError, match="no contrast"):
        estimate_object_diameter(np.full((8, 16, 16), 5.0), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="give the object diameter"):
        estimate_object_diameter(np.zeros((8, 16, 16)), (1.0, 1.0, 1.0), method="manual", threshold=1.0)
    with pytest.raises(ValueError, match="3D"):
        estimate_object_diameter([np.zeros((4, 4))], (1.0, 1.0, 1.0))


def test_derived_lengths_follow_the_diameter():
    a, b = derive_parameters(5.0, (1.0, 0.5, 0.5)), derive_parameters(10.0, (1.0, 0.5, 0.5))
    assert b.smooth == pytest.approx(2 * a.smooth) and b.min_distance == pytest.approx(2 * a.min_distance)
    assert b.min_distance == pytest.approx(MARKER_FRACTION * 10.0)
    assert b.min_size == pytest.approx(8 * a.min_size, rel=0.02)
    # voxels twice as large in every axis: an eighth of the voxels
    assert derive_parameters(10.0, (2.0, 1.0, 1.0)).min_size == pytest.approx(b.min_size / 8, abs=1)
    for bad in (0, -1, float("nan"), "x"):
        with pytest.raises(ValueError, match="positive number"):
            derive_parameters(bad, (1.0, 1.0, 1.0))


def test_noise_and_texture_get_more_smoothing():
    spacing = (1.0, 0.5, 0.5)
    clean = _balls(spacing, 6.0, [(8, 16, 16), (8, 16, 40), (8, 40, 28)], (16, 56, 56))
    noisy = clean + np.random.default_rng(3).normal(0, 60, clean.shape).astype(np.float32)
    assert choose_smoothing([clean], spacing, 6.0) == min(SMOOTH_FRACTIONS)
    assert choose_smoothing([noisy], spacing, 6.0) > min(SMOOTH_FRACTIONS)


def test_given_values_are_kept_and_only_the_rest_derived():
    img = _balls((1.0, 1.0, 1.0), 8.0, [(8, 8, 8), (8, 8, 24)], (16, 16, 32))
    p, est = resolve_seed_params(SeedParams(min_size=3), [img], (1.0, 1.0, 1.0))
    assert est is not None and p.object_diameter == est.diameter and p.min_size == 3
    assert p.smooth > 0 and p.min_distance == pytest.approx(MARKER_FRACTION * est.diameter)
    q, none = resolve_seed_params(SeedParams(object_diameter=12.0), [img], (1.0, 1.0, 1.0))
    assert none is None and q.object_diameter == 12.0 and q.min_distance == pytest.approx(MARKER_FRACTION * 12)
    full = SeedParams(smooth=0.0, min_size=0, min_distance=0.0)
    assert resolve_seed_params(full, [img], (1.0, 1.0, 1.0)) == (full, None)
    with pytest.raises(ValueError, match="object_diameter"):
        SeedParams(object_diameter=-2.0)


# -- the defaults on real nuclei (../shared/data) ------------------------------------
def _f1(img, gt, spacing, params):
    return match_instances(largest_parts(seed_region(img, spacing, params).labels), gt).f1


def test_defaults_on_well_separated_embryo_nuclei(shared_data):
    folder = shared_data / "nuclei_embryo_qcanet"
    img = tifffile.imread(folder / "8cell_raw.tif")
    gt = tifffile.imread(folder / "8cell_instances_cc.tif")
    spacing = (2.18, 1.0, 1.0)  # QCANet: x:y:z = 1:1:2.18, no voxel size in the file
    assert _f1(img, gt, spacing, OLD_DEFAULTS) < 0.3  # what the issue reported
    assert _f1(img, gt, spacing, SeedParams()) >= 0.8


def test_defaults_on_dense_noisy_ovule_nuclei(shared_data):
    with h5py.File(shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5", "r") as f:
        img, gt = f["raw"][:], f["label"][:]
        spacing = tuple(float(v) for v in f["raw"].attrs["element_size_um"])
    assert _f1(img, gt, spacing, OLD_DEFAULTS) < 0.05
    assert _f1(img, gt, spacing, SeedParams()) >= 0.35
