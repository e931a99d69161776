"""Each advisor measure against a case small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_patchwise.engine.advise.decide import (box_count, coarsest_magnification, limit_for_boundaries,
                                                   problem_types)
from napari_patchwise.engine.advise.job import split_apart
from napari_patchwise.engine.advise.objects import as_instances, measure_objects, weighted_median
from napari_patchwise.engine.advise.sample import sample_region
from napari_patchwise.engine.advise.shape import centre, elongation, skeleton_measures, star_convexity, thickness
from napari_patchwise.engine.advise.snr import boundary_mask, noise_sigma, signal_to_noise


def _ball(r, pad=2):
    n = 2 * r + 1 + 2 * pad
    zz, yy, xx = np.indices((n, n, n)) - (r + pad)
    return zz ** 2 + yy ** 2 + xx ** 2 <= r ** 2


@pytest.mark.parametrize("sd", [1.0, 7.5])
def test_noise_of_white_noise_is_its_standard_deviation(sd):
    img = np.random.default_rng(3).normal(100, sd, (16, 64, 64))
    assert noise_sigma(img, np.zeros(img.shape, int)) == pytest.approx(sd, rel=0.05)


@pytest.mark.parametrize("contrast, sd", [(30.0, 3.0), (5.0, 10.0)])
def test_signal_to_noise_is_contrast_over_noise(contrast, sd):
    rng = np.random.default_rng(4)
    fg = np.zeros((16, 48, 48), bool)
    fg[4:12, 12:36, 12:36] = True
    img = rng.normal(50, sd, fg.shape) + contrast * fg
    assert signal_to_noise(img, fg, ~fg) == pytest.approx(contrast / sd, rel=0.1)


def test_noiseless_and_empty_cases():
    fg = np.zeros((2, 4, 4), bool)
    fg[:, :, :2] = True
    assert signal_to_noise(fg * 10.0, fg, ~fg) == math.inf
    assert math.isnan(signal_to_noise(np.ones(fg.shape), fg, np.zeros_like(fg)))


def test_boundary_mask_marks_both_sides_of_a_contact():
    lab = np.zeros((1, 1, 8), int)
    lab[..., 1:4], lab[..., 4:7] = 1, 2
    assert boundary_mask(lab)[0, 0].tolist() == [False, True, False, True, True, False, True, False]


@pytest.mark.parametrize("r", [3, 6])
def test_ball_thickness_and_diameter(r):
    lab = _ball(r).astype(np.uint8)
    m = measure_objects(lab, (1.0, 1.0, 1.0))
    assert thickness(lab > 0) == pytest.approx(2 * math.sqrt(r * r + 1))   # the nearest outside voxel
    assert 2 * r <= thickness(lab > 0) <= 2 * r + 1
    assert m.diameter[1] == pytest.approx((6 * lab.sum() / math.pi) ** (1 / 3))
    assert m.diameter[1] == pytest.approx(2 * r, rel=0.05)   # a ball of the same volume


def test_sizes_are_physical():
    cube = np.ones((4, 8, 8), bool)
    assert thickness(cube, (2.0, 1.0, 1.0)) == 8.0   # 8 units thick along each axis
    m = measure_objects(np.pad(cube, 1).astype(np.uint8), (2.0, 1.0, 1.0))
    assert m.diameter[1] == pytest.approx((6 * 4 * 8 * 8 * 2 / math.pi) ** (1 / 3))


def test_star_convexity_of_a_ball_a_u_and_a_shell():
    assert star_convexity(_ball(5)) == 1.0
    u = np.zeros((3, 12, 12), bool)
    u[:, 1:11, 1:3] = u[:, 1:11, 9:11] = u[:, 9:11, 1:11] = True
    assert 0.2 < star_convexity(u) < 0.8
    shell = _ball(6) & ~np.pad(_ball(4), 2)
    assert shell[centre(shell)] and star_convexity(shell) < 0.5   # rays from inside the wall


def test_elongation_of_a_cube_a_rod_and_a_disc():
    assert elongation(np.ones((5, 5, 5), bool)) == pytest.approx(1.0)
    assert elongation(np.ones((3, 3, 30), bool)) == pytest.approx(10.0, rel=0.01)
    assert elongation(np.ones((1, 10, 10), bool)) == pytest.approx(1.0)


def test_branch_points_of_a_rod_a_t_and_a_comb():
    rod = np.zeros((5, 5, 40), bool)
    rod[1:4, 1:4, 2:38] = True
    comb = np.zeros((5, 30, 60), bool)
    comb[1:4, 2:5, 2:58] = True
    for x in (10, 30, 50):
        comb[1:4, 2:28, x - 1:x + 2] = True
    assert skeleton_measures(rod)[0] == 0
    assert skeleton_measures(comb)[0] == 3      # each tooth meets the spine away from its ends
    assert skeleton_measures(rod)[1] == pytest.approx(36, abs=4)


def test_touching_fraction_and_fragments():
    lab = np.zeros((10, 10, 40), np.uint16)
    lab[2:7, 2:7, 2:7], lab[2:7, 2:7, 7:12] = 1, 2   # touching
    lab[2:7, 2:7, 20:25], lab[2:7, 2:7, 30:35] = 3, 4  # apart
    lab[0, 0, 39] = 5                                  # a one-voxel fragment: left out
    m = measure_objects(lab, (1.0, 1.0, 1.0))
    assert m.n_objects == 4 and m.touching_fraction == 0.5


def test_split_apart_finds_watershed_neighbours_only():
    ids = np.zeros((1, 3, 12), np.uint32)
    ids[0, :, :4], ids[0, :, 5:8], ids[0, :, 10:] = 1, 2, 3
    fg = np.ones(ids.shape, bool)
    fg[0, :, 8:10] = False   # 2 and 3 are apart; 1 and 2 are split by column 4
    assert split_apart(ids, fg).tolist() == [1, 2]


def test_instances_from_labels_and_from_a_mask():
    lab = np.zeros((3, 3, 9), np.int64)
    lab[1, 1, :3], lab[1, 1, 5:] = 1000, 7
    ids, source = as_instances(lab)
    assert source == "labels" and sorted(np.unique(ids)) == [0, 1, 2]
    ids, source = as_instances(lab.astype(bool))
    assert source == "mask" and ids.max() == 2
    with pytest.raises(ValueError, match="negative"):
        as_instances(-lab)


def test_weighted_median_counts_volume():
    assert weighted_median([1.0, 50.0], [1, 3]) == 50.0
    assert math.isnan(weighted_median([], []))


def test_sample_region_is_bounded_centred_and_physically_cubic():
    region = sample_region((400, 2000, 2000), (4.0, 1.0, 1.0), max_voxels=1 << 20)
    size = [s.stop - s.start for s in region]
    assert math.prod(size) <= 1 << 20
    assert size[1] == size[2] and abs(size[0] * 4 - size[1]) <= 4
    assert region[1].start == (2000 - size[1]) // 2


def test_coarsest_magnification_per_axis():
    assert coarsest_magnification(8.0, (1.0, 1.0, 1.0)) == (2, 2, 2)
    assert coarsest_magnification(8.0, (2.0, 0.5, 0.5)) == (1, 4, 4)
    assert coarsest_magnification(3.0, (1.0, 1.0, 1.0)) == (1, 1, 1)
    assert coarsest_magnification(1000.0, (1.0, 1.0, 1.0)) == (16, 16, 16)


def test_a_boundary_problem_keeps_the_magnification_at_most_2():
    assert limit_for_boundaries((1, 4, 4), ["snr", "boundary"]) == (1, 2, 2)
    assert limit_for_boundaries((1, 4, 4), ["topology"]) == (1, 4, 4)


def test_problem_types_from_measures():
    assert problem_types(0.5, None)[0] == ["snr"]
    assert problem_types(10.0, None)[0] == ["none"]


@pytest.mark.parametrize("problems, snr, difficulty", [
    (["none"], 10.0, "moderate"), (["boundary"], 10.0, "difficult"), (["boundary", "topology"], 10.0, "difficult"),
    (["snr"], 0.5, "extreme")])
def test_box_count_by_difficulty_within_its_range(problems, snr, difficulty):
    ranges = {"moderate": (5, 10), "difficult": (10, 30), "extreme": (30, 50)}
    for size in [(16, 16, 16), (64, 64, 64), (200, 200, 200)]:
        n, got, _ = box_count(problems, snr, size)
        assert got == difficulty
        assert ranges[difficulty][0] <= n <= ranges[difficulty][1]
