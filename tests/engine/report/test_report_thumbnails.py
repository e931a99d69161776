"""The worst boxes' planes: raw image, annotation and prediction line up, at any magnification."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.evaluate.prediction import open_prediction
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.report.thumbnails import box_planes


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 2, 1)])
def test_the_planes_of_a_box_line_up(tmp_path, mag):
    shape = (8, 24, 24)
    rng = np.random.default_rng(1)
    full = np.zeros(shape, np.uint32)
    for k in range(1, 7):  # blocks of the annotation grid, so that they survive the magnification
        z, y, x = rng.integers(0, 3, 3) * 2
        full[z:z + 2 * mag[0], y * 2:y * 2 + 4 * mag[1], x * 2:x * 2 + 4 * mag[2]] = k
    raw = (full > 0).astype(np.float32) * 100 + rng.random(shape).astype(np.float32)
    plan = Plan(ImageRef(shape, voxel_size=(1.0, 1.0, 1.0)), magnification=mag)
    plan, box = plan.add_box((0, 0, 0), shape)
    folder = create_project(tmp_path / "p", plan)
    grid = full[:: mag[0], :: mag[1], :: mag[2]]
    group = open_annotations(folder)
    group["nuclei"][...] = grid
    group["background"][...] = (grid == 0).astype(np.uint8)
    group["ignore"][:, :2, :] = 1
    layers = annotation_layers(open_annotations(folder, mode="r"), plan)
    np.save(tmp_path / "pred.npy", grid.astype(np.uint16) * 2)
    pred = open_prediction(tmp_path / "pred.npy", plan, "instances")
    z, img, ann, prd, masked = box_planes(raw, layers, plan, box, pred)
    assert z == (grid.shape[0] - 1) // 2
    assert img.shape == ann.shape == prd.shape == masked.shape == grid.shape[1:]
    np.testing.assert_array_equal(img > 50, grid[z] > 0)  # the raw plane is the annotated one
    np.testing.assert_array_equal(ann > 0, grid[z] > 0)
    np.testing.assert_array_equal(prd, grid[z] * 2)
    assert masked[:2].all() and not masked[2:].any()  # ignored rows shaded, the rest evaluated
