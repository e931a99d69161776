"""Shared fixtures: small synthetic volumes, the chain sample -> plan -> project -> seeded project,
the real volumes in ../shared/data, simulated mouse drags."""

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


@pytest.fixture(scope="session")
def _small_volume_data():
    rng = np.random.default_rng(1)
    img = rng.normal(100, 10, (48, 160, 160))
    zz, yy, xx = np.mgrid[:48, :160, :160]
    for cz, cy, cx in rng.integers((4, 10, 10), (44, 150, 150), size=(30, 3)):
        img[(zz - cz) ** 2 / 9 + ((yy - cy) ** 2 + (xx - cx) ** 2) / 36 < 1] += 400
    return img.clip(0, 65535).astype(np.uint16)


@pytest.fixture
def small_volume(_small_volume_data):
    """A 48×160×160 uint16 volume with bright blobs on a noisy background (a copy the test may change)."""
    return _small_volume_data.copy()


#: The chain sample -> plan -> project -> seeded project: a small synthetic nuclei stack (dense
#: quarter at y, x < 48), two boxes on it, the project folder, and the project seeded by Otsu.
SAMPLE_SHAPE = (24, 96, 96)
SAMPLE_BOXES = [((0, 0, 0), (24, 48, 48)), ((0, 48, 48), (24, 96, 96))]


@pytest.fixture(scope="session")
def sample():
    """A (24, 96, 96) synthetic nuclei stack with its ground truth (read only: it is shared)."""
    from napari_patchwise.engine import make_sample

    s = make_sample(SAMPLE_SHAPE, seed=1)
    s.image.flags.writeable = False
    s.labels.flags.writeable = False
    return s


@pytest.fixture(scope="session")
def sample_plan(sample):
    """A plan of :func:`sample` (class ``nuclei``, magnification 1) with the two :data:`SAMPLE_BOXES`
    (a ``custom`` preset whose minimum they meet, so only annotation findings block their export)."""
    from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset

    ref = ImageRef(sample.image.shape, str(sample.image.dtype), sample.voxel_size, path="image.tif", name="nuclei")
    preset = get_preset("custom", minimum=(16, 32, 32))
    return Plan(ref, preset, classes=(ClassSpec("nuclei"),)).add_boxes(SAMPLE_BOXES)


def _copy_project(template: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(template, tmp_path / template.name))


@pytest.fixture(scope="session")
def _sample_project_template(tmp_path_factory, sample, sample_plan) -> Path:
    from napari_patchwise.engine import create_project, write_tiff

    folder = create_project(tmp_path_factory.mktemp("template") / "sample_project", sample_plan)
    write_tiff(folder / "image.tif", sample.image, sample.voxel_size)
    return folder


@pytest.fixture
def sample_project(tmp_path, _sample_project_template) -> Path:
    """The project of :func:`sample_plan` (``image.tif`` inside, nothing painted): a copy in
    ``tmp_path`` the test may change."""
    return _copy_project(_sample_project_template, tmp_path)


@pytest.fixture(scope="session")
def _seeded_project_template(tmp_path_factory, _sample_project_template, sample) -> Path:
    from napari_patchwise.engine import open_project, save_plan, seed_boxes

    folder = _copy_project(_sample_project_template, tmp_path_factory.mktemp("template"))
    plan, group = open_project(folder)
    plan, _ = seed_boxes(plan, group, sample.image)
    save_plan(folder, plan)
    return folder


@pytest.fixture
def seeded_project(tmp_path, _seeded_project_template) -> Path:
    """:func:`sample_project` with weak labels seeded in both boxes (Otsu, default parameters):
    a copy in ``tmp_path`` the test may change."""
    return _copy_project(_seeded_project_template, tmp_path)


#: Boxes of :func:`annotated_project` (full-resolution corners); box 3 holds touching nuclei.
ANNOTATED_BOXES = [((0, 0, 0), (16, 32, 32)), ((0, 0, 48), (16, 32, 80)), ((0, 48, 0), (16, 80, 32)),
                   ((8, 48, 48), (24, 80, 80))]


@pytest.fixture
def annotated_project(tmp_path, _annotated_project_template):
    """A project with four painted boxes: two nuclei and background in each (box 2 leaves its
    last two planes unannotated), the two nuclei of box 3 touching (an error finding).
    Returns the project folder (a copy in ``tmp_path`` the test may change)."""
    return _copy_project(_annotated_project_template, tmp_path)


@pytest.fixture(scope="session")
def _annotated_project_template(tmp_path_factory, _small_volume_data) -> Path:
    from napari_patchwise.engine import ImageRef, Plan, get_preset
    from napari_patchwise.engine.io.tiff_write import write_tiff
    from napari_patchwise.engine.plan.project import create_project
    from napari_patchwise.engine.plan.annotation_store import open_annotations

    image = _small_volume_data[:24, :96, :96]
    voxel = (2.0, 0.5, 0.5)
    plan = Plan(ImageRef(image.shape, "uint16", voxel, path="image.tif", name="blobs"),
                get_preset("custom", minimum=(16, 32, 32))).add_boxes(ANNOTATED_BOXES)
    folder = create_project(tmp_path_factory.mktemp("template") / "annotated", plan)
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
