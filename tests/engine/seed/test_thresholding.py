"""Thresholding boxes: overlapping boxes seeded as one region, and the preview is what Apply writes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.seed.run import seed_boxes
from napari_patchwise.engine.plan.box_arrays import box_region
from napari_patchwise.engine.seed.weaklabels import largest_parts
from napari_patchwise.engine.plan.annotation_store import annotation_layers
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.engine.seed.weaklabels import SeedParams

# the dense quarter of a (24, 96, 96) sample is y, x < 48: boxes overlapping there, and a third apart
# in the sparse quarter (y < 48, x >= 48)
OVERLAPPING = [((0, 0, 0), (24, 32, 32)), ((0, 16, 16), (24, 48, 48)), ((0, 8, 56), (24, 40, 88))]
SIDE_BY_SIDE = [((0, 0, 0), (24, 48, 24)), ((0, 0, 24), (24, 48, 48))]  # sharing the face x = 24


def _project(tmp_path, sample, boxes, mag=(1, 1, 1)):
    plan = Plan(ImageRef(sample.image.shape, voxel_size=sample.voxel_size), magnification=mag,
                classes=(ClassSpec("nuclei"),)).add_boxes(boxes)
    folder = create_project(tmp_path / "p", plan)
    return plan, open_annotations(folder)


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2)])
def test_overlapping_boxes_leave_no_touching_pair(tmp_path, sample, mag):
    plan, group = _project(tmp_path, sample, OVERLAPPING, mag)
    plan, report = seed_boxes(plan, group, sample.image)
    nuclei = annotation_layers(group, plan)["nuclei"][:]
    assert len(np.unique(nuclei)) > 10  # dense nuclei were seeded
    assert len(find_contacts(nuclei).pairs()) == 0
    assert [b.status for b in plan.boxes] == ["seeded"] * 3


def test_an_object_across_two_boxes_keeps_one_id(tmp_path, sample):
    plan, group = _project(tmp_path, sample, SIDE_BY_SIDE)
    plan, report = seed_boxes(plan, group, sample.image)
    assert report.groups == [[1, 2]] and "seeded together" in report.summary()
    nuclei = annotation_layers(group, plan)["nuclei"][:]
    left, right = nuclei[:, :48, 23], nuclei[:, :48, 24]
    across = (left > 0) & (right > 0)
    assert across.sum() > 20  # objects do cross the face between the boxes
    np.testing.assert_array_equal(left[across], right[across])
    assert len(find_contacts(nuclei).pairs()) == 0
    # inside each box (one training crop) every id is still one connected part
    for b in plan.boxes:
        crop = nuclei[box_region(plan, b)]
        np.testing.assert_array_equal(largest_parts(crop), crop)


@pytest.mark.parametrize("boxes", [OVERLAPPING, SIDE_BY_SIDE])
def test_the_summary_counts_each_object_once(tmp_path, sample, boxes):
    """An object in two boxes seeded together is one object: the summary said more objects than
    the layer holds (783 on the demo's 759)."""
    plan, group = _project(tmp_path, sample, boxes)
    plan, report = seed_boxes(plan, group, sample.image)
    nuclei = annotation_layers(group, plan)["nuclei"][:]
    distinct = len(np.unique(nuclei[nuclei > 0]))
    assert sum(b["objects"] for b in report.boxes.values()) > distinct  # some are in two boxes
    assert report.objects == distinct
    assert f": {distinct} nuclei objects" in report.summary()


def _written(group, plan, box):
    layers = annotation_layers(group, plan)
    sl = box_region(plan, box)
    return np.asarray(layers["nuclei"][sl]), np.asarray(layers["background"][sl]) > 0


def _same_partition(a, b):
    """Same voxels labelled, and the ids map one to one."""
    np.testing.assert_array_equal(a > 0, b > 0)
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


@pytest.mark.parametrize("options", [
    {},
    {"per_box_threshold": True},
    {"params": SeedParams(method="li", object_diameter=9.0)},
    {"params": SeedParams(method="local", block_size=12.0, offset=-20.0)},
])
def test_preview_equals_apply(tmp_path, sample, options):
    from napari_patchwise.engine.seed.thresholding import preview_box

    plan, group = _project(tmp_path, sample, OVERLAPPING, (1, 2, 2))
    previews = {b.id: preview_box(plan, sample.image, b.id, **options) for b in plan.boxes}
    seeded, report = seed_boxes(plan, group, sample.image, **options)
    for box in plan.boxes:
        seeds, setup = previews[box.id]
        labels, background = _written(group, plan, box)
        assert seeds.n_objects > 0
        _same_partition(seeds.labels, labels)
        np.testing.assert_array_equal(seeds.background, background)
        assert setup.params == report.params and setup.threshold == report.threshold
    assert report.params.object_diameter > 0 and report.params.smooth is not None


def test_preview_refuses_boxes_it_cannot_seed(sample):
    from napari_patchwise.engine.seed.thresholding import preview_box

    plan = Plan(ImageRef(sample.image.shape, voxel_size=sample.voxel_size),
                magnification=(1, 2, 2)).add_boxes([((0, 0, 0), (24, 32, 32)), ((0, 1, 0), (24, 33, 32))])
    with pytest.raises(ValueError, match="box 2 cannot be seeded: not on the magnification grid"):
        preview_box(plan, sample.image, 2)
    with pytest.raises(ValueError, match="not among the chosen boxes"):
        preview_box(plan, sample.image, 1, box_ids=[2])
    with pytest.raises(ValueError, match="plan was made for"):
        preview_box(plan, sample.image[:10], 1)


def test_the_report_names_the_diameter_and_the_derived_lengths(tmp_path, sample):
    plan, group = _project(tmp_path, sample, OVERLAPPING[:1])
    _, estimated = seed_boxes(plan, group, sample.image)
    assert estimated.estimate is not None and estimated.estimate.diameter == estimated.params.object_diameter
    assert "(estimated)" in estimated.summary() and "smoothing sigma" in estimated.summary()
    _, given = seed_boxes(plan, group, sample.image, params=SeedParams(object_diameter=7.5, smooth=0.0))
    assert given.estimate is None and given.params.smooth == 0.0
    assert "object diameter 7.5 (given)" in given.summary()


def test_touching_boxes_join_only_while_their_region_stays_compact():
    from napari_patchwise.engine.geometry.box import Box
    from napari_patchwise.engine.seed.thresholding import box_groups

    row = [Box(i + 1, (0, 0, 16 * i), (16, 16, 16 * (i + 1))) for i in range(4)]  # side by side
    assert [[b.id for b in g] for g in box_groups(row)] == [[1, 2, 3, 4]]
    # a staircase of boxes touching corner to corner would be read as a large cube: kept apart
    stairs = [Box(i + 1, (16 * i,) * 3, (16 * (i + 1),) * 3) for i in range(4)]
    assert [[b.id for b in g] for g in box_groups(stairs)] == [[1], [2], [3], [4]]
    # overlapping boxes are always seeded together, however far their region reaches
    overlap = [Box(1, (0, 0, 0), (16, 16, 16)), Box(2, (8, 8, 8), (64, 24, 24))]
    assert [[b.id for b in g] for g in box_groups(overlap)] == [[1, 2]]


def test_a_chain_of_touching_boxes_across_a_volume_is_not_read_as_one_region(tmp_path, monkeypatch):
    """Seeding a staircase of boxes reads each box, never the cube they span."""
    from napari_patchwise.engine.seed import thresholding as threshold_seeding

    sample = make_sample((64, 128, 128))
    plan = Plan(ImageRef(sample.image.shape, "uint16", sample.voxel_size), classes=(ClassSpec("nuclei"),))
    plan = plan.add_boxes([((16 * i, 32 * i, 32 * i), (16 * (i + 1), 32 * (i + 1), 32 * (i + 1)))
                           for i in range(4)])
    seen = []
    real = threshold_seeding.image_at_mag

    def spy(image, box, mag):
        seen.append(box.nvoxels)
        return real(image, box, mag)

    folder = create_project(tmp_path / "p", plan)
    monkeypatch.setattr(threshold_seeding, "image_at_mag", spy)
    seed_boxes(plan, open_annotations(folder, plan), sample.image, params=SeedParams(object_diameter=6.0))
    assert max(seen) == 16 * 32 * 32  # one box at a time, never the 64×128×128 they span
