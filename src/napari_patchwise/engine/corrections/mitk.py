"""Corrections folders (MITK / MemBrain-seg style) in and out of a project's correction arrays.

A corrections folder holds one folder per box, ``C/NAME/``, of mask files
whose names start with Add/add, Remove/remove or Ignore/ignore (MITK saves
them as NRRD; any volume patchwise reads will do), as MemBrain-seg's
``merge_corrections`` reads them (:mod:`.merge`). ``NAME`` names a box of the
project as the export names its cases: ``box_0007`` (also ``box7``) for a box
of the image meant (the only one, or ``--image``), ``IMAGE_box_0007`` for a box
of the image ``IMAGE``. Each mask covers its box exactly, at the project's
magnification.

:func:`export_correction_patches` writes the patches to correct
(``images/NAME.nrrd``, ``labels/NAME.nrrd`` with 0 / 1 / 2 as MemBrain-seg's
labels, and an empty ``corrections/NAME/`` per box); :func:`import_corrections` brings the folder back into the project's
``corrections/CLASS/{remove,add,ignore}`` arrays (:mod:`.store`). The same
folder given to ``merge-corrections`` with the exported labels gives the
labels the project's corrections give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .merge import masks_in_folder, union_masks
from .store import CORRECTION_KINDS, correction_arrays

__all__ = ["ImportCorrectionsRequest", "ImportedBox", "ImportCorrectionsReport", "parse_box_name",
           "import_corrections", "ExportCorrectionsRequest", "export_correction_patches", "box_patch_name",
           "patch_labels"]

_BOX_NAME = re.compile(r"^(?:(?P<image>.+)_)?box_?(?P<id>\d+)$")


def parse_box_name(name: str) -> tuple[str | None, int] | None:
    """``(image or None, box id)`` of a box folder's name, ``None`` for a name that names no box.

    Examples
    --------
    >>> parse_box_name("box_0007"), parse_box_name("box7"), parse_box_name("tomo_01_box_0012")
    ((None, 7), (None, 7), ('tomo_01', 12))
    >>> parse_box_name("patch3") is None
    True
    """
    m = _BOX_NAME.match(name)
    if m is None:
        return None
    return m.group("image"), int(m.group("id"))


def box_patch_name(image: str, box_id: int, several_images: bool) -> str:
    """The name of a box's patch: the export's case name (``box_0007`` or ``IMAGE_box_0007``).

    Examples
    --------
    >>> box_patch_name("tomo", 7, False), box_patch_name("tomo", 7, True)
    ('box_0007', 'tomo_box_0007')
    """
    from ..export.images import image_case_name
    from ..export.model import case_name
    from ..geometry.box import Box

    if several_images:
        return image_case_name(image, box_id)
    return case_name(Box(int(box_id), (0, 0, 0), (1, 1, 1)))


@dataclass(frozen=True)
class ImportCorrectionsRequest:
    """What ``patchwise import-corrections`` brings into a project.

    Parameters
    ----------
    project : Path
        The project folder.
    corrections_dir : Path
        The corrections folder (``NAME/`` folders of Add / Remove / Ignore masks).
    image : str or None
        The image of names without one (``box_0007``); ``None``: the project's only image.
    class_name : str or None
        The class corrected; ``None``: the plan's only class.
    replace : bool
        Replace corrections a box already has (otherwise a box with any is refused).
    """

    project: Path
    corrections_dir: Path
    image: str | None = None
    class_name: str | None = None
    replace: bool = False


@dataclass(frozen=True)
class ImportedBox:
    """One box folder brought in: its name, image and box, and ``{kind: (files, voxels)}``."""

    name: str
    image: str
    box_id: int
    counts: dict


@dataclass(frozen=True)
class ImportCorrectionsReport:
    """What was imported (``boxes``), into which class, and the files and folders left out."""

    class_name: str
    boxes: tuple[ImportedBox, ...]
    empty: tuple[str, ...] = ()
    not_masks: tuple[Path, ...] = ()
    other_files: tuple[Path, ...] = ()


def _class_of(plan, class_name: str | None) -> str:
    names = [c.name for c in plan.classes]
    if class_name is None:
        if len(names) != 1:
            raise ValueError(f"the project has the classes {', '.join(names)}; say which one the corrections "
                             "correct (--class NAME).")
        return names[0]
    if class_name not in names:
        raise ValueError(f"the project has no class {class_name!r}; its classes are {', '.join(names)}.")
    return class_name


def _resolve(folder_name: str, collection, image: str | None) -> tuple[str, int] | str:
    """``(image, box id)`` of a folder's name, or the reason it names no box of the project."""
    parsed = parse_box_name(folder_name)
    if parsed is None:
        return "not a box name (box_0007 or IMAGE_box_0007)"
    named, box_id = parsed
    if named is not None and named not in collection.names:
        return f"the project has no image {named!r}"
    if named is not None and image is not None and named != image:
        return f"it names image {named!r}, not {image!r} (--image)"
    if named is None:
        if image is None and len(collection.names) > 1:
            return f"the project holds {len(collection.names)} images; name the image (IMAGE_{folder_name}) or give --image"
        named = image if image is not None else collection.names[0]
    if named not in collection.names:
        return f"the project has no image {named!r}"
    if box_id not in {b.id for b in collection.plan(named).boxes}:
        return f"image {named!r} has no box {box_id}"
    return named, box_id


