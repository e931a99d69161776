"""``patchwise propose IMAGE -o P`` with no option, on small, anisotropic and real volumes."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_plan


def _propose(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["propose", *map(str, argv)])
    return code, out.getvalue(), err.getvalue()


def _blobs(shape, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.normal(100, 8, shape)
    zz, yy, xx = np.ogrid[tuple(slice(0, s) for s in shape)]
    for c in rng.uniform(0, 1, (max(3, int(np.prod(shape) // 20_000)), 3)) * shape:
        img[((zz - c[0]) / 3) ** 2 + ((yy - c[1]) / 6) ** 2 + ((xx - c[2]) / 6) ** 2 < 1] += 500
    return img.clip(0, 65535).astype(np.uint16)


def _check_plan(folder, size=None):
    plan = load_plan(folder)
    assert plan.boxes
    assert not [f for f in plan.validate() if f.severity == "error"]
    boxes = plan.boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not all(x < bh and y < ah for x, ah, y, bh in zip(a.lo, a.hi, b.lo, b.hi))
    if size is not None:
        assert {b.size for b in boxes} == {size}
    return plan


@pytest.mark.parametrize(
    "shape, voxel",
    [
        ((32, 32, 32), (1, 1, 1)),  # exactly the instance minimum
        ((33, 200, 45), (1, 1, 1)),
        ((51, 120, 122), (2.18, 1, 1)),  # the embryo's geometry
        ((200, 40, 40), (1, 1, 1)),
        ((40, 300, 300), (4, 1, 1)),
    ],
)
def test_default_propose_succeeds_on_small_and_anisotropic_volumes(tmp_path, shape, voxel):
    write_tiff(tmp_path / "v.tif", _blobs(shape), voxel)
    code, out, err = _propose([tmp_path / "v.tif", "-o", tmp_path / "p"])
    assert code == 0, out + err
    plan = _check_plan(tmp_path / "p")
    assert all(b.size[a] <= shape[a] for b in plan.boxes for a in range(3))
    assert "image-share" in out  # smaller than 5 million voxels: its share, not a target
    assert "box size" in out or "note: box" in out  # the size chosen is always said


def test_a_volume_thinner_than_the_minimum_exits_2_naming_the_axis(tmp_path):
    write_tiff(tmp_path / "v.tif", _blobs((20, 100, 100)), (1, 1, 1))
    code, out, err = _propose([tmp_path / "v.tif", "-o", tmp_path / "p"])
    assert code == 2 and "Traceback" not in err
    assert "only 20 voxels along z" in err and "custom preset" in err
    assert not (tmp_path / "p").exists()


def test_a_given_size_is_kept_by_the_project(tmp_path):
    write_tiff(tmp_path / "v.tif", _blobs((64, 200, 200)), (1, 1, 1))
    code, out, _ = _propose([tmp_path / "v.tif", "-o", tmp_path / "p", "--size", "32,64,64",
                             "--n", "2"])
    assert code == 0 and "note: box" not in out
    assert load_plan(tmp_path / "p").box_size == (32, 64, 64)
    code, out, _ = _propose([tmp_path / "v.tif", "-o", tmp_path / "p", "--n", "1"])
    assert code == 0 and "box size 32×64×64" in out and "the project's" in out
    _check_plan(tmp_path / "p", (32, 64, 64))


# ------------------------------------------------------------------ real volumes
def _h5_to_tiff(src, dataset, dst, voxel=None):
    h5py = pytest.importorskip("h5py")
    with h5py.File(src, "r") as f:
        d = f[dataset]
        if voxel is None:
            voxel = tuple(float(v) for v in d.attrs.get("element_size_um", (1, 1, 1)))
        write_tiff(dst, d[...], voxel)
    return dst


def test_real_embryo_without_a_voxel_size(shared_data, tmp_path):
    src = shared_data / "nuclei_embryo_qcanet" / "8cell_raw.tif"
    code, out, _ = _propose([src, "-o", tmp_path / "p"])
    assert code == 0
    assert "note: box 32×96×96 instead of the instance preset's 64×64×64" in out
    assert "only 51 voxels along z" in out
    _check_plan(tmp_path / "p", (32, 96, 96))


def test_real_embryo_with_its_anisotropy(shared_data, tmp_path):
    import tifffile

    img = tifffile.imread(shared_data / "nuclei_embryo_qcanet" / "8cell_raw.tif")
    write_tiff(tmp_path / "e.tif", img, (2.18, 1.0, 1.0))  # x:y:z = 1:1:2.18 (QCANet README)
    code, out, _ = _propose([tmp_path / "e.tif", "-o", tmp_path / "p"])
    assert code == 0 and "z voxels are 2.18× coarser than y/x voxels" in out
    plan = _check_plan(tmp_path / "p", (32, 96, 96))
    assert len(plan.boxes) == 1  # half of a 0.75 M-voxel image: one box of 0.29 M


@pytest.mark.parametrize("name, size", [("train/imgs/0_0_30_47_25.tif", (64, 64, 64)),
                                        ("test/imgs/4_0_55_98_25.tif", (64, 64, 64))])
def test_real_cryoet_patches(shared_data, tmp_path, name, size):
    code, out, _ = _propose([shared_data / "cryoet_filament_patches" / name, "-o", tmp_path / "p"])
    assert code == 0 and "the instance preset's default" in out
    _check_plan(tmp_path / "p", size)


def test_real_ovule_refits_for_its_anisotropy(shared_data, tmp_path):
    tif = _h5_to_tiff(shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5", "raw",
                      tmp_path / "o.tif")
    code, out, _ = _propose([tif, "-o", tmp_path / "p"])
    assert code == 0 and "2.22× coarser" in out
    _check_plan(tmp_path / "p", (32, 96, 96))


def test_real_fibsem_with_the_neuron_preset(shared_data, tmp_path):
    tif = _h5_to_tiff(shared_data / "fibsem_neuroproof" / "training_sample2_crop128.h5", "raw",
                      tmp_path / "n.tif", (10.0, 10.0, 10.0))
    code, out, _ = _propose([tif, "-o", tmp_path / "p", "--preset", "neuron"])
    assert code == 0 and "32×85×85" in out
    plan = _check_plan(tmp_path / "p", (32, 85, 85))
    assert len({b.stratum for b in plan.boxes}) == len(plan.boxes)  # distinct strata, no tiling


def test_real_plant_membrane_stack(shared_data, tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(shared_data / "plant_membrane" / "sample_patch.h5", "r") as f:
        np.save(tmp_path / "m.npy", f["raw"][...])
    code, out, _ = _propose([tmp_path / "m.npy", "-o", tmp_path / "p"])
    assert code == 0
    plan = _check_plan(tmp_path / "p", (64, 64, 64))
    total = sum(np.prod(b.size) for b in plan.boxes)
    assert total <= 64 * 200 * 200 / 2  # at most half of a small image by default
