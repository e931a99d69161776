"""The variation of information reproduces the values shipped with gala's FIB-SEM test crop
(../shared/data/fibsem_gala/vi-results.npy: rows ws, seg1, seg4; columns H(gt|seg), H(seg|gt))."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.evaluate import EvaluateRequest, evaluate, split_merge_vi
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.project import create_project

PREDICTIONS = ("ws", "seg1", "seg4")  # the rows of vi-results.npy


def _read(folder, name):
    h5py = pytest.importorskip("h5py")
    with h5py.File(folder / f"test-{name}.lzf.h5", "r") as f:
        return f["stack"][()]


@pytest.fixture(scope="module")
def gala(shared_data):
    folder = shared_data / "fibsem_gala"
    expected = np.load(folder / "vi-results.npy")
    return folder, _read(folder, "gt"), expected


@pytest.mark.parametrize("row, name", list(enumerate(PREDICTIONS)))
def test_vi_of_the_whole_crop_is_the_shipped_value(gala, row, name):
    folder, gt, expected = gala
    split, merge = split_merge_vi(_read(folder, name), gt)
    assert (merge, split) == pytest.approx(tuple(expected[row]), abs=1e-6)


def test_evaluate_on_a_project_reproduces_the_shipped_values_from_its_boxes(gala, tmp_path):
    folder, gt, expected = gala
    z, y, x = gt.shape  # (50, 100, 200), 10 nm voxels
    plan = Plan(ImageRef(gt.shape, dtype="uint8", voxel_size=(10.0, 10.0, 10.0), unit="nanometer",
                         path=str(folder / "test-image.h5")),
                classes=(ClassSpec("neurons", "instance"),))
    # four boxes tiling the crop: the pooled VI is that of every voxel
    plan = plan.add_boxes([((0, 0, 0), (z, y // 2, x // 2)), ((0, 0, x // 2), (z, y // 2, x)),
                           ((0, y // 2, 0), (z, y, x // 2)), ((0, y // 2, x // 2), (z, y, x))])
    project = create_project(tmp_path / "fib", plan)
    group = open_annotations(project)
    group["neurons"][...] = gt.astype(np.uint32)
    group["background"][...] = (gt == 0).astype(np.uint8)
    for row, name in enumerate(PREDICTIONS):
        result = evaluate(EvaluateRequest(project, folder / f"test-{name}.lzf.h5")).to_dict()
        overall = result["overall"]
        assert (overall["vi_merge"], overall["vi_split"]) == pytest.approx(tuple(expected[row]), abs=1e-6)
        assert len(result["boxes"]) == 4 and overall["voxels"] == gt.size
    # the watershed fragments over-segment: many more splits than the agglomerations
    ws, seg1 = (evaluate(EvaluateRequest(project, folder / f"test-{n}.lzf.h5")).to_dict()["overall"]
                for n in ("ws", "seg1"))
    assert ws["splits"] > seg1["splits"] and ws["precision"] < seg1["precision"]