def import_corrections(request: ImportCorrectionsRequest) -> ImportCorrectionsReport:
    """Bring a corrections folder into the project's correction arrays of one class.

    Every folder and mask is checked before anything is written: a folder
    that names no box of the project, a mask whose shape is not its box's
    (at the project's magnification), or a box that already has corrections
    (without ``replace``) refuses the whole import. Masks of one kind are
    summed and binarised (as ``merge-corrections`` does); a kind without a
    mask leaves the box's array empty. The caller holds the project's lock.

    Raises
    ------
    FileNotFoundError
        If the corrections folder does not exist.
    ValueError
        Naming the folders, masks or boxes refused, and the fix.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.classes import parse_classes
    >>> from napari_patchwise.engine.plan.project import create_project, open_project
    >>> from napari_patchwise.engine.io.nrrd_io import write_nrrd
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plan = Plan(ImageRef((8, 8, 8)), classes=parse_classes("membrane:semantic"))
    ...     proj = create_project(Path(tmp) / "p", plan.add_boxes([((0, 0, 0), (4, 4, 4))]))
    ...     (Path(tmp) / "c" / "box_0001").mkdir(parents=True)
    ...     add = np.zeros((4, 4, 4), "uint8"); add[1, 1, 1:3] = 1
    ...     _ = write_nrrd(Path(tmp) / "c" / "box_0001" / "Add1.nrrd", add)
    ...     report = import_corrections(ImportCorrectionsRequest(proj, Path(tmp) / "c"))
    ...     _, group = open_project(proj)
    ...     print(report.boxes[0].counts["add"], int(group["corrections/membrane/add"][:].sum()))
    (1, 2) 2
    """
    from ..plan.box_arrays import box_region
    from ..plan.plan_file import image_name, load_collection
    from ..plan.project import open_project
    from ..geometry.regions import region_shape

    corr = Path(request.corrections_dir)
    if not corr.is_dir():
        raise FileNotFoundError(f"no corrections folder at {corr}; check the path.")
    collection = load_collection(request.project)
    if request.image is not None:
        image_name(collection, request.image, request.project)  # raises naming the images
    class_name = _class_of(collection.plan(collection.names[0]), request.class_name)

    bad, plans, items, empty, not_masks = [], {}, [], [], []
    others = tuple(p for p in sorted(corr.iterdir()) if not p.is_dir())
    for folder in sorted(p for p in corr.iterdir() if p.is_dir()):
        where = _resolve(folder.name, collection, request.image)
        if isinstance(where, str):
            bad.append(f"{folder.name}/ ({where})")
            continue
        masks, here = masks_in_folder(folder)
        not_masks.extend(here)
        if not any(masks.values()):
            empty.append(folder.name)
            continue
        items.append((folder.name, where, masks))
    if bad:
        raise ValueError(f"{len(bad)} folder(s) of {corr} name no box of the project: {'; '.join(bad[:5])}"
                         f"{' ...' if len(bad) > 5 else ''}. Name each folder after its box as the project "
                         "exports it (box_0007, or IMAGE_box_0007), or move it out.")
    if not items:
        raise ValueError(f"{corr} holds no folder with Add*, Remove* or Ignore* masks; check the folder.")

    groups, unions = {}, []
    for name, (image, box_id), masks in items:
        if image not in groups:
            plans[image], groups[image] = open_project(request.project, image)
        plan = plans[image]
        box = next(b for b in plan.boxes if b.id == box_id)
        region = box_region(plan, box)
        shape = region_shape(region)
        union = {k: union_masks(paths, shape, f"box {box_id} of {image!r} at magnification "
                                f"{'x'.join(map(str, plan.magnification))}")
                 for k, paths in masks.items()}
        unions.append((name, image, box_id, region, masks, union))

    if not request.replace:
        held = []
        for name, image, box_id, region, _, _ in unions:
            arrays = correction_arrays(groups[image], class_name, create=False)
            if any(np.any(np.asarray(a[region])) for a in arrays.values()):
                held.append(name)
        if held:
            raise ValueError(f"{len(held)} box(es) already have {class_name!r} corrections: {', '.join(held[:5])}"
                             f"{' ...' if len(held) > 5 else ''}; nothing was written. Replace them "
                             "(--replace) or leave those folders out.")

    arrays = {image: correction_arrays(groups[image], class_name) for image in groups}
    for _, image, _, region, _, _ in unions:  # cleared first: overlapping boxes add up below
        for kind in CORRECTION_KINDS:
            arrays[image][kind][region] = 0
    boxes = []
    for name, image, box_id, region, masks, union in unions:
        counts = {}
        for kind in CORRECTION_KINDS:
            mask = union[kind]
            if mask is not None:
                target = arrays[image][kind]
                target[region] = np.asarray(target[region]) | mask.astype(np.uint8)
            counts[kind] = (len(masks[kind]), int(mask.sum()) if mask is not None else 0)
        boxes.append(ImportedBox(name, image, box_id, counts))
    return ImportCorrectionsReport(class_name, tuple(boxes), tuple(empty), tuple(not_masks), others)


