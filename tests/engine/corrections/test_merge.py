"""MemBrain-seg's correction merge: precedence against a per-voxel reference, the border, folder rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("nrrd")
pytest.importorskip("nibabel")
pytest.importorskip("mrcfile")

from napari_patchwise.engine.corrections import (MergeCorrectionsRequest, correction_kind,  # noqa: E402
                                                 merge_corrections, merge_masks, plan_merge)
from napari_patchwise.engine.io.mrc import write_mrc  # noqa: E402
from napari_patchwise.engine.io.nifti import write_nifti  # noqa: E402
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402
from napari_patchwise.engine.io.volumes import read_volume  # noqa: E402

COMBOS = list(itertools.product([0, 1, 5], [0, 1], [0, 1], [0, 1]))  # base label, add, remove, ignore


def _reference(base, add, remove, ignore):
    """One voxel as MemBrain-seg merges it."""
    value = base
    if remove:
        value = 0
    if add:
        value = 1
    if ignore:
        value = 2
    return value


def _combo_volumes(pad=0):
    """Every combination once along x (with ``pad`` voxels of zeros around it)."""
    n = len(COMBOS)
    shape = (1 + 2 * pad, 1 + 2 * pad, n + 2 * pad)
    vols = [np.zeros(shape, "uint8") for _ in range(4)]
    for i, combo in enumerate(COMBOS):
        for v, value in zip(vols, combo):
            v[pad, pad, pad + i] = value
    return vols


def test_every_combination_of_masks_matches_the_reference():
    base, add, remove, ignore = _combo_volumes()
    merged = merge_masks(base, add=add, remove=remove, ignore=ignore, border=0)
    expected = [_reference(*combo) for combo in COMBOS]
    assert merged[0, 0].tolist() == expected
    assert sorted(set(expected)) == [0, 1, 2, 5]  # every outcome occurs


def test_border_is_ignore_on_every_face_after_the_masks():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, (40, 36, 34)).astype("uint8")
    add = rng.random(base.shape) > 0.7
    remove = rng.random(base.shape) > 0.7
    merged = merge_masks(base, add=add, remove=remove, ignore=None, border=16)
    inner = np.zeros(base.shape, bool)
    inner[16:-16, 16:-16, 16:-16] = True
    assert (merged[~inner] == 2).all()
    reference = np.vectorize(lambda b, a, r: _reference(b, a, r, 0))(base, add, remove)
    assert np.array_equal(merged[inner], reference[inner])
    assert np.array_equal(merge_masks(base, border=0), base)


def test_prefixes_are_capitalised_or_lower_case_only():
    assert [correction_kind(n) for n in ("Add.nrrd", "add2.nrrd", "Remove_x.nrrd", "remove.nrrd", "Ignore1.nrrd",
                                         "ignore.nii.gz", "ADD.nrrd", "aDD.nrrd", "Adding.nrrd", "x_Add.nrrd")] == [
        "add", "add", "remove", "remove", "ignore", "ignore", None, None, "add", None]


def _layout(tmp_path, writer=write_nrrd, label_suffix=".nrrd"):
    """A MITK-style pair of folders: every combination, masks split over several files per kind."""
    base, add, remove, ignore = _combo_volumes(pad=2)
    labels, corr = tmp_path / "labels", tmp_path / "corrections"
    labels.mkdir()
    folder = corr / "tomo1_patch0"
    folder.mkdir(parents=True)
    writer(labels / f"tomo1_patch0{label_suffix}", base, (1.0, 1.0, 1.0), "nanometer")
    half = add.copy()
    half[..., : add.shape[-1] // 2] = 0
    write_nrrd(folder / "Add1.nrrd", add - half)  # add split in two files
    write_nrrd(folder / "add2.nrrd", half)
    write_nrrd(folder / "Remove1.nrrd", remove)
    write_nrrd(folder / "Ignore1.nrrd", ignore)
    write_nrrd(folder / "ignore2.nrrd", np.zeros_like(ignore))
    return labels, corr, (base, add, remove, ignore)


@pytest.mark.parametrize("writer,suffix", [(write_nrrd, ".nrrd"), (write_nifti, ".nii.gz"), (write_mrc, ".mrc")])
def test_folders_merged_into_nii_gz_as_membrain_does(tmp_path, writer, suffix):
    labels, corr, (base, add, remove, ignore) = _layout(tmp_path, writer, suffix)
    out = tmp_path / "out"
    report = merge_corrections(MergeCorrectionsRequest(labels, corr, out, border=0))
    assert [p.name for p in report.written] == ["tomo1_patch0.nii.gz"]
    item = report.items[0]
    assert {k: len(v) for k, v in item.masks.items()} == {"add": 2, "remove": 1, "ignore": 2}
    merged = np.asarray(read_volume(out / "tomo1_patch0.nii.gz").data)
    expected = np.vectorize(_reference)(base, add, remove, ignore)
    assert np.array_equal(merged, expected)
    assert merged.dtype == np.uint8


def test_several_files_of_a_kind_are_summed_then_binarised(tmp_path):
    labels, corr, (base, add, remove, ignore) = _layout(tmp_path)
    folder = corr / "tomo1_patch0"
    plus, minus = np.zeros(base.shape, "int16"), np.zeros(base.shape, "int16")
    plus[0, 0, 0], minus[0, 0, 0] = 1, -1  # they cancel out: not in the mask
    base[0, 0, 0] = 5
    write_nrrd(labels / "tomo1_patch0.nrrd", base, overwrite=True)
    plus[0, 1, 0] = 3  # above zero: in the mask
    base[0, 1, 0] = 5
    write_nrrd(labels / "tomo1_patch0.nrrd", base, overwrite=True)
    write_nrrd(folder / "remove_plus.nrrd", plus)
    write_nrrd(folder / "remove_minus.nrrd", minus)
    report = merge_corrections(MergeCorrectionsRequest(labels, corr, tmp_path / "o", border=0))
    assert len(report.items[0].masks["remove"]) == 3
    merged = np.asarray(read_volume(tmp_path / "o" / "tomo1_patch0.nii.gz").data)
    assert merged[0, 0, 0] == 5 and merged[0, 1, 0] == 0
    expected = np.vectorize(_reference)(base, add, remove | (plus + minus > 0), ignore)
    assert np.array_equal(merged, expected)


def test_folder_rules_missing_folder_other_files_and_unknown_prefixes(tmp_path):
    labels, corr, _ = _layout(tmp_path)
    write_nrrd(labels / "no_corrections.nrrd", np.zeros((3, 3, 3), "uint8"))
    (labels / "readme.txt").write_text("notes")
    (corr / "tomo1_patch0" / "notes.txt").write_text("mitk session")
    write_nrrd(corr / "tomo1_patch0" / "ADD.nrrd", np.ones((5, 5, 52), "uint8"))
    report = plan_merge(MergeCorrectionsRequest(labels, corr, tmp_path / "out"))
    assert [i.name for i in report.items] == ["tomo1_patch0"]
    assert report.without_folder == ("no_corrections",)
    assert sorted(p.name for p in report.not_masks) == ["ADD.nrrd", "notes.txt"]
    assert [p.name for p in report.other_files] == ["readme.txt"]
    merge_corrections(MergeCorrectionsRequest(labels, corr, tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tomo1_patch0.nii.gz"]


def test_nothing_overwritten_unless_asked(tmp_path):
    labels, corr, _ = _layout(tmp_path)
    out = tmp_path / "out"
    merge_corrections(MergeCorrectionsRequest(labels, corr, out))
    target = out / "tomo1_patch0.nii.gz"
    before = target.read_bytes()
    with pytest.raises(FileExistsError, match="tomo1_patch0.nii.gz"):
        merge_corrections(MergeCorrectionsRequest(labels, corr, out, border=0))
    assert target.read_bytes() == before
    merge_corrections(MergeCorrectionsRequest(labels, corr, out, border=0, overwrite=True))
    assert target.read_bytes() != before
    assert sorted(p.name for p in out.iterdir()) == ["tomo1_patch0.nii.gz"]  # no temporary left


def test_mask_of_another_shape_named(tmp_path):
    labels, corr, _ = _layout(tmp_path)
    write_nrrd(corr / "tomo1_patch0" / "Add_wrong.nrrd", np.ones((2, 2, 2), "uint8"))
    with pytest.raises(ValueError, match=r"tomo1_patch0/Add_wrong.nrrd has shape \(2, 2, 2\)"):
        merge_corrections(MergeCorrectionsRequest(labels, corr, tmp_path / "out"))
    assert not (tmp_path / "out" / "tomo1_patch0.nii.gz").exists()


def test_missing_folders_and_empty_labels_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no labels folder"):
        plan_merge(MergeCorrectionsRequest(tmp_path / "nope", tmp_path, tmp_path / "o"))
    (tmp_path / "l").mkdir()
    with pytest.raises(ValueError, match="holds no label file"):
        plan_merge(MergeCorrectionsRequest(tmp_path / "l", tmp_path, tmp_path / "o"))
