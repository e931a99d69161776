"""Small synthetic projects for the scan tests: a lattice of equal balls, a few of them annotated in boxes,
and predictions that are right except where a test puts a known failure."""

from __future__ import annotations

import numpy as np

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project

SHAPE = (16, 96, 128)
BOX = (16, 32, 32)
#: Annotated boxes (full-resolution corners).
BOXES = (((0, 0, 0), (16, 32, 32)), ((0, 64, 96), (16, 96, 128)))


def balls(shape=SHAPE, spacing=12, radius=4, radii=None) -> np.ndarray:
    """Instance labels: balls of ``radius`` (or of ``radii`` in turn) on a lattice, ids 1..N in raster order."""
    labels = np.zeros(shape, np.int64)
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    next_id = 1
    for cy in range(spacing // 2, shape[1], spacing):
        for cx in range(spacing // 2, shape[2], spacing):
            r = radius if radii is None else radii[(next_id - 1) % len(radii)]
            ball = (z - shape[0] // 2) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= r ** 2
            labels[ball] = next_id
            next_id += 1
    return labels


def make_plan(truth: np.ndarray, boxes=BOXES, magnification=(1, 1, 1)) -> Plan:
    plan = Plan(ImageRef(truth.shape, voxel_size=(1.0, 1.0, 1.0)), magnification=magnification,
                box_size=tuple(b // m for b, m in zip(BOX, magnification)))
    return plan.add_boxes(boxes)


def make_project(folder, truth: np.ndarray, boxes=BOXES, magnification=(1, 1, 1)):
    """A project of one image of ``truth``'s shape, ``truth`` painted in ``boxes``."""
    plan = make_plan(truth, boxes, magnification)
    project = create_project(folder, plan)
    paint(project, plan, truth)
    return project, plan


def paint(project, plan, truth, image=None):
    group = open_annotations(project, image=image)
    m = plan.magnification
    grid = truth[::m[0], ::m[1], ::m[2]]
    for box in plan.boxes:
        r = box.slices(m)
        group["nuclei"][r] = grid[r].astype(np.uint32)
        group["background"][r] = (grid[r] == 0).astype(np.uint8)


def overlaps(lo, hi, box_lo, box_hi) -> bool:
    return all(a < d and c < b for a, b, c, d in zip(lo, hi, box_lo, box_hi))