def patch_labels(group, plan, class_name: str, region) -> np.ndarray:
    """A class's label patch as MemBrain-seg reads one: 1 the class, 0 annotated otherwise, 2 ignored.

    2 is the ignore layer (over everything, as in the annotation model) and
    voxels nobody annotated (neither a class nor background), which training
    leaves out too; another class counts as annotated "not this class" (0).
    Corrections are not applied: the patch is what they correct.

    Examples
    --------
    >>> import zarr
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.classes import parse_classes
    >>> plan = Plan(ImageRef((1, 1, 4)), classes=parse_classes("membrane:semantic"))
    >>> g = zarr.group()
    >>> for name, values in (("membrane", [1, 0, 0, 1]), ("background", [0, 1, 0, 0]), ("ignore", [0, 0, 0, 1])):
    ...     _ = g.create_array(name, data=np.array([[values]], "uint8"))
    >>> patch_labels(g, plan, "membrane", (slice(None),) * 3).tolist()
    [[[1, 0, 2, 2]]]
    """
    cls = np.asarray(group[class_name][region]) > 0
    annotated = cls | (np.asarray(group["background"][region]) > 0)
    for other in plan.classes:
        if other.name != class_name:
            annotated |= np.asarray(group[other.name][region]) > 0
    out = np.where(cls, 1, np.where(annotated, 0, 2)).astype(np.uint8)
    out[np.asarray(group["ignore"][region]) > 0] = 2
    return out


