"""The project-folder reader, without a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._reader import get_reader
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io import write_tiff
from napari_patchwise.engine.project import create_project


@pytest.fixture
def project(tmp_path, small_volume):
    write_tiff(tmp_path / "vol.tif", small_volume, (2.0, 0.5, 0.5))
    plan = Plan(
        ImageRef(small_volume.shape, "uint16", (2.0, 0.5, 0.5), path=str(tmp_path / "vol.tif"), name="vol"),
        get_preset("custom", minimum=(8, 32, 32)),
        (1, 2, 2),
    )
    plan = plan.add_boxes([((0, 0, 0), (8, 64, 64)), ((8, 64, 64), (10, 96, 96))])
    return create_project(tmp_path / "proj", plan), plan


def test_reader_restores_image_boxes_and_annotation_layers(project, small_volume):
    folder, plan = project
    reader = get_reader(str(folder))
    assert reader is not None
    layers = reader(str(folder))
    kinds = [t for _, _, t in layers]
    assert kinds == ["image", "shapes", "labels", "labels", "labels"]
    image, img_kw, _ = layers[0]
    np.testing.assert_array_equal(np.asarray(image), small_volume)
    assert img_kw["scale"] == (2.0, 0.5, 0.5)
    rects, kw, _ = layers[1]
    assert len(rects) == 8 + 2  # one rectangle per z-slice of each box
    assert kw["metadata"]["napari-patchwise"]["project"] == str(folder)
    assert set(kw["features"]["box_id"]) == {1, 2}
    labels = {kw["name"]: (data, kw) for data, kw, t in layers if t == "labels"}
    assert set(labels) == {"nuclei labels", "background", "ignore"}
    data, kw = labels["nuclei labels"]
    assert data.shape == (48, 80, 80)  # at magnification 1×2×2
    assert kw["scale"] == (2.0, 1.0, 1.0) and kw["translate"] == (0.0, 0.25, 0.25)


def test_reader_declines_what_is_not_a_project(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"nope")
    assert get_reader(str(tmp_path)) is None
    assert get_reader(str(tmp_path / "a.tif")) is None
    assert get_reader([str(tmp_path), str(tmp_path)]) is None


def test_missing_image_still_opens_boxes_with_a_warning(project):
    folder, plan = project
    (folder.parent / "vol.tif").unlink()
    with pytest.warns(UserWarning, match="missing"):
        layers = get_reader(str(folder))(str(folder))
    assert [t for _, _, t in layers][0] == "shapes"


def test_proposed_boxes_are_filled_with_their_stratum_colour(tmp_path):
    import numpy as np

    from napari_patchwise._reader import get_reader
    from napari_patchwise.engine import ImageRef, Plan, get_preset
    from napari_patchwise.engine.project import create_project
    from napari_patchwise.layers.box_shapes import face_colors

    plan = Plan(ImageRef((64, 128, 128)), get_preset("instance"), 1)
    plan, _ = plan.add_box((0, 0, 0), (64, 64, 64), source="proposal", stratum="dense")
    plan, _ = plan.add_box((0, 64, 64), (64, 128, 128))
    folder = create_project(tmp_path / "p", plan)
    (rects, kwargs, _), = [t for t in get_reader(str(folder))(str(folder)) if t[2] == "shapes"]
    ids = kwargs["features"]["box_id"]
    np.testing.assert_allclose(kwargs["face_color"], face_colors(ids, {1: "dense", 2: None}))
    assert not np.allclose(kwargs["face_color"][0], kwargs["face_color"][-1])
