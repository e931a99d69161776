"""Shared fixtures: small synthetic volumes, the real volumes in ../shared/data, simulated mouse drags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

#: Real labelled volumes shared beside the repository (see ../shared/data/README.md).
SHARED_DATA = Path(os.environ.get("PATCHWISE_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real volumes, ``../shared/data``; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real volumes not found at {SHARED_DATA} (set PATCHWISE_SHARED_DATA)")
    return SHARED_DATA


@dataclass
class _MouseEvent:
    """Fields napari's layer mouse callbacks read from a vispy event."""

    type: str
    position: tuple = (0.0, 0.0, 0.0)  # world coordinates
    is_dragging: bool = False
    button: int = 1
    modifiers: list = field(default_factory=list)
    pos: np.ndarray = field(default_factory=lambda: np.zeros(2))
    view_direction: list | None = None
    up_direction: list | None = None
    dims_displayed: list = field(default_factory=lambda: [1, 2])
    dims_point: list | None = None
    delta: tuple | None = None
    native: object = None
    handled: bool = False


@pytest.fixture
def mouse_drag():
    """Drag on a layer from ``start`` to ``end`` (world coordinates), like a person would.

    napari's drag callbacks are generators that keep reading the event object
    of the press, so every event is wrapped in a proxy whose target is
    swapped as the mouse moves.
    """
    import wrapt
    from napari.utils.interactions import (
        mouse_move_callbacks,
        mouse_press_callbacks,
        mouse_release_callbacks,
    )

    def ev(**kw):
        return wrapt.ObjectProxy(_MouseEvent(**kw))

    def drag(layer, start, end, steps=5, during=None):
        """``during()``, when given, runs after the last move, before the button is released."""
        start, end = np.asarray(start, float), np.asarray(end, float)
        mouse_press_callbacks(layer, ev(type="mouse_press", position=tuple(start)))
        for t in np.linspace(0, 1, steps + 1)[1:]:
            p = tuple(start + t * (end - start))
            mouse_move_callbacks(layer, ev(type="mouse_move", is_dragging=True, position=p))
        if during is not None:
            during()
        mouse_release_callbacks(layer, ev(type="mouse_release", position=tuple(end)))

    return drag


@pytest.fixture
def small_volume():
    """A 48×160×160 uint16 volume with bright blobs on a noisy background."""
    rng = np.random.default_rng(1)
    img = rng.normal(100, 10, (48, 160, 160))
    zz, yy, xx = np.mgrid[:48, :160, :160]
    for cz, cy, cx in rng.integers((4, 10, 10), (44, 150, 150), size=(30, 3)):
        img[(zz - cz) ** 2 / 9 + ((yy - cy) ** 2 + (xx - cx) ** 2) / 36 < 1] += 400
    return img.clip(0, 65535).astype(np.uint16)


#: Boxes of :func:`annotated_project` (full-resolution corners); box 3 holds touching nuclei.
ANNOTATED_BOXES = [((0, 0, 0), (16, 32, 32)), ((0, 0, 48), (16, 32, 80)), ((0, 48, 0), (16, 80, 32)),
                   ((8, 48, 48), (24, 80, 80))]


@pytest.fixture
def annotated_project(tmp_path, small_volume):
    """A project with four painted boxes: two nuclei and background in each (box 2 leaves its
    last two planes unannotated), the two nuclei of box 3 touching (an error finding).
    Returns the project folder."""
    from napari_patchwise.engine import ImageRef, Plan, get_preset
    from napari_patchwise.engine.io.volumes import write_tiff
    from napari_patchwise.engine.plan.project import create_project, open_annotations

    image = small_volume[:24, :96, :96]
    voxel = (2.0, 0.5, 0.5)
    plan = Plan(ImageRef(image.shape, "uint16", voxel, path="image.tif", name="blobs"),
                get_preset("custom", minimum=(16, 32, 32))).add_boxes(ANNOTATED_BOXES)
    folder = create_project(tmp_path / "annotated", plan)
    write_tiff(folder / "image.tif", image, voxel)
    group = open_annotations(folder, plan)
    for box in plan.boxes:
        region = box.slices(plan.magnification)
        ids = np.zeros(tuple(s.stop - s.start for s in region), np.uint32)
        ids[4:10, 4:12, 4:12] = 10 * box.id + 1
        ids[4:10, 4:12, (12 if box.id == 3 else 16):24] = 10 * box.id + 2
        group["nuclei"][region] = ids
        background = (ids == 0).astype(np.uint8)
        if box.id == 2:  # its last two planes are left unannotated
            background[-2:] = 0
        group["background"][region] = background
    return folder
