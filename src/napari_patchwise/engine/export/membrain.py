"""MemBrain-seg export: its training layout of NIfTI patches with labels 0 / 1 / 2.

Folder ``membrain/``, read by MemBrain-seg's training (``membrain train
--data-dir OUT/membrain``)::

    membrain/
        imagesTr/{stem}_0000.nii.gz   train cases: the image
        labelsTr/{stem}.nii.gz        its labels
        imagesVal/ labelsVal/         the same for val cases
        imagesTs/ labelsTs/           test cases (MemBrain-seg does not read them; kept
                                      for evaluating a trained model)

MemBrain-seg pairs each file of a labels folder with the image named like it
plus ``_0000`` in the images folder beside it, and takes a patch's *dataset
token* from its file name up to the first ``_``. Stems are therefore
``{token}_{image}_patch{box id}``: ``token`` the dataset token (letters,
digits and ``-``; by default the project folder's name without other
characters, :func:`default_token`), ``image`` the case's image (and project,
with several), as the other formats name their cases.

Labels are uint8: ``0`` no membrane, ``1`` membrane, ``2`` ignore, which also
marks every unannotated voxel (and the preset's border, which the annotation
model composes as ignore). MemBrain-seg learns one foreground class: a plan
of one class exports it as membrane; a plan of several exports the class
chosen with ``membrain_class`` (``--membrain-class``) as membrane and the
others as *no membrane*. Images are one channel, written in their own type;
the voxel size goes into the NIfTI header as
:func:`~napari_patchwise.engine.io.nifti.write_nifti` writes it (in
micrometres). MemBrain-seg's training reads only the arrays, and its
segmentation rescales tomograms to 10 Å voxels by default: export at a
magnification near that voxel size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..io.cryoet_extra import cryoet_module
from ..io.nifti import open_nifti, write_nifti
from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError

FOLDER = "membrain"
FILE_ENDING = ".nii.gz"
#: Label values MemBrain-seg trains on.
NO_MEMBRANE, MEMBRANE, IGNORE = 0, 1, 2
#: Image and label folders of each split.
DIRS = {"train": ("imagesTr", "labelsTr"), "val": ("imagesVal", "labelsVal"), "test": ("imagesTs", "labelsTs")}
#: The token used when a project's name has no letter or digit.
FALLBACK_TOKEN = "patchwise"
_TOKEN = re.compile(r"^[A-Za-z0-9-]+$")
_CASE = re.compile(r"^(?:(.*)_)?box_(\d+)$")

#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ("membrain_token", "membrain_class")


def default_token(project_name: str) -> str:
    """The dataset token of a project: its name without characters a token may not hold.

    Examples
    --------
    >>> default_token("tomo_2024-05 run"), default_token("__"), default_token("Spinach")
    ('tomo2024-05run', 'patchwise', 'Spinach')
    """
    token = re.sub(r"[^A-Za-z0-9-]", "", str(project_name)).strip("-")
    return token or FALLBACK_TOKEN


def check_token(token) -> str:
    """The dataset token, or a clear error when MemBrain-seg would read it otherwise.

    Examples
    --------
    >>> check_token("spinach-2")
    'spinach-2'
    >>> check_token("my_data")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: the MemBrain-seg dataset token 'my_data' ... e.g. 'mydata'.
    """
    if isinstance(token, str) and _TOKEN.match(token):
        return token
    hint = default_token(token if isinstance(token, str) else "")
    why = "has a '_' (MemBrain-seg takes a patch's dataset token from its file name up to the first '_')" \
        if isinstance(token, str) and "_" in token else "is not a dataset token"
    raise ExportError(f"the MemBrain-seg dataset token {token!r} {why}; use letters, digits and '-' "
                      f"(--membrain-token, or the Export dock's token), e.g. {hint!r}.")


def membrane_class(ctx: ExportContext) -> str:
    """The class exported as membrane: ``membrain_class``, or the plan's only class.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.classes import ClassSpec
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("membrane", "semantic"),))
    >>> membrane_class(ExportContext(plan))
    'membrane'
    >>> two = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("membrane", "semantic"), ClassSpec("actin", "semantic")))
    >>> try:
    ...     membrane_class(ExportContext(two))
    ... except ExportError as e:
    ...     print(str(e).split(";")[1].split(",")[0])
     choose the one exported as membrane (--membrain-class membrane
    >>> membrane_class(ExportContext(two, membrain_class="actin"))
    'actin'
    """
    names = [c.name for c in ctx.plan.classes]
    chosen = ctx.membrain_class
    if chosen is not None:
        if chosen not in names:
            raise ExportError(f"{chosen!r} is not a class of this plan (its classes: {', '.join(names)}); "
                              "choose one of them as the membrane class.")
        return chosen
    if len(names) == 1:
        return names[0]
    raise ExportError(f"MemBrain-seg learns one class (membrane) and this plan has {len(names)} "
                      f"({', '.join(names)}); choose the one exported as membrane (--membrain-class "
                      f"{names[0]}, or the Export dock's membrane class): the others become 'no membrane'.")


def context_defaults(ctx: ExportContext, projects: Sequence) -> ExportContext:
    """The context with the token (from the first project's folder name) and the class filled in.

    Raises
    ------
    ExportError
        For a token MemBrain-seg would read otherwise, or no single class to export.
    """
    token = ctx.membrain_token
    if token is None:
        token = default_token(Path(projects[0]).name if projects else FALLBACK_TOKEN)
    return replace(ctx, membrain_token=check_token(token), membrain_class=membrane_class(ctx))


def folder_name(ctx: ExportContext) -> str:
    """The MemBrain-seg folder is always ``membrain`` (after checking the token, the class and that
    NIfTI can be written, so nothing is started that cannot finish)."""
    if ctx.membrain_token is not None:
        check_token(ctx.membrain_token)
    membrane_class(ctx)
    try:
        cryoet_module("nibabel")
    except ImportError as e:
        raise ExportError(f"the MemBrain-seg export writes NIfTI: {e}") from None
    return FOLDER


def label_mapping(ctx: ExportContext) -> dict[str, int]:
    """The values the label files hold.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.classes import ClassSpec
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("mem", "semantic"), ClassSpec("actin", "semantic")))
    >>> label_mapping(ExportContext(plan, membrain_class="mem"))
    {'background': 0, 'actin': 0, 'mem': 1, 'ignore': 2, 'unannotated': 2}
    """
    chosen = membrane_class(ctx)
    others = {c.name: NO_MEMBRANE for c in ctx.plan.classes if c.name != chosen}
    return {"background": NO_MEMBRANE, **others, chosen: MEMBRANE, "ignore": IGNORE, "unannotated": IGNORE}


def membrain_labels(classmap: np.ndarray, class_value: int, num_classes: int) -> np.ndarray:
    """A classmap as MemBrain-seg labels: the class ``class_value`` is 1, unannotated and ignore 2, else 0.

    Examples
    --------
    >>> membrain_labels(np.array([-1, 0, 1, 2, 3], np.int16), 2, 2).tolist()
    [2, 0, 0, 1, 2]
    """
    cm = np.asarray(classmap)
    out = np.full(cm.shape, NO_MEMBRANE, np.uint8)
    out[cm == class_value] = MEMBRANE
    out[(cm < 0) | (cm == num_classes + 1)] = IGNORE
    return out


def patch_stem(case: str, box_id: int, image_name: str, token: str) -> str:
    """The file stem of a case: ``{token}_{image}_patch{box id}``.

    The image part is what the case name holds before ``box_NNNN`` (the
    image, and the project with several), or the image's name for cases
    named after the box alone; characters other than letters, digits, ``_``
    and ``-`` become ``-``.

    Examples
    --------
    >>> patch_stem("box_0007", 7, "tomo.mrc", "spinach")
    'spinach_tomo-mrc_patch7'
    >>> patch_stem("p1_tomo_box_0012", 12, "tomo", "spinach")
    'spinach_p1_tomo_patch12'
    """
    m = _CASE.match(case)
    part = (m.group(1) if m else case) or image_name or "image"
    part = re.sub(r"[^A-Za-z0-9_-]", "-", part)
    return f"{token}_{part}_patch{int(box_id)}"


def _paths(split: str, stem: str) -> tuple[str, str]:
    img_dir, lab_dir = DIRS[split]
    return f"{img_dir}/{stem}_0000{FILE_ENDING}", f"{lab_dir}/{stem}{FILE_ENDING}"


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write the image and the labels of one case into its split's folders."""
    root = Path(root)
    ctx = ctx if ctx.membrain_token is not None else replace(ctx, membrain_token=FALLBACK_TOKEN)
    image = np.asarray(crop.image)
    comp = crop.composition
    if image.ndim != 3:
        raise ExportError(f"{crop.case}: MemBrain-seg trains on one-channel volumes, and this image has "
                          f"shape {image.shape}; export an image of one channel (or another format).")
    if image.shape != comp.classmap.shape:
        raise ExportError(f"{crop.case}: image {image.shape} and annotation {comp.classmap.shape} differ in shape.")
    chosen = membrane_class(ctx)
    value = list(comp.class_names).index(chosen) + 1
    labels = membrain_labels(comp.classmap, value, len(comp.class_names))
    stem = patch_stem(crop.case, crop.box.id, ctx.plan.image.name, ctx.membrain_token)
    rel_img, rel_lab = _paths(crop.split, stem)
    unit = ctx.plan.image.unit
    for rel, data in ((rel_img, image), (rel_lab, labels)):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_nifti(path, data, crop.voxel_size, unit)
        except FileExistsError:
            raise ExportError(f"{crop.case}: {rel} is already written by another case (two cases give the "
                              f"file stem {stem}); rename one of the images.") from None
    warnings = () if (labels != IGNORE).any() else ("every voxel is ignore (2): the patch teaches nothing",)
    return CaseOutput(files=(rel_img, rel_lab), warnings=warnings)


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> CaseOutput:
    """The four folders MemBrain-seg lists (created even when empty), and what a person should know."""
    root = Path(root)
    for split in ("train", "val"):
        for folder in DIRS[split]:
            (root / folder).mkdir(exist_ok=True)
    counts = {s: sum(1 for c in cases if c.split == s) for s in DIRS}
    notes = [f"dataset token {ctx.membrain_token}, membrane class {membrane_class(ctx)!r}: "
             f"{counts['train']} train, {counts['val']} val patches"]
    warnings = []
    if counts["test"]:
        notes.append(f"{counts['test']} test patches in imagesTs/labelsTs (MemBrain-seg's training does not "
                     "read them)")
    if not counts["val"]:
        warnings.append("no val patches: MemBrain-seg validates on imagesVal/labelsVal; give a validation "
                        "fraction (--split 0.8,0.2).")
    return CaseOutput(files=(), warnings=tuple(warnings), notes=tuple(notes))


def read_case(root: Path, case: str, ctx: ExportContext) -> dict:
    """Read back one case: ``{'image', 'labels', 'voxel_size', 'unit', 'split', 'stem'}`` (arrays ``(z, y, x)``).

    ``case`` is the case name (``box_0007``) or the file stem.

    Raises
    ------
    ExportError
        If the case is not in the folder.
    """
    root = Path(root)
    token = ctx.membrain_token or FALLBACK_TOKEN
    m = _CASE.match(case)
    stem = patch_stem(case, int(m.group(2)), ctx.plan.image.name, token) if m else case
    for split in DIRS:
        rel_img, rel_lab = _paths(split, stem)
        if (root / rel_lab).exists():
            image, vs, unit, _ = open_nifti(root / rel_img)
            labels, _, _, _ = open_nifti(root / rel_lab)
            return {"image": np.asarray(image).transpose(2, 1, 0), "labels": np.asarray(labels).transpose(2, 1, 0),
                    "voxel_size": vs, "unit": unit, "split": split, "stem": stem}
    raise ExportError(f"case {case!r} is not in {root} (no {stem}{FILE_ENDING} in labelsTr, labelsVal or labelsTs).")
