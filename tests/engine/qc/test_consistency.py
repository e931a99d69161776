"""Consistency findings across a project's images: voxel sizes, units, dtypes, intensities, domains."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_patchwise.engine.qc.consistency import (
    INTENSITY_THRESHOLD,
    ImageProfile,
    consistency_findings,
    intensity_profile,
)


def _gauss(seed, shape=(8, 64, 64), loc=100.0, scale=10.0, dtype=np.uint16):
    return np.clip(np.random.default_rng(seed).normal(loc, scale, shape), 0, None).astype(dtype)


def _sparse(seed, shape=(8, 64, 64)):
    """Dark background with a few bright spots: a skewed distribution (fluorescent nuclei)."""
    img = np.random.default_rng(seed).normal(10, 2, shape)
    img[:, :8, :8] += 500
    return np.clip(img, 0, None).astype(np.uint16)


def _profile(name, image, voxel=(10, 10, 10), unit="nanometer", domain=None, known=True):
    return ImageProfile(name, voxel, unit, np.dtype(image.dtype).name, intensity_profile(image), domain, known)


def codes(findings):
    return [(f.finding.code, f.images) for f in findings]


def test_equal_images_have_no_findings():
    profiles = [_profile(n, _gauss(i)) for i, n in enumerate("abc")]
    assert consistency_findings(profiles) == ()


def test_a_different_voxel_size_is_named_with_how_far_per_axis():
    a = _profile("fib", _gauss(0), (10, 10, 10), "nanometer")
    b = _profile("fib2", _gauss(1), (0.01, 0.01, 0.01), "micrometer")  # the same size in another unit
    c = _profile("embryo", _gauss(2), (2.18, 1, 1), "micrometer")
    found = consistency_findings([a, b, c])
    assert codes(found) == [("voxel-size-differs", ("embryo", "fib"))]
    msg = found[0].finding.message
    assert "embryo is 2.18x1x1 micrometer, fib is 10x10x10 nanometer" in msg
    assert "218x coarser in z, 100x coarser in y and x" in msg
    assert "Resample to a common voxel size" in msg and "--set-domain" in msg
    assert found[0].finding.severity == "warning" and found[0].finding.box_id is None


def test_voxel_sizes_within_tolerance_do_not_differ():
    a = _profile("a", _gauss(0), (10, 10, 10))
    b = _profile("b", _gauss(1), (10.3, 10, 10))
    assert consistency_findings([a, b]) == ()


def test_pixel_units_are_not_compared_with_physical_ones_and_unknown_sizes_not_at_all():
    a = _profile("a", _gauss(0), (10, 10, 10))
    b = _profile("b", _gauss(1), (2.18, 1, 1), "pixel")
    c = _profile("c", _gauss(2), (1, 1, 1), "pixel", known=False)
    assert codes(consistency_findings([a, b, c])) == [
        ("voxel-size-not-compared", ("c",)), ("unit-differs", ("a", "b"))]


def test_a_different_dtype_is_named_with_its_bit_depth():
    a = _profile("a", _gauss(0, dtype=np.uint8))
    b = _profile("b", _gauss(1, dtype=np.uint8))
    c = _profile("c", _gauss(2, dtype=np.uint16))
    found = consistency_findings([a, b, c])
    assert codes(found) == [("dtype-differs", ("c", "a"))]
    assert "c is uint16 (16-bit unsigned integer), a is uint8 (8-bit unsigned integer)" in found[0].finding.message
    assert "Normalise intensities per image" in found[0].finding.message


def test_intensities_far_apart_after_normalisation_are_reported():
    profiles = [_profile("a", _gauss(0)), _profile("b", _gauss(1, loc=3000, scale=400)),
                _profile("spots", _sparse(2))]
    found = consistency_findings(profiles)
    # a scaled and shifted copy normalises to the same distribution: only the skewed one differs
    assert codes(found) == [("intensity-differs", ("spots", "a"))]
    assert f"> {INTENSITY_THRESHOLD:g}" in found[0].finding.message


def test_the_threshold_is_the_callers():
    profiles = [_profile("a", _gauss(0)), _profile("spots", _sparse(2))]
    assert consistency_findings(profiles, intensity_threshold=100.0) == ()


def test_images_of_different_domains_are_not_compared_but_the_domains_are_said():
    a = _profile("em", _gauss(0, dtype=np.uint8), (10, 10, 10), domain="em")
    b = _profile("lm", _sparse(1), (2, 0.5, 0.5), "micrometer", domain="lm")
    found = consistency_findings([a, b])
    assert codes(found) == [("domains", ("em", "lm"))]
    assert "2 domains (em: em; lm: lm)" in found[0].finding.message
    assert found[0].finding.severity == "info"
    # within one domain they are compared, and the finding says which domain
    c = _profile("em2", _gauss(2, dtype=np.uint16), (30, 10, 10), domain="em")
    found = consistency_findings([a, b, c])
    assert [c for c, _ in codes(found)] == ["domains", "voxel-size-differs", "dtype-differs"]
    assert all("(domain em)" in f.finding.message for f in found[1:])


def test_intensity_profile_reads_a_bounded_sample_lazily():
    img = da.from_array(_gauss(0, shape=(40, 300, 300)), chunks=(1, 300, 300))
    p = intensity_profile(img, max_planes=4, max_plane_voxels=10_000)
    assert p.voxels <= 4 * 10_000 and p.voxels > 4 * 5_000
    assert p.p1 < p.p50 < p.p99 and 95 < p.p50 < 105
    with pytest.raises(ValueError, match="3D image"):
        intensity_profile(np.zeros((4, 4)))
