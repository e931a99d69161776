"""nnU-Net v2 export: a raw dataset folder ``DatasetNNN_Name`` read with ``Tiff3DIO``.

Layout::

    DatasetNNN_Name/
        dataset.json
        splits_final.json          when some cases are in the val split
        imagesTr/{case}_0000.tiff  train and val cases (_0001, ... : further channels)
        imagesTr/{case}.json       {"spacing": [z, y, x]}
        labelsTr/{case}.tiff
        labelsTr/{case}.json
        imagesTs/ labelsTs/        the same for test cases

Labels are uint8 (uint16 above 255 values): ``0`` background, ``1..K`` the
plan's classes, ``K+1`` ignore, which also marks unannotated voxels (nnU-Net
needs ``ignore`` to be the highest label and leaves those voxels out of its
losses). nnU-Net's ``Tiff3DIO`` ignores TIFF metadata and reads the spacing
of a case from the JSON file named like the case *without* the channel
suffix (``{case}.json`` beside ``{case}_0000.tiff``), the one for the label
from ``{case}.json`` beside the label.

nnU-Net reads ``splits_final.json`` from ``nnUNet_preprocessed/DatasetNNN_Name``:
copy it there after ``nnUNetv2_plan_and_preprocess`` to train on these splits.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .model import SPLITS, CaseOutput, CaseRef, Crop, ExportContext, ExportError
from ..io.tiff_write import write_tiff_spaced

FILE_ENDING = ".tiff"
#: Channel names nnU-Net maps to a normalisation other than its default z-score.
NORMALISATION_NAMES = ("ct", "nonorm", "zscore", "rescale_to_0_1", "rgb_to_0_1")
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ("dataset_id", "dataset_name")

def folder_name(ctx: ExportContext) -> str:
    """``Dataset{id:03d}_{name}``, after checking both.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> folder_name(SimpleNamespace(dataset_id=7, dataset_name="Nuclei_EM"))
    'Dataset007_Nuclei_EM'
    >>> folder_name(SimpleNamespace(dataset_id=1000, dataset_name="x"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: the nnU-Net dataset id must be ... 1 to 999; got 1000.
    """
    did, name = ctx.dataset_id, ctx.dataset_name
    if isinstance(did, bool) or not isinstance(did, (int, np.integer)) or not 1 <= int(did) <= 999:
        raise ExportError(f"the nnU-Net dataset id must be a whole number from 1 to 999; got {did!r}.")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ExportError(
            f"the nnU-Net dataset name {name!r} is not valid; use letters, digits, '_' and '-' "
            "(no spaces or dots), e.g. 'Nuclei_EM'."
        )
    return f"Dataset{int(did):03d}_{name}"


def label_dtype(num_classes: int) -> np.dtype:
    """uint8 while ``K + 1`` fits, uint16 above.

    Examples
    --------
    >>> label_dtype(3), label_dtype(254), label_dtype(255)
    (dtype('uint8'), dtype('uint8'), dtype('uint16'))
    """
    return np.dtype(np.uint8 if num_classes + 1 <= 255 else np.uint16)


def nnunet_labels(classmap: np.ndarray, num_classes: int) -> np.ndarray:
    """Map a classmap to nnU-Net values: unannotated (``-1``) becomes ignore (``K+1``).

    Examples
    --------
    >>> nnunet_labels(np.array([-1, 0, 1, 2, 3], np.int16), 2).tolist()
    [3, 0, 1, 2, 3]
    """
    out = np.asarray(classmap).astype(label_dtype(num_classes))
    out[np.asarray(classmap) < 0] = num_classes + 1
    return out


def channel_name(image_name: str) -> str:
    """A channel name from the image name that keeps nnU-Net's default (z-score) normalisation.

    nnU-Net picks a normalisation from the channel name (``'CT'``,
    ``'noNorm'``...); an image that happens to be called so gets a suffix.

    Examples
    --------
    >>> channel_name("em_stack"), channel_name("CT"), channel_name("  ")
    ('em_stack', 'CT image', 'image')
    """
    name = image_name.strip() or "image"
    return f"{name} image" if name.casefold() in NORMALISATION_NAMES else name


def label_mapping(ctx: ExportContext) -> dict[str, int]:
    """The values the label files hold (``unannotated`` shares ``ignore``'s value).

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> label_mapping(ExportContext(Plan(ImageRef((4, 4, 4)))))
    {'background': 0, 'nuclei': 1, 'ignore': 2, 'unannotated': 2}
    """
    k = len(ctx.class_names)
    return {"background": 0, **{n: i for i, n in enumerate(ctx.class_names, start=1)}, "ignore": k + 1,
            "unannotated": k + 1}


def channel_names(image) -> dict[str, str]:
    """``dataset.json``'s ``channel_names`` of a plan's image: its name for one channel, else the
    channel names (``channel_0``... when none were given), each kept clear of nnU-Net's
    normalisation names.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef
    >>> channel_names(ImageRef((2, 4, 4), name="cells")), channel_names(ImageRef((2, 4, 4), channels=2,
    ...     channel_names=("raw", "CT")))
    ({'0': 'cells'}, {'0': 'raw', '1': 'CT image'})
    """
    if image.channels == 1:
        return {"0": channel_name(image.name)}
    return {str(i): channel_name(n) for i, n in enumerate(image.channel_labels)}


def _dirs(split: str) -> tuple[str, str]:
    if split not in SPLITS:
        raise ExportError(f"unknown split {split!r}; a case is in one of {', '.join(SPLITS)}.")
    return ("imagesTs", "labelsTs") if split == "test" else ("imagesTr", "labelsTr")


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write the image, the label and their spacing files of one case."""
    image = np.asarray(crop.image)
    if image.ndim not in (3, 4) or image.shape[-3:] != crop.composition.classmap.shape:
        raise ExportError(
            f"{crop.case}: image {image.shape} and annotation {crop.composition.classmap.shape} must be "
            "3D arrays of one shape (the image may have channels first)."
        )
    channels = image if image.ndim == 4 else image[None]
    if len(channels) != ctx.plan.image.channels:
        raise ExportError(
            f"{crop.case}: the image has {len(channels)} channel(s) but the dataset {ctx.plan.image.channels}; "
            "every image of one nnU-Net dataset needs the same channels: export them to separate datasets.")
    k = len(ctx.class_names)
    labels = nnunet_labels(crop.composition.classmap, k)
    img_dir, lab_dir = _dirs(crop.split)
    spacing = {"spacing": [float(v) for v in crop.voxel_size]}
    files = {
        **{f"{img_dir}/{crop.case}_{c:04d}{FILE_ENDING}": channel for c, channel in enumerate(channels)},
        f"{img_dir}/{crop.case}.json": spacing,
        f"{lab_dir}/{crop.case}{FILE_ENDING}": labels,
        f"{lab_dir}/{crop.case}.json": spacing,
    }
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            _write_json(path, content)
        else:
            write_tiff_spaced(path, content, crop.voxel_size, ctx.plan.image.unit)
    return CaseOutput(files=tuple(sorted(files)))


def _holds_ignore(path: Path, ignore: int) -> bool:
    import tifffile

    if not path.exists():
        raise ExportError(
            f"the label file {path} of a case in this export is missing; export again with "
            "overwrite to rebuild the nnU-Net folder."
        )
    return bool(np.any(tifffile.imread(path) == ignore))


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext, images: Sequence[str] = ()) -> CaseOutput:
    """Write ``dataset.json`` (and ``splits_final.json``) from every case of the folder.

    ``labels`` lists ``ignore`` only when some label file holds it;
    ``numTraining`` counts the train and val cases. ``images`` names every
    image the cases come from (from every project of the dataset): the
    description lists them when there are several, and the channel is then
    named ``image``; with one (or none given), both come from the context's image.
    """
    root = Path(root)
    names = [c.case for c in cases]
    if len(set(names)) != len(names):
        raise ExportError(f"a case is listed twice: {sorted({n for n in names if names.count(n) > 1})}.")
    k = len(ctx.class_names)
    labels = {"background": 0, **{name: i for i, name in enumerate(ctx.class_names, start=1)}}
    if any(_holds_ignore(root / _dirs(c.split)[1] / f"{c.case}{FILE_ENDING}", k + 1) for c in cases):
        labels["ignore"] = k + 1
    train = sorted(c.case for c in cases if c.split == "train")
    val = sorted(c.case for c in cases if c.split == "val")
    shown = list(dict.fromkeys(images))
    source = repr(ctx.plan.image.name) if len(shown) <= 1 else \
        f"{len(shown)} images ({', '.join(shown[:5])}{', ...' if len(shown) > 5 else ''})"
    dataset = {
        "channel_names": channel_names(ctx.plan.image) if len(shown) <= 1 or ctx.plan.image.channels > 1
        else {"0": channel_name("image")},
        "labels": labels,
        "numTraining": len(train) + len(val),
        "file_ending": FILE_ENDING,
        "overwrite_image_reader_writer": "Tiff3DIO",
        "name": folder_name(ctx),
        "description": f"Training crops of {source} exported by napari-patchwise.",
    }
    _write_json(root / "dataset.json", dataset)
    written = ["dataset.json"]
    splits = root / "splits_final.json"
    if val:
        _write_json(splits, [{"train": train, "val": val}])
        written.append("splits_final.json")
    elif splits.exists():
        splits.unlink()
    return CaseOutput(files=tuple(written))


def read_case(root: Path, case: str, ctx: ExportContext | None = None) -> dict:
    """Read back one case: ``{'image', 'labels', 'spacing', 'label_spacing', 'split'}``.

    Raises
    ------
    ExportError
        If the case is not in the folder.
    """
    import tifffile

    root = Path(root)
    for split, (img_dir, lab_dir) in (("train", _dirs("train")), ("test", _dirs("test"))):
        img = root / img_dir / f"{case}_0000{FILE_ENDING}"
        if img.exists():
            def spacing(folder):
                return tuple(json.loads((root / folder / f"{case}.json").read_text())["spacing"])

            more = sorted((root / img_dir).glob(f"{case}_[0-9][0-9][0-9][0-9]{FILE_ENDING}"))
            image = tifffile.imread(img) if len(more) == 1 else np.stack([tifffile.imread(p) for p in more])
            return {
                "image": image,
                "labels": tifffile.imread(root / lab_dir / f"{case}{FILE_ENDING}"),
                "spacing": spacing(img_dir),
                "label_spacing": spacing(lab_dir),
                "split": "test" if split == "test" else "train/val",
            }
    raise ExportError(f"case {case!r} is not in {root} (neither imagesTr nor imagesTs).")


def verify_nnunet(dataset_folder, num_processes: int = 1) -> str:
    """Run nnU-Net's ``verify_dataset_integrity`` on an exported folder.

    nnU-Net checks its cases in processes it starts with ``spawn``: call this
    from a script or module, not from code typed on standard input.

    Parameters
    ----------
    dataset_folder : str or Path
        The ``DatasetNNN_Name`` folder.
    num_processes : int
        Worker processes nnU-Net starts.

    Returns
    -------
    str
        What nnU-Net printed.

    Raises
    ------
    ExportError
        If nnU-Net v2 is not installed, or the check fails (with nnU-Net's
        messages).
    """
    try:
        from nnunetv2.experiment_planning.verify_dataset_integrity import (
            verify_dataset_integrity,
        )
    except ImportError as e:
        raise ExportError("checking an nnU-Net dataset needs nnU-Net v2: pip install nnunetv2") from e
    folder = Path(dataset_folder)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            verify_dataset_integrity(str(folder), num_processes=num_processes)
    except Exception as e:  # nnU-Net reports problems as assertions and RuntimeErrors
        details = "\n".join(_case_messages(folder)) if isinstance(e, RuntimeError) else ""
        msg = str(e).strip() or type(e).__name__
        if details:
            msg = msg.replace("Please check text output above to see which one(s).", "").strip()
            msg += f"\nnnU-Net's messages:\n{details}"
        raise ExportError(f"nnU-Net's integrity check failed for {folder}:\n{msg}") from e
    return out.getvalue()


def _case_messages(folder: Path) -> list[str]:
    """nnU-Net's per-case messages (its workers print them), found again in this process."""
    from nnunetv2.experiment_planning.verify_dataset_integrity import (
        check_cases,
        verify_labels,
    )
    from nnunetv2.imageio.reader_writer_registry import (
        determine_reader_writer_from_dataset_json,
    )
    from nnunetv2.utilities.label_handling.label_handling import LabelManager

    dataset = json.loads((folder / "dataset.json").read_text())
    ending = dataset["file_ending"]
    manager = LabelManager(dataset["labels"], regions_class_order=dataset.get("regions_class_order"))
    expected = list(manager.all_labels) + ([manager.ignore_label] if manager.has_ignore_label else [])
    messages, rw = [], None
    for label in sorted((folder / "labelsTr").glob(f"*{ending}")):
        images = [str(folder / "imagesTr" / f"{label.name[: -len(ending)]}_{c:04d}{ending}")
                  for c in range(len(dataset["channel_names"]))]
        if not all(Path(i).exists() for i in images):
            continue
        if rw is None:
            with contextlib.redirect_stdout(io.StringIO()):  # it names the reader it picked
                rw = determine_reader_writer_from_dataset_json(dataset, images[0])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ok = verify_labels(str(label), rw, expected)
            ok = check_cases(images, str(label), len(dataset["channel_names"]), rw) and ok
        if not ok:
            messages.append(out.getvalue().strip())
    return messages
