"""The scan on gala's FIB-SEM test crop (../shared/data/fibsem_gala): the ground truth annotated in three
boxes, agglomeration seg1 as the prediction and seg4 as a second one. The regions proposed are where seg1
is worse than on average: their variation of information against the ground truth is above the mean of
every region of the same size off the boxes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.evaluate import split_merge_vi
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.scan import ScanRequest, scan_failures
from scan_cases import overlaps

BOX = (25, 40, 40)
BOXES = (((0, 0, 0), (25, 40, 40)), ((25, 60, 80), (50, 100, 120)), ((0, 30, 160), (25, 70, 200)))


def _read(folder, name):
    h5py = pytest.importorskip("h5py")
    with h5py.File(folder / f"test-{name}.lzf.h5", "r") as f:
        return f["stack"][()]


@pytest.fixture(scope="module")
def gala(shared_data, tmp_path_factory):
    folder = shared_data / "fibsem_gala"
    gt, seg1 = _read(folder, "gt"), _read(folder, "seg1")
    plan = Plan(ImageRef(gt.shape, dtype="uint8", voxel_size=(10.0, 10.0, 10.0), unit="nanometer",
                         path=str(folder / "test-image.h5")),
                classes=(ClassSpec("neurons", "instance"),), box_size=BOX).add_boxes(BOXES)
    project = create_project(tmp_path_factory.mktemp("gala") / "fib", plan)
    group = open_annotations(project)
    for box in plan.boxes:
        r = box.slices()
        group["neurons"][r] = gt[r].astype(np.uint32)
        group["background"][r] = (gt[r] == 0).astype(np.uint8)
    return folder, project, gt, seg1


def _vi(seg, gt, lo, hi) -> float:
    region = tuple(slice(a, b) for a, b in zip(lo, hi))
    split, merge = split_merge_vi(seg[region], gt[region])
    return split + merge


def _windows_off_boxes(shape):
    for z in range(0, shape[0] - BOX[0] + 1, 5):
        for y in range(0, shape[1] - BOX[1] + 1, 10):
            for x in range(0, shape[2] - BOX[2] + 1, 10):
                lo = (z, y, x)
                hi = tuple(a + b for a, b in zip(lo, BOX))
                if not any(overlaps(lo, hi, blo, bhi) for blo, bhi in BOXES):
                    yield lo, hi


def test_regions_flagged_by_two_agglomerations_are_where_seg1_is_worse(gala):
    folder, project, gt, seg1 = gala
    result = scan_failures(ScanRequest(project, folder / "test-seg1.lzf.h5", folder / "test-seg4.lzf.h5", n=3))
    assert len(result.regions) == 3
    for r in result.regions:
        assert r.hi[0] - r.lo[0] == BOX[0] and not any(overlaps(r.lo, r.hi, lo, hi) for lo, hi in BOXES)
    assert result.regions[0].kind == "uncertainty" and "the two predictions differ on" in result.regions[0].reason
    baseline = np.mean([_vi(seg1, gt, lo, hi) for lo, hi in _windows_off_boxes(gt.shape)])
    found = [_vi(seg1, gt, r.lo, r.hi) for r in result.regions]
    assert np.mean(found) > 1.2 * baseline  # measured: 0.587 bits against 0.449
    assert max(found) > 1.5 * baseline


def test_one_agglomeration_alone_is_scanned_and_says_what_it_could_not_judge(gala):
    folder, project, gt, seg1 = gala
    result = scan_failures(ScanRequest(project, folder / "test-seg1.lzf.h5", n=5))
    assert len(result.regions) == 5
    assert all(not any(overlaps(r.lo, r.hi, lo, hi) for lo, hi in BOXES) for r in result.regions)
    # seg1 merges and splits annotated neurons in the boxes; the regions say which object runs on where
    assert any("merges" in r.reason or "pieces of an annotated object" in r.reason for r in result.regions)
    assert any("labels every voxel" in n for n in result.notes)
    assert any("reach the faces of their boxes" in n for n in result.notes)
