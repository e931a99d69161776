"""Format writers: nnU-Net v2, StarDist, Cellpose planes and OME-Zarr round-trip the composed labels."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_patchwise.engine.plan.annotation import compose
from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.engine.export import cellpose_planes, nnunet, omezarr, stardist
from napari_patchwise.engine.export.model import (
    CaseRef,
    Crop,
    ExportContext,
    ExportError,
    case_name,
)
from napari_patchwise.engine.io.volumes import read_volume
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.plan import ImageRef, Plan

VS_FULL = (2.0, 0.5, 0.5)
SHAPE = (6, 12, 14)
WRITERS = {"nnunet": nnunet, "stardist": stardist, "cellpose": cellpose_planes, "omezarr": omezarr}
TWO_CLASSES = (ClassSpec("nuclei", "instance"), ClassSpec("membrane", "semantic"))


def make_ctx(classes=TWO_CLASSES, mag=(1, 1, 1), **kw):
    plan = Plan(ImageRef((60, 120, 140), voxel_size=VS_FULL, name="em_stack"), classes=classes,
                magnification=mag)
    return ExportContext(plan, dataset_id=42, dataset_name="Patchwise_test", **kw)


def make_layers(n_nuclei=5, holes=True):
    """Five nuclei per yx plane, a membrane row, background everywhere else.

    With ``holes``: an unannotated voxel at (3, 0, 0) and ignore at (4, 0:2, 0:2).
    """
    nuclei = np.zeros(SHAPE, np.uint32)
    corners = [(1, 1), (1, 6), (6, 1), (6, 6), (7, 10)][:n_nuclei]
    for i, (y, x) in enumerate(corners, start=1):
        nuclei[:, y:y + 3, x:x + 3] = i
    membrane = np.zeros(SHAPE, np.uint8)
    membrane[:, 11, :] = 1
    background = np.ones(SHAPE, np.uint8)
    ignore = np.zeros(SHAPE, np.uint8)
    if holes:
        background[3, 0, 0] = 0
        ignore[4, 0:2, 0:2] = 1
    return {"nuclei": nuclei, "membrane": membrane, "background": background, "ignore": ignore}


def make_crop(ctx, box_id=1, split="train", layers=None, lo=(0, 0, 0), seed=0):
    layers = make_layers() if layers is None else layers
    names = ctx.class_names
    comp = compose({k: v for k, v in layers.items() if k in (*names, "background", "ignore")}, names)
    mag = ctx.plan.magnification
    hi = tuple(a + s * m for a, s, m in zip(lo, SHAPE, mag))
    image = np.random.default_rng(seed).integers(0, 4000, SHAPE).astype(np.uint16)
    vs = tuple(v * m for v, m in zip(VS_FULL, mag))
    box = Box(box_id, lo, hi)
    return Crop(case_name(box), box, image, comp, vs, split=split)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_all(writer, root, ctx, crops):
    root.mkdir(parents=True, exist_ok=True)
    outs = {c.case: writer.write_case(root, c, ctx) for c in crops}
    writer.finish(root, [CaseRef(c.case, c.split) for c in crops], ctx)
    return outs


# ---------------------------------------------------------------- nnU-Net


def test_nnunet_round_trip_ignore_and_sidecars(tmp_path):
    ctx = make_ctx()
    crop = make_crop(ctx)
    out = nnunet.write_case(tmp_path, crop, ctx)
    assert out.files == ("imagesTr/box_0001.json", "imagesTr/box_0001_0000.tiff",
                         "labelsTr/box_0001.json", "labelsTr/box_0001.tiff")
    back = nnunet.read_case(tmp_path, crop.case)
    np.testing.assert_array_equal(back["image"], crop.image)
    assert back["labels"].dtype == np.uint8
    expected = crop.composition.classmap.astype(np.int64)
    expected[expected == -1] = 3  # unannotated -> ignore (K + 1)
    np.testing.assert_array_equal(back["labels"], expected)
    assert back["labels"][3, 0, 0] == 3 and back["labels"][4, 0, 0] == 3
    assert back["spacing"] == back["label_spacing"] == crop.voxel_size


def test_nnunet_test_split_and_dataset_json(tmp_path):
    ctx = make_ctx()
    crops = [make_crop(ctx, 1, "train"), make_crop(ctx, 2, "val"), make_crop(ctx, 3, "test"),
             make_crop(ctx, 4, "train")]
    outs = write_all(nnunet, tmp_path, ctx, crops)
    assert outs["box_0003"].files[0].startswith("imagesTs/")
    assert (tmp_path / "labelsTs/box_0003.tiff").exists() and (tmp_path / "labelsTs/box_0003.json").exists()
    dataset = json.loads((tmp_path / "dataset.json").read_text())
    assert dataset["labels"] == {"background": 0, "nuclei": 1, "membrane": 2, "ignore": 3}
    assert list(dataset["labels"]) == ["background", "nuclei", "membrane", "ignore"]
    assert dataset["numTraining"] == 3
    assert dataset["file_ending"] == ".tiff" and dataset["overwrite_image_reader_writer"] == "Tiff3DIO"
    assert dataset["channel_names"] == {"0": "em_stack"}
    splits = json.loads((tmp_path / "splits_final.json").read_text())
    assert splits == [{"train": ["box_0001", "box_0004"], "val": ["box_0002"]}]


def test_nnunet_ignore_listed_only_when_present(tmp_path):
    ctx = make_ctx()
    crops = [make_crop(ctx, 1, layers=make_layers(holes=False))]
    write_all(nnunet, tmp_path, ctx, crops)
    dataset = json.loads((tmp_path / "dataset.json").read_text())
    assert "ignore" not in dataset["labels"]
    assert not (tmp_path / "splits_final.json").exists()
    # a later export adds a case with ignore voxels: finish sees old and new cases
    nnunet.write_case(tmp_path, make_crop(ctx, 2, "val"), ctx)
    nnunet.finish(tmp_path, [CaseRef("box_0001", "train"), CaseRef("box_0002", "val")], ctx)
    dataset = json.loads((tmp_path / "dataset.json").read_text())
    assert dataset["labels"]["ignore"] == 3 and dataset["numTraining"] == 2


def test_nnunet_channel_name_never_switches_normalisation():
    assert nnunet.channel_name("CT") == "CT image"
    assert nnunet.channel_name("noNorm") == "noNorm image"
    assert nnunet.channel_name("raw") == "raw"


@pytest.mark.parametrize(("did", "name", "match"), [
    (0, "ok", "1 to 999"), (1000, "ok", "1 to 999"), (True, "ok", "1 to 999"),
    (5, "has space", "not valid"), (5, "", "not valid"), (5, "a.b", "not valid"),
])
def test_nnunet_folder_name_is_checked(did, name, match):
    ctx = ExportContext(make_ctx().plan, dataset_id=did, dataset_name=name)
    with pytest.raises(ExportError, match=match):
        nnunet.folder_name(ctx)


def test_nnunet_folder_name():
    assert nnunet.folder_name(make_ctx()) == "Dataset042_Patchwise_test"


def test_nnunet_uint16_labels_for_many_classes(tmp_path):
    classes = tuple(ClassSpec(f"c{i}", "semantic") for i in range(300))
    ctx = make_ctx(classes=classes)
    layers = {f"c{i}": np.zeros(SHAPE, np.uint8) for i in range(300)}
    layers["c299"][0, 0, 0] = 1
    layers["background"] = np.ones(SHAPE, np.uint8)
    nnunet.write_case(tmp_path, make_crop(ctx, layers=layers), ctx)
    labels = tifffile.imread(tmp_path / "labelsTr/box_0001.tiff")
    assert labels.dtype == np.uint16 and labels[0, 0, 0] == 300


def _nnunet_dataset(root: Path) -> Path:
    ctx = make_ctx()
    folder = root / nnunet.folder_name(ctx)
    crops = [make_crop(ctx, 1, "train", seed=1), make_crop(ctx, 2, "train", seed=2),
             make_crop(ctx, 3, "val", seed=3), make_crop(ctx, 4, "test", seed=4)]
    write_all(nnunet, folder, ctx, crops)
    return folder


def test_nnunet_integrity_check_passes(tmp_path):
    pytest.importorskip("nnunetv2")
    folder = _nnunet_dataset(tmp_path)
    labels = tifffile.imread(folder / "labelsTr/box_0001.tiff")
    assert {0, 1, 2, 3} <= set(np.unique(labels).tolist())  # ignore and unannotated are there
    printed = nnunet.verify_nnunet(folder)
    assert "verify_dataset_integrity Done" in printed


def test_nnunet_integrity_check_fails_clearly(tmp_path):
    pytest.importorskip("nnunetv2")
    folder = _nnunet_dataset(tmp_path)
    bad = tifffile.imread(folder / "labelsTr/box_0002.tiff")
    bad[0, 0, 0] = 9
    tifffile.imwrite(folder / "labelsTr/box_0002.tiff", bad, photometric="minisblack")
    with pytest.raises(ExportError, match="(?s)check failed.*Unexpected labels found in file .*box_0002"):
        nnunet.verify_nnunet(folder)


def test_nnunet_integrity_check_fails_on_missing_case(tmp_path):
    pytest.importorskip("nnunetv2")
    folder = _nnunet_dataset(tmp_path)
    dataset = json.loads((folder / "dataset.json").read_text())
    dataset["numTraining"] = 5
    (folder / "dataset.json").write_text(json.dumps(dataset))
    with pytest.raises(ExportError, match="expected number of training cases"):
        nnunet.verify_nnunet(folder)


def test_nnunet_check_without_nnunetv2(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nnunetv2.experiment_planning.verify_dataset_integrity", None)
    with pytest.raises(ExportError, match="pip install nnunetv2"):
        nnunet.verify_nnunet(tmp_path)


# ---------------------------------------------------------------- StarDist


def test_stardist_round_trip_and_spacing(tmp_path):
    ctx = make_ctx(patch_size=(4, 8, 8))
    crop = make_crop(ctx)
    out = stardist.write_case(tmp_path, crop, ctx)
    assert out.files == ("images/box_0001.tif", "masks/box_0001.tif")
    assert out.warnings == ()
    image, masks = stardist.read_case(tmp_path, crop.case)
    np.testing.assert_array_equal(image, crop.image)
    assert masks.dtype == np.int32
    expected = crop.composition.instances["nuclei"].astype(np.int64)
    cm = crop.composition.classmap
    expected[(cm == -1) | (cm == 3)] = -1
    np.testing.assert_array_equal(masks, expected)
    assert masks[0, 11, 0] == 0  # a membrane voxel is background for StarDist
    assert masks[3, 0, 0] == -1 and masks[4, 1, 1] == -1
    for rel in out.files:
        vol = read_volume(tmp_path / rel)
        assert vol.voxel_size == crop.voxel_size
    with tifffile.TiffFile(tmp_path / "masks/box_0001.tif") as tif:
        assert tif.imagej_metadata["unit"] == "um"


def test_stardist_patch_size_asked_for_warns_on_smaller_crops(tmp_path):
    ctx = make_ctx(patch_size=(48, 96, 96))  # larger than the crop (6, 12, 14)
    out = stardist.write_case(tmp_path, make_crop(ctx), ctx)
    assert len(out.warnings) == 1
    w = out.warnings[0]
    assert "(6, 12, 14)" in w and "(48, 96, 96)" in w and "z, y, x" in w and "StarDist stops" in w
    assert "export without a patch size" in w


def _stardist_crop(ctx, box_id, shape, split="train"):
    """A crop of ``shape`` cut from the corner of the standard layers (tiled to fit)."""
    reps = [-(-s // b) for s, b in zip(shape, SHAPE)]
    layers = {k: np.tile(v, reps)[: shape[0], : shape[1], : shape[2]] for k, v in make_layers().items()}
    names = ctx.class_names
    comp = compose({k: v for k, v in layers.items() if k in (*names, "background", "ignore")}, names)
    box = Box(box_id, (0, 0, 0), shape)
    return Crop(case_name(box), box, np.zeros(shape, np.uint16), comp, VS_FULL, split=split)


def _stardist_export(root, ctx, crops):
    outs = [stardist.write_case(root, c, ctx) for c in crops]
    done = stardist.finish(root, [CaseRef(c.case, c.split, o) for c, o in zip(crops, outs)], ctx)
    config = json.loads((root / stardist.CONFIG_NAME).read_text()) if done.files else None
    return outs, done, config


def test_stardist_default_patch_is_the_largest_every_crop_allows(tmp_path):
    ctx = make_ctx()  # voxels 4x longer in z: StarDist's grid (1, 2, 2), patches divisible by (4, 8, 8)
    crops = [_stardist_crop(ctx, 1, (30, 64, 64)), _stardist_crop(ctx, 2, (64, 90, 70), "val"),
             _stardist_crop(ctx, 3, (9, 20, 20), "test")]  # test crops do not train: they do not count
    outs, done, config = _stardist_export(tmp_path, ctx, crops)
    assert [o.warnings for o in outs] == [(), (), ()]
    assert done.warnings == () and done.files == (stardist.CONFIG_NAME,)
    assert config["train_patch_size"] == [28, 64, 64]
    assert config["grid"] == [1, 2, 2] and config["anisotropy"] == [4.0, 1.0, 1.0]
    assert config["unet_n_depth"] == 2 and config["unet_pool"] == [2, 2, 2] and config["axes"] == "ZYX"
    for crop in crops[:2]:  # StarDist samples a patch inside each training image: it must fit
        assert all(p <= s for p, s in zip(config["train_patch_size"], crop.image.shape))
    assert all(p % d == 0 for p, d in zip(config["train_patch_size"], (4, 8, 8)))
    assert len(done.notes) == 1 and "train_patch_size (28, 64, 64)" in done.notes[0]
    assert stardist.CONFIG_NAME in done.notes[0]


def test_stardist_default_patch_stays_within_stardists_default_and_isotropic_grid(tmp_path):
    plan = Plan(ImageRef((200, 200, 200), voxel_size=(1.0, 1.0, 1.0)), classes=TWO_CLASSES)
    ctx = ExportContext(plan)
    _, done, config = _stardist_export(tmp_path, ctx, [_stardist_crop(ctx, 1, (160, 150, 140))])
    assert config["grid"] == [2, 2, 2] and config["train_patch_size"] == [128, 128, 128]
    assert done.warnings == ()


def test_stardist_default_patch_covers_cases_already_in_the_folder(tmp_path):
    ctx = make_ctx()
    old = _stardist_crop(ctx, 1, (20, 64, 64))
    stardist.write_case(tmp_path, old, ctx)  # an earlier export
    new = _stardist_crop(ctx, 2, (40, 48, 64))
    out = stardist.write_case(tmp_path, new, ctx)
    done = stardist.finish(tmp_path, [CaseRef(old.case, "train"), CaseRef(new.case, "train", out)], ctx)
    config = json.loads((tmp_path / stardist.CONFIG_NAME).read_text())
    assert config["train_patch_size"] == [20, 48, 64] and done.warnings == ()
    (tmp_path / "images" / "box_0001.tif").unlink()
    with pytest.raises(ExportError, match="box_0001.tif of a case in this export is missing; export again"):
        stardist.finish(tmp_path, [CaseRef(old.case, "train"), CaseRef(new.case, "train", out)], ctx)


def test_stardist_crop_too_small_for_any_patch_is_named(tmp_path):
    ctx = make_ctx()
    crops = [_stardist_crop(ctx, 1, (3, 64, 64)), _stardist_crop(ctx, 2, (16, 32, 32))]
    outs, done, config = _stardist_export(tmp_path, ctx, crops)
    assert config["train_patch_size"] == [16, 32, 32]  # from the crop StarDist can use
    assert len(done.warnings) == 1
    assert done.warnings[0].startswith("box_0001: smaller than StarDist's smallest training patch (4, 8, 8)")


def test_stardist_patch_size_asked_for_must_suit_the_pooling(tmp_path):
    ctx = make_ctx(patch_size=(6, 12, 12))
    crop = make_crop(ctx)
    outs, done, config = _stardist_export(tmp_path, ctx, [crop])
    assert outs[0].warnings == ()  # the crop is (6, 12, 14): the patch fits
    assert config["train_patch_size"] == [6, 12, 12]
    assert len(done.warnings) == 1 and "not divisible by (4, 8, 8)" in done.warnings[0]
    assert "use (4, 8, 8)" in done.warnings[0]


def test_stardist_needs_an_instance_class(tmp_path):
    ctx = make_ctx(classes=(ClassSpec("membrane", "semantic"),))
    with pytest.raises(ExportError, match="instance class"):
        stardist.write_case(tmp_path, make_crop(ctx), ctx)


# ---------------------------------------------------------------- Cellpose


def _is_connected(mask: np.ndarray) -> bool:
    from skimage.measure import label

    return label(mask, connectivity=2).max() == 1


def test_cellpose_keeps_only_fully_annotated_planes(tmp_path):
    ctx = make_ctx()
    crop = make_crop(ctx)
    out = cellpose_planes.write_case(tmp_path, crop, ctx)
    planes = cellpose_planes.read_case(tmp_path, crop.case)
    # z=3 has an unannotated voxel, z=4 an ignore region
    assert list(planes) == [f"box_0001_yx{z:03d}" for z in (0, 1, 2, 5)]
    assert out.files == tuple(sorted(f"{n}{s}.tif" for n in planes for s in ("", "_masks")))
    assert out.warnings == ()  # five masks per plane
    for name, (image, masks) in planes.items():
        z = int(name[-3:])
        np.testing.assert_array_equal(image, crop.image[z])
        assert masks.dtype == np.uint16
        ids = crop.composition.instances["nuclei"][z]
        np.testing.assert_array_equal(masks > 0, ids > 0)
        np.testing.assert_array_equal(masks, cellpose_planes.relabel_pieces(ids))
        assert sorted(np.unique(masks).tolist()) == list(range(6))
    with tifffile.TiffFile(tmp_path / "box_0001_yx000.tif") as tif:
        assert tif.pages[0].tags["XResolution"].value == (2, 1)


def test_cellpose_object_cut_into_pieces_gets_one_id_per_piece(tmp_path):
    ctx = make_ctx()
    layers = make_layers(holes=False)
    layers["nuclei"][1, 1:4, 1:4] = 0
    layers["nuclei"][1, 1:4, 1] = 1  # a U: two pieces joined in z=0 but not in z=1 ...
    layers["nuclei"][1, 1:4, 3] = 1  # ... (columns 1 and 3, the middle column empty)
    cellpose_planes.write_case(tmp_path, make_crop(ctx, layers=layers), ctx)
    _, masks = cellpose_planes.read_case(tmp_path, "box_0001")["box_0001_yx001"]
    assert masks.max() == 6
    for i in range(1, 7):
        assert _is_connected(masks == i)


def test_cellpose_zy_zx_resampled_to_square_pixels(tmp_path):
    ctx = make_ctx(cellpose_planes=("zy", "zx"), min_masks=0)  # 0: every fully annotated plane
    crop = make_crop(ctx)
    cellpose_planes.write_case(tmp_path, crop, ctx)
    planes = cellpose_planes.read_case(tmp_path, crop.case)
    rows = SHAPE[0] * 4  # z voxels are 4x the y/x pixel size
    zy = {n: p for n, p in planes.items() if "_zy" in n}
    zx = {n: p for n, p in planes.items() if "_zx" in n}
    # x=0, 1 (and y=0, 1) cross the ignore region or the unannotated voxel
    assert sorted(zy) == [f"box_0001_zy{x:03d}" for x in range(2, 14)]
    assert sorted(zx) == [f"box_0001_zx{y:03d}" for y in range(2, 12)]
    image, masks = zy["box_0001_zy002"]
    assert image.shape == masks.shape == (rows, SHAPE[1])
    assert image.dtype == np.float32
    # nearest-neighbour rows: every 4 rows repeat one z plane of ids
    ids = crop.composition.instances["nuclei"][:, :, 2]
    np.testing.assert_array_equal(masks > 0, np.repeat(ids, 4, axis=0) > 0)
    # linear image: the resampled column stays within the range of its source
    col = crop.image[:, 5, 2].astype(float)
    assert col.min() - 1e-3 <= image[:, 5].min() and image[:, 5].max() <= col.max() + 1e-3
    assert zx["box_0001_zx002"][0].shape == (rows, SHAPE[2])
    with tifffile.TiffFile(tmp_path / "box_0001_zx002.tif") as tif:
        assert tif.pages[0].tags["YResolution"].value == (2, 1)  # rows are 0.5 apart after resampling


def test_cellpose_writes_only_planes_it_trains_on(tmp_path):
    ctx = make_ctx()
    out = cellpose_planes.write_case(tmp_path, make_crop(ctx, layers=make_layers(n_nuclei=2)), ctx)
    # four fully annotated planes with 2 masks each: Cellpose's training drops them (min_train_masks 5)
    assert out.files == () and out.images == 0 and out.left_out == 4
    assert list(tmp_path.iterdir()) == []
    assert out.warnings == ("box_0001: every fully annotated yx plane has fewer than 5 masks, so Cellpose "
                            "gets nothing from this box.",)
    done = cellpose_planes.finish(tmp_path, [CaseRef("box_0001", "train", out)], ctx)
    assert done.files == ()
    assert "no new box has one" in done.notes[0] and "--cellpose-min-masks" in done.notes[0]
    assert done.notes[1].startswith("left out: 4 fully annotated planes with fewer than 5 masks")


def test_cellpose_min_masks_can_be_lowered(tmp_path):
    ctx = make_ctx(min_masks=2)
    out = cellpose_planes.write_case(tmp_path, make_crop(ctx, layers=make_layers(n_nuclei=2)), ctx)
    assert out.images == 4 and out.left_out == 0 and out.warnings == ()
    assert len(cellpose_planes.read_case(tmp_path, "box_0001")) == 4
    done = cellpose_planes.finish(tmp_path, [CaseRef("box_0001", "train", out)], ctx)
    assert done.notes == ()


def test_cellpose_mixed_planes_count_only_those_written(tmp_path):
    ctx = make_ctx()
    layers = make_layers()
    layers["nuclei"][0, 6:9, 6:9] = 0  # plane z=0 keeps 4 of its 5 nuclei
    layers["background"][0, 6:9, 6:9] = 1
    out = cellpose_planes.write_case(tmp_path, make_crop(ctx, layers=layers), ctx)
    assert out.images == 3 and out.left_out == 1 and out.warnings == ()
    assert sorted(cellpose_planes.read_case(tmp_path, "box_0001")) == [f"box_0001_yx{z:03d}" for z in (1, 2, 5)]
    done = cellpose_planes.finish(tmp_path, [CaseRef("box_0001", "train", out), CaseRef("box_0009", "train")],
                                  ctx)
    assert done.notes == ("left out: 1 fully annotated planes with fewer than 5 masks (Cellpose's training "
                          "drops them: min_train_masks).",)


def test_cellpose_no_fully_annotated_plane(tmp_path):
    ctx = make_ctx()
    layers = make_layers()
    layers["background"][:, 0, 13] = 0  # every plane now has an unannotated voxel
    out = cellpose_planes.write_case(tmp_path, make_crop(ctx, layers=layers), ctx)
    assert out.files == ()
    assert len(out.warnings) == 1 and "no yx plane is fully annotated" in out.warnings[0]
    assert list(tmp_path.iterdir()) == []


def test_cellpose_rejects_unknown_plane(tmp_path):
    ctx = make_ctx(cellpose_planes=("xy",))
    with pytest.raises(ExportError, match="Cellpose planes"):
        cellpose_planes.write_case(tmp_path, make_crop(ctx), ctx)


# ---------------------------------------------------------------- OME-Zarr


def test_omezarr_round_trip_and_ngff_metadata(tmp_path):
    import zarr

    ctx = make_ctx(mag=(1, 2, 2))
    crop = make_crop(ctx, lo=(10, 20, 40))
    out = omezarr.write_case(tmp_path, crop, ctx)
    assert out.files == tuple(sorted(out.files)) and "box_0001.zarr/.zattrs" in out.files
    assert all((tmp_path / f).is_file() for f in out.files)
    image, classmap, instances = omezarr.read_case(tmp_path, crop.case)
    np.testing.assert_array_equal(image, crop.image)
    assert classmap.dtype == np.int16
    np.testing.assert_array_equal(classmap, crop.composition.classmap)
    assert list(instances) == ["nuclei"]
    np.testing.assert_array_equal(instances["nuclei"], crop.composition.instances["nuclei"])

    top = zarr.open_group(str(tmp_path / "box_0001.zarr"), mode="r")
    assert top.metadata.zarr_format == 2
    ms = top.attrs["multiscales"][0]
    assert ms["version"] == "0.4"
    assert ms["axes"] == [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    scale, shift = ms["datasets"][0]["coordinateTransformations"]
    assert scale == {"type": "scale", "scale": [2.0, 1.0, 1.0]}
    assert shift == {"type": "translation", "translation": [20.0, 10.25, 20.25]}
    zarray = json.loads((tmp_path / "box_0001.zarr/0/.zarray").read_text())
    assert zarray["dimension_separator"] == "/"
    assert top["labels"].attrs["labels"] == ["classes", "nuclei"]
    meta = top["labels/classes"].attrs["image-label"]
    assert meta["properties"] == [
        {"label-value": -1, "class": "unannotated"}, {"label-value": 0, "class": "background"},
        {"label-value": 1, "class": "nuclei"}, {"label-value": 2, "class": "membrane"},
        {"label-value": 3, "class": "ignore"},
    ]
    assert meta["source"] == {"image": "../../"}
    assert top["labels/nuclei"].attrs["multiscales"][0]["datasets"][0]["coordinateTransformations"] == [
        scale, shift]
    assert read_volume(tmp_path / "box_0001.zarr").voxel_size == crop.voxel_size


def test_omezarr_semantic_only_plan(tmp_path):
    ctx = make_ctx(classes=(ClassSpec("membrane", "semantic"),))
    crop = make_crop(ctx)
    omezarr.write_case(tmp_path, crop, ctx)
    _, classmap, instances = omezarr.read_case(tmp_path, crop.case)
    assert instances == {}
    np.testing.assert_array_equal(classmap, crop.composition.classmap)


def test_omezarr_refuses_to_overwrite_a_case(tmp_path):
    ctx = make_ctx()
    omezarr.write_case(tmp_path, make_crop(ctx), ctx)
    with pytest.raises(ExportError, match="already exists"):
        omezarr.write_case(tmp_path, make_crop(ctx), ctx)


# ---------------------------------------------------------------- all formats


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_identical_input_gives_identical_bytes(tmp_path, fmt):
    writer = WRITERS[fmt]
    ctx = make_ctx(cellpose_planes=("yx", "zy", "zx"))
    trees = []
    for run in ("a", "b"):
        crops = [make_crop(ctx, 1, "train"), make_crop(ctx, 2, "val", seed=5), make_crop(ctx, 3, "test")]
        write_all(writer, tmp_path / run, ctx, crops)
        trees.append(tree_bytes(tmp_path / run))
    assert trees[0] and trees[0].keys() == trees[1].keys()
    for rel in trees[0]:
        assert trees[0][rel] == trees[1][rel], rel


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_listed_files_are_exactly_the_case_files(tmp_path, fmt):
    writer = WRITERS[fmt]
    ctx = make_ctx()
    out = writer.write_case(tmp_path, make_crop(ctx), ctx)
    assert out.files == tuple(sorted(out.files))
    assert set(out.files) == set(tree_bytes(tmp_path))
    assert writer.folder_name(ctx)


def test_label_mappings():
    ctx = make_ctx()
    assert nnunet.label_mapping(ctx) == {"background": 0, "nuclei": 1, "membrane": 2, "ignore": 3,
                                         "unannotated": 3}
    assert stardist.label_mapping(ctx) == {"unannotated": -1, "ignore": -1, "background": 0, "membrane": 0}
    assert cellpose_planes.label_mapping(ctx) == {"background": 0, "membrane": 0}


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint16, np.uint8, np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 4, 5), (4, 3), (2, 5, 3)])
def test_spaced_tiff_keeps_dtype_shape_and_spacing(tmp_path, dtype, shape):
    data = (np.arange(np.prod(shape)) - 1).reshape(shape).astype(dtype)
    spacing = (3.0, 0.5, 0.25)[-len(shape):]
    p = stardist.write_tiff_spaced(tmp_path / "a.tif", data, spacing, "nanometer")
    back = tifffile.imread(p)
    assert back.dtype == data.dtype and back.shape == data.shape
    np.testing.assert_array_equal(back, data)
    with tifffile.TiffFile(p) as tif:
        tags = tif.pages[0].tags
        assert tags["XResolution"].value == (4, 1) and tags["YResolution"].value == (2, 1)
        meta = tif.imagej_metadata or tif.shaped_metadata[0]
        assert meta["unit"] == "nm"
        if len(shape) == 3:
            assert meta["spacing"] == 3.0
    if len(shape) == 3 and shape[0] > 1:
        assert read_volume(p).voxel_size == spacing


def test_nnunet_unknown_split(tmp_path):
    ctx = make_ctx()
    with pytest.raises(ExportError, match="unknown split 'holdout'"):
        nnunet.write_case(tmp_path, make_crop(ctx, split="holdout"), ctx)
