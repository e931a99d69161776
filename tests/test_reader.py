"""The project-folder reader, without a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._reader import get_reader
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.project import create_project


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
    assert rects == []  # neither box crosses the middle slice, the one napari shows first
    assert kw["metadata"]["napari-patchwise"]["project"] == str(folder)
    labels = {kw["name"]: (data, kw) for data, kw, t in layers if t == "labels"}
    assert set(labels) == {"nuclei labels", "background", "ignore"}
    data, kw = labels["nuclei labels"]
    assert data.shape == (48, 80, 80)  # at magnification 1×2×2
    assert kw["scale"] == (2.0, 1.0, 1.0) and kw["translate"] == (0.0, 0.25, 0.25)


def test_the_image_is_lazy_and_reads_one_slice(project, small_volume):
    """napari reads only the displayed slice: the reader gives no numpy array."""
    folder, _ = project
    image, _, _ = get_reader(str(folder))(str(folder))[0]
    assert not isinstance(image, np.ndarray)
    assert image.shape == small_volume.shape and image.dtype == small_volume.dtype
    np.testing.assert_array_equal(np.asarray(image[23]), small_volume[23])


def test_the_boxes_layer_holds_the_first_slice_rectangles_only(tmp_path):
    from napari_patchwise._reader import first_slice

    plan = Plan(ImageRef((48, 128, 128)), get_preset("custom", minimum=(8, 32, 32)), 1)
    plan = plan.add_boxes([((0, 0, 0), (16, 32, 32)), ((16, 0, 64), (40, 32, 96)),
                           ((20, 64, 0), (24, 96, 32)), ((24, 64, 64), (48, 96, 96))])
    folder = create_project(tmp_path / "p", plan)
    (rects, kwargs, _), = [t for t in get_reader(str(folder))(str(folder)) if t[2] == "shapes"]
    z = first_slice(plan)
    assert z == 23
    assert kwargs["features"]["box_id"].tolist() == [2, 3]  # the boxes that cross slice 23, once each
    assert kwargs["features"]["z"].tolist() == [z, z]
    assert all(np.all(r[:, 0] == z) for r in rects)
    assert len(kwargs["edge_color"]) == len(kwargs["face_color"]) == 2


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
    from napari_patchwise.engine.plan.project import create_project
    from napari_patchwise.layers.box_shapes import face_colors

    plan = Plan(ImageRef((64, 128, 128)), get_preset("instance"), 1)
    plan, _ = plan.add_box((0, 0, 0), (64, 64, 64), source="proposal", stratum="dense")
    plan, _ = plan.add_box((0, 64, 64), (64, 128, 128))  # both cross the first slice shown
    folder = create_project(tmp_path / "p", plan)
    (rects, kwargs, _), = [t for t in get_reader(str(folder))(str(folder)) if t[2] == "shapes"]
    ids = kwargs["features"]["box_id"]
    np.testing.assert_allclose(kwargs["face_color"], face_colors(ids, {1: "dense", 2: None}))
    assert not np.allclose(kwargs["face_color"][0], kwargs["face_color"][-1])


# -- which paths the manifest claims (through npe2) ------------------------------------------
@pytest.fixture(scope="module")
def plugin_manager():
    from npe2 import PluginManager

    pm = PluginManager()
    pm.discover()
    return pm


def _readers(pm, path) -> set[str]:
    return {r.plugin_name for r in pm.iter_compatible_readers([str(path)])}


@pytest.mark.parametrize("name", ["image.tif", "image.TIFF", "image.ome.tif", "image.png", "image.npy",
                                  "notes.json", "image.zarr/0"])
def test_manifest_claims_no_image_file(plugin_manager, tmp_path, name):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    assert "napari-patchwise" not in _readers(plugin_manager, p)


@pytest.mark.parametrize("name", ["tomo.mrc", "tomo.rec", "mask.nrrd", "image.nii", "image.nii.gz"])
def test_manifest_claims_mrc_nrrd_and_nifti(plugin_manager, tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"x")
    assert "napari-patchwise" in _readers(plugin_manager, p)


def test_manifest_claims_project_folders_their_plan_and_hdf5(plugin_manager, project):
    folder, _ = project
    assert "napari-patchwise" in _readers(plugin_manager, folder)
    assert _readers(plugin_manager, folder / "plan.json") == {"napari-patchwise"}
    assert get_reader(str(folder / "plan.json")) is not None
    for name in ("v.h5", "v.hdf5"):
        assert "napari-patchwise" in _readers(plugin_manager, folder.parent / name)


def test_plan_json_outside_a_project_is_declined(tmp_path):
    (tmp_path / "plan.json").write_text("{}")
    assert get_reader(str(tmp_path / "plan.json")) is None


# -- reopening: voxel size, dataset, contrast --------------------------------------------------
def test_reopened_sample_image_is_not_black(tmp_path):
    """The sample has a saturated stripe; the reopened image's contrast must ignore it."""
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((32, 128, 128))
    write_tiff(tmp_path / "image.tif", s.image, s.voxel_size)
    folder = create_project(tmp_path / "p", Plan(ImageRef(s.image.shape, "uint16", s.voxel_size,
                                                          path="../image.tif", name="nuclei")))
    (image, kwargs, kind), *_ = get_reader(str(folder))(str(folder))
    assert kind == "image"
    lo, hi = kwargs["contrast_limits"]
    assert hi < 0.1 * np.iinfo(np.uint16).max
    inside = np.asarray(image)[s.labels > 0]
    assert np.median(inside) > lo + 0.2 * (hi - lo)


def test_reader_opens_the_recorded_hdf5_dataset_and_marks_an_unknown_voxel_size(tmp_path, small_volume):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "v.h5", "w") as f:
        f.create_dataset("a", data=small_volume)
        f.create_dataset("b", data=small_volume // 2)
    plan = Plan(ImageRef(small_volume.shape, "uint16", path="v.h5", dataset="b", name="v",
                         unit="pixel", voxel_size_known=False))
    folder = create_project(tmp_path / "p", plan)
    (tmp_path / "p" / "v.h5").symlink_to(tmp_path / "v.h5")
    (image, kwargs, _), *_ = get_reader(str(folder))(str(folder))
    np.testing.assert_array_equal(np.asarray(image), small_volume // 2)
    assert kwargs["metadata"]["napari-patchwise"] == {"role": "image", "project": str(folder), "dataset": "b",
                                                      "voxel_size_known": False}


def test_a_project_of_plan_version_1_opens_with_its_labels_and_is_migrated(tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
    from project_helpers import make_plan, make_v1_project

    folder = tmp_path / "old"
    painted = make_v1_project(folder, make_plan())
    with pytest.warns(UserWarning, match="raw.tif is missing"):
        layers = get_reader(str(folder))(str(folder))
    labels = {kw["name"].removesuffix(" labels"): np.asarray(data) for data, kw, kind in layers if kind == "labels"}
    assert set(labels) == {"nuclei", "mito", "background", "ignore"}
    assert all(np.array_equal(labels[n], painted[n]) for n in labels)
    assert json.loads((folder / "plan.json").read_text("utf-8"))["version"] == 2
    assert (folder / "annotations.zarr" / "raw" / "nuclei").is_dir()
