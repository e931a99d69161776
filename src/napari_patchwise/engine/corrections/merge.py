"""MemBrain-seg's correction merge: a label patch, its Add / Remove / Ignore masks, one ``.nii.gz``.

The folder structure is MemBrain-seg's (``membrain merge_corrections``): a
labels folder holding ``NAME.nii.gz``, ``NAME.nrrd`` or ``NAME.mrc`` and a
corrections folder holding, for each, a folder ``NAME/`` of masks whose file
names start with ``Add`` / ``add``, ``Remove`` / ``remove`` or ``Ignore`` /
``ignore`` (MITK saves them as NRRD; any volume patchwise reads will do).
Masks of one kind are summed and a voxel is in the kind where the sum is
above zero. Then, as MemBrain-seg merges: the labels as they are, Remove
sets 0, Add sets 1, Ignore sets 2 (each over the ones before), and a border
of ``border`` voxels (16) on every face is set to 2. The result is
``OUT/NAME.nii.gz``. A label file without a corrections folder is left out
(and reported), as are files of a folder that start with none of the
prefixes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Value each kind of mask sets, in the order they are applied.
KIND_VALUES = {"remove": 0, "add": 1, "ignore": 2}
#: The ignore label, also given to the border.
IGNORE = 2
#: MemBrain-seg's border, in voxels on every face.
BORDER = 16
LABEL_SUFFIXES = (".nii.gz", ".nrrd", ".mrc")


def correction_kind(filename: str) -> str | None:
    """``'add'``, ``'remove'`` or ``'ignore'`` for a mask's file name, ``None`` for another file.

    Examples
    --------
    >>> [correction_kind(n) for n in ("Add1.nrrd", "remove_b.nrrd", "Ignore.nii.gz", "ADD.nrrd", "notes.txt")]
    ['add', 'remove', 'ignore', None, None]
    """
    for kind in KIND_VALUES:
        if filename.startswith((kind.capitalize(), kind)):
            return kind
    return None


def merge_masks(labels, add=None, remove=None, ignore=None, border: int = BORDER) -> np.ndarray:
    """The labels corrected: Remove -> 0, then Add -> 1, then Ignore -> 2, then the border -> 2.

    Parameters
    ----------
    labels : array
        ``(z, y, x)`` labels.
    add, remove, ignore : array, optional
        Masks of the labels' shape (``> 0``: in the mask), or ``None`` for none.
    border : int
        Voxels set to 2 on every face (0: none).

    Examples
    --------
    >>> base = np.array([[[0, 1, 1, 0]]])
    >>> merge_masks(base, add=np.array([[[1, 0, 0, 1]]]), remove=np.array([[[0, 1, 0, 1]]]),
    ...             ignore=np.array([[[0, 0, 0, 1]]]), border=0).tolist()
    [[[1, 0, 1, 2]]]
    """
    out = np.array(labels, copy=True)
    for kind, mask in (("remove", remove), ("add", add), ("ignore", ignore)):
        if mask is not None:
            out[np.asarray(mask) > 0] = KIND_VALUES[kind]
    if border > 0:
        b = int(border)
        for axis in range(out.ndim):
            lead = (slice(None),) * axis
            out[lead + (slice(0, b),)] = IGNORE
            out[lead + (slice(max(out.shape[axis] - b, 0), None),)] = IGNORE
    return out


@dataclass(frozen=True)
class MergeCorrectionsRequest:
    """What ``patchwise merge-corrections`` merges.

    Parameters
    ----------
    labels_dir, corrections_dir, out_dir : Path
        MemBrain-seg's folders (``out_dir`` is made when missing).
    border : int
        Ignore border in voxels (MemBrain-seg: 16).
    overwrite : bool
        Replace outputs that exist (otherwise nothing is written while one does).
    """

    labels_dir: Path
    corrections_dir: Path
    out_dir: Path
    border: int = BORDER
    overwrite: bool = False


@dataclass(frozen=True)
class MergeItem:
    """One label file and the masks that correct it."""

    name: str
    labels: Path
    masks: dict = field(default_factory=dict)  # kind -> tuple of Paths
    out: Path | None = None


@dataclass(frozen=True)
class MergeReport:
    """What was merged (``items``), and what was left out and why."""

    items: tuple[MergeItem, ...]
    without_folder: tuple[str, ...] = ()
    not_masks: tuple[Path, ...] = ()
    other_files: tuple[Path, ...] = ()
    written: tuple[Path, ...] = ()


def _label_name(filename: str) -> str | None:
    for suffix in LABEL_SUFFIXES:
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return None


def masks_in_folder(folder) -> tuple[dict[str, tuple[Path, ...]], tuple[Path, ...]]:
    """The mask files of one corrections folder by kind, and its files that are no mask.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for n in ("Add1.nrrd", "add2.nrrd", "Ignore.nrrd", "notes.txt"):
    ...         _ = (Path(tmp) / n).write_text("")
    ...     masks, others = masks_in_folder(tmp)
    ...     print({k: [p.name for p in v] for k, v in masks.items()}, [p.name for p in others])
    {'remove': [], 'add': ['Add1.nrrd', 'add2.nrrd'], 'ignore': ['Ignore.nrrd']} ['notes.txt']
    """
    masks: dict[str, list[Path]] = {k: [] for k in KIND_VALUES}
    others = []
    for f in sorted(p for p in Path(folder).iterdir() if p.is_file()):
        kind = correction_kind(f.name)
        if kind is None:
            others.append(f)
        else:
            masks[kind].append(f)
    return {k: tuple(v) for k, v in masks.items()}, tuple(others)


def plan_merge(request: MergeCorrectionsRequest) -> MergeReport:
    """Which label files have a corrections folder, their masks by kind, and the files left out.

    Raises
    ------
    FileNotFoundError
        If the labels or corrections folder does not exist.
    ValueError
        If two label files have the same name (``a.nrrd`` and ``a.mrc``) or none is found.
    """
    labels_dir, corr_dir = Path(request.labels_dir), Path(request.corrections_dir)
    for what, folder in (("labels", labels_dir), ("corrections", corr_dir)):
        if not folder.is_dir():
            raise FileNotFoundError(f"no {what} folder at {folder}; check the path.")
    items, without, not_masks, others, seen = [], [], [], [], {}
    for path in sorted(p for p in labels_dir.iterdir() if p.is_file()):
        name = _label_name(path.name)
        if name is None:
            others.append(path)
            continue
        if name in seen:
            raise ValueError(f"{seen[name].name} and {path.name} in {labels_dir} have the same name {name!r}; "
                             "keep one of them.")
        seen[name] = path
        folder = corr_dir / name
        if not folder.is_dir():
            without.append(name)
            continue
        masks, others_here = masks_in_folder(folder)
        not_masks.extend(others_here)
        items.append(MergeItem(name, path, masks, Path(request.out_dir) / f"{name}.nii.gz"))
    if not seen:
        raise ValueError(f"{labels_dir} holds no label file (.nii.gz, .nrrd or .mrc); check the folder.")
    return MergeReport(tuple(items), tuple(without), tuple(not_masks), tuple(others))


def merge_corrections(request: MergeCorrectionsRequest) -> MergeReport:
    """Merge every label file with its corrections folder into ``out_dir/NAME.nii.gz``.

    Every output is checked before anything is written: while one exists and
    ``overwrite`` is not set, nothing is written. Each file is written under a
    temporary name and renamed, so an output is either complete or absent.

    Raises
    ------
    FileExistsError
        Naming the outputs that exist.
    ValueError
        If a mask's shape differs from its labels'.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.io.nrrd_io import write_nrrd
    >>> from napari_patchwise.engine.io.volumes import read_volume
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     t = Path(tmp)
    ...     (t / "labels").mkdir(); (t / "corr" / "p1").mkdir(parents=True)
    ...     _ = write_nrrd(t / "labels" / "p1.nrrd", np.zeros((1, 1, 3), "uint8"))
    ...     _ = write_nrrd(t / "corr" / "p1" / "Add1.nrrd", np.array([[[1, 1, 0]]], "uint8"))
    ...     _ = write_nrrd(t / "corr" / "p1" / "ignore_me.nrrd", np.array([[[0, 1, 0]]], "uint8"))
    ...     report = merge_corrections(MergeCorrectionsRequest(t / "labels", t / "corr", t / "out", border=0))
    ...     print([p.name for p in report.written], np.asarray(read_volume(t / "out" / "p1.nii.gz").data).tolist())
    ['p1.nii.gz'] [[[1, 2, 0]]]
    """
    from ..io.nifti import write_nifti

    report = plan_merge(request)
    existing = [item.out for item in report.items if item.out.exists()]
    if existing and not request.overwrite:
        names = ", ".join(p.name for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise FileExistsError(f"{len(existing)} output(s) exist in {request.out_dir} ({names}); choose another "
                              "output folder or allow overwriting.")
    Path(request.out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for item in report.items:
        labels, vs, unit = _read(item.labels)
        masks = {kind: union_masks(paths, labels.shape, item.labels.name) for kind, paths in item.masks.items()}
        merged = merge_masks(labels, border=request.border, **masks)
        tmp = item.out.with_name(f".{item.name}.partial.nii.gz")
        write_nifti(tmp, _compact(merged), vs, unit, overwrite=True)
        os.replace(tmp, item.out)
        written.append(item.out)
    return MergeReport(report.items, report.without_folder, report.not_masks, report.other_files, tuple(written))


def _read(path: Path):
    from ..io.volumes import read_volume

    vol = read_volume(path)
    return np.asarray(vol.data), vol.voxel_size, vol.unit


def union_masks(paths, shape, labels_name: str):
    """Masks of one kind summed, then above zero (``None`` without any); a mask of another shape raises."""
    if not paths:
        return None
    total = np.zeros(shape, dtype=np.float64)
    for p in paths:
        mask, _, _ = _read(p)
        if mask.shape != tuple(shape):
            raise ValueError(f"{p.parent.name}/{p.name} has shape {mask.shape} but {labels_name} has {tuple(shape)}; "
                             "a correction mask must cover its label patch exactly.")
        total += mask
    return total > 0


def _compact(labels: np.ndarray) -> np.ndarray:
    """Integer labels in the smallest type that holds them (uint8 for 0 / 1 / 2)."""
    if labels.dtype.kind == "f":
        if not np.all(np.mod(labels, 1) == 0):
            return labels.astype(np.float32)
    lo, hi = (int(labels.min()), int(labels.max())) if labels.size else (0, 0)
    for t in (np.uint8, np.int16, np.int32):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return labels.astype(t)
    return labels
