"""The advisor's answers on one small synthetic case per problem type, and its bounded reading."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_patchwise.engine.advise import AdviseRequest, run_advise
from napari_patchwise.engine.advise.decide import BOX_RANGES, MIN_ACROSS
from napari_patchwise.engine.plan.boxfit import fit_box_size
from napari_patchwise.engine.plan.presets import get_preset

from advise_cases import balls, cells, image_of, membrane_image, tree


def _advise(image, labels=None, spacing=(1.0, 1.0, 1.0), **kw):
    return run_advise(AdviseRequest(image, spacing, labels=labels, **kw))


def test_compact_separated_blobs_are_stardist_with_no_problem():
    lab = balls()
    a = _advise(image_of(lab), lab)
    assert a.problems == ("none",)
    assert a.recommend == "stardist"
    assert a.difficulty == "moderate" and BOX_RANGES["moderate"][0] <= a.boxes <= BOX_RANGES["moderate"][1]
    assert a.measures.objects.touching_fraction == 0
    assert a.measures.objects.star_convex_fraction == 1


def test_compact_blobs_without_labels_are_found_by_threshold():
    lab = balls()
    a = _advise(image_of(lab))
    assert a.measures.objects.source == "threshold"
    assert a.measures.objects.n_objects == int(lab.max())
    assert a.recommend == "stardist" and a.problems == ("none",)


def test_touching_irregular_cells_are_a_boundary_problem_for_cellpose():
    lab = cells()
    a = _advise(membrane_image(lab), lab)
    assert "boundary" in a.problems and "topology" not in a.problems
    assert a.recommend == "cellpose"
    assert a.measures.snr_from == "label boundaries"
    assert a.measures.objects.touching_fraction == 1
    assert a.measures.objects.star_convex_fraction < 0.8   # merged pairs of cells are not star-convex
    assert max(a.magnification) <= 2                        # their boundaries must stay sharp


def test_thin_branching_tubes_are_a_topology_problem_for_nnunet():
    mask = tree()
    a = _advise(image_of(mask), mask.astype(np.uint8) * 5)   # one instance id
    assert "topology" in a.problems
    assert a.recommend == "nnunet"
    o = a.measures.objects
    assert o.slenderness > 10 and o.branching_fraction == 1
    assert 3.0 <= o.thickness[1] <= 5.0     # digital tubes of radius 2: 3 to 5 voxels across


def test_a_binary_mask_is_semantic_and_goes_to_nnunet():
    lab = balls()
    a = _advise(image_of(lab), lab > 0)
    assert a.measures.objects.source == "mask" and a.measures.objects.touching_fraction is None
    assert a.recommend == "nnunet"


def test_heavy_noise_is_an_snr_problem_with_the_most_boxes():
    lab = balls()
    a = _advise(image_of(lab, contrast=10.0, noise=25.0), lab)
    assert "snr" in a.problems
    assert a.measures.snr == pytest.approx(10 / 25, rel=0.2)
    assert a.recommend == "nnunet"
    assert a.difficulty == "extreme" and BOX_RANGES["extreme"][0] <= a.boxes <= BOX_RANGES["extreme"][1]


def test_heavy_noise_without_labels_is_an_snr_problem():
    lab = balls()
    a = _advise(image_of(lab, contrast=10.0, noise=25.0))
    assert "snr" in a.problems


def test_moderate_noise_is_snr_but_keeps_the_shape_trainer():
    lab = balls()
    a = _advise(image_of(lab, contrast=20.0, noise=10.0), lab)
    assert a.problems == ("snr",)
    assert a.recommend == "stardist" and a.difficulty == "difficult"


def test_magnification_keeps_the_smallest_objects_a_few_voxels_across_and_box_follows_boxfit():
    lab = balls(shape=(96, 192, 192), radius=9, spacing_apart=32)
    vs = (1.0, 0.5, 0.5)
    a = _advise(image_of(lab), lab, vs)
    smallest = a.measures.objects.thickness[0]
    assert smallest == pytest.approx(19 * 0.5 - 0.5, abs=1.0)   # balls 19 voxels (9.5 units) wide
    for v, m in zip(vs, a.magnification):
        assert smallest / (v * m) >= MIN_ACROSS
        assert smallest / (v * m * 2) < MIN_ACROSS or m * 2 > 16
    assert a.magnification == (2, 4, 4)
    assert a.box_size == fit_box_size(get_preset(a.preset), lab.shape, a.magnification, vs).size


def test_anisotropy_and_foreground_fraction():
    lab = np.zeros((20, 40, 40), np.uint8)
    lab[5:15, 10:30, 10:30] = 1
    a = _advise(image_of(lab), lab, (2.0, 0.5, 0.5))
    assert a.measures.anisotropy == 4.0
    assert a.measures.foreground_fraction == pytest.approx(10 * 20 * 20 / (20 * 40 * 40))


class _Guarded:
    """An array that refuses to be read beyond a voxel budget in one slice."""

    def __init__(self, data, budget):
        self.data, self.budget, self.reads = data, budget, []
        self.shape, self.dtype, self.ndim = data.shape, data.dtype, data.ndim

    def __getitem__(self, key):
        block = self.data[key]
        assert block.size <= self.budget, f"read {block.shape}, more than {self.budget} voxels"
        self.reads.append(block.shape)
        return block

    def __array__(self, *a, **k):
        raise AssertionError("the whole volume was loaded")


def test_a_large_volume_is_read_as_one_bounded_block():
    lab = balls(shape=(64, 192, 192))
    budget = 40 * 96 * 96
    img, labels = _Guarded(image_of(lab), budget), _Guarded(lab, budget)
    a = _advise(img, labels, max_voxels=budget)
    assert len(img.reads) == 1 and len(labels.reads) == 1
    assert math.prod(a.measures.sample) <= budget
    assert a.recommend == "stardist"


def test_bad_requests_name_the_problem():
    with pytest.raises(ValueError, match="3D"):
        AdviseRequest(np.zeros((4, 4)), (1, 1, 1))
    with pytest.raises(ValueError, match="labels have shape"):
        AdviseRequest(np.zeros((4, 4, 4)), (1, 1, 1), labels=np.zeros((4, 4, 5)))
    with pytest.raises(ValueError, match="fractions"):
        _advise(np.zeros((4, 8, 8)), np.full((4, 8, 8), 0.5))


def test_an_empty_image_has_no_objects_and_says_so():
    a = _advise(np.zeros((40, 40, 40), np.float32))
    assert a.measures.objects is None
    assert a.magnification == (1, 1, 1)
    assert any("no objects" in r for r in a.reasons)