@dataclass(frozen=True)
class ExportCorrectionsRequest:
    """What ``patchwise export-corrections`` writes: the patches to correct, as NRRD.

    Parameters
    ----------
    project : Path
        The project folder.
    out_dir : Path
        A new or empty folder; ``images/NAME.nrrd``, ``labels/NAME.nrrd`` and
        an empty ``corrections/NAME/`` are written per box.
    image : str or None
        Only this image's boxes (``None``: every image).
    class_name : str or None
        The class whose labels are written (``None``: the plan's only class).
    box_ids : tuple of int or None
        Only these boxes (with one image).
    """

    project: Path
    out_dir: Path
    image: str | None = None
    class_name: str | None = None
    box_ids: tuple[int, ...] | None = None


def export_correction_patches(request: ExportCorrectionsRequest) -> tuple[str, ...]:
    """Write each box's image and labels as NRRD, and an empty corrections folder per box.

    The image is the box's part (as stored at magnification 1, else block
    means at the project's magnification, float32; raw NRRD), with the voxel
    size at that magnification; the labels are the class in the box as
    training reads it, before corrections (:func:`patch_labels`: 0 / 1 / 2,
    uint8). Names are the
    box names :func:`import_corrections` reads. Nothing is written into a
    folder that holds anything.

    Returns
    -------
    tuple of str
        The names written.

    Raises
    ------
    FileExistsError
        If ``out_dir`` is not empty.
    """
    from ..geometry.magnification import voxel_size_at
    from ..io.nrrd_io import write_nrrd
    from ..jobs.seed import project_image
    from ..plan.box_arrays import box_region, choose_boxes, image_at_mag
    from ..plan.plan_file import image_name, load_collection
    from ..plan.annotation_store import open_annotations

    out = Path(request.out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder; choose a new one (nothing is overwritten).")
    collection = load_collection(request.project)
    images = [image_name(collection, request.image, request.project)] if request.image else list(collection.names)
    if request.box_ids is not None and len(images) > 1:
        raise ValueError("boxes are numbered per image; give the image (--image) with the boxes.")
    class_name = _class_of(collection.plan(images[0]), request.class_name)
    several = len(collection.names) > 1
    work = []
    for image in images:
        plan = collection.plan(image)
        if request.box_ids is None and not plan.boxes:
            continue
        boxes = choose_boxes(plan, request.box_ids)
        work.append((image, plan, boxes))
    if not work:
        raise ValueError("the project has no boxes; propose or draw boxes first.")
    for sub in ("images", "labels", "corrections"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for image, plan, boxes in work:
        data = project_image(request.project, plan)
        group = open_annotations(request.project, plan, mode="r", image=image)
        vs = voxel_size_at(plan.image.voxel_size, plan.magnification)
        for box in boxes:
            name = box_patch_name(image, box.id, several)
            region = box_region(plan, box)
            if tuple(plan.magnification) == (1, 1, 1):
                patch = np.asarray(data[region])  # as it is (a 160³ uint8 patch: 4 MB, not 16)
            else:
                patch = image_at_mag(data, box, plan.magnification).astype(np.float32)
            labels = patch_labels(group, plan, class_name, region)
            # the image raw (gzip of noisy tomogram voxels takes long and saves little), the labels gzip
            write_nrrd(out / "images" / f"{name}.nrrd", patch, vs, plan.image.unit, compress=False)
            write_nrrd(out / "labels" / f"{name}.nrrd", labels, vs, plan.image.unit)
            (out / "corrections" / name).mkdir()
            names.append(name)
    return tuple(names)

