"""What every export format shares: a crop, the export context and the options.

An export turns each validated box into a *case*: the image and the composed
annotation of the box at the training magnification (:class:`Crop`). Format
writers (``nnunet``, ``stardist``, ``cellpose``, ``omezarr``, ``membrain``) turn cases into
files; :func:`~napari_patchwise.engine.export.run.export_project` chooses the
boxes, assigns splits, stages the files in a temporary folder, writes the
manifest and moves everything into place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..plan.annotation import Composition
from ..geometry.box import Box
from ..geometry.magnification import _as_int_triple
from ..plan.plan import Plan
from ..findings import Finding

#: The formats, in the order they are offered.
FORMAT_NAMES = ("nnunet", "stardist", "cellpose", "omezarr", "membrain")
#: Splits a case can belong to.
SPLITS = ("train", "val", "test")
#: The manifest written into every exported folder.
MANIFEST_NAME = "patchwise_manifest.json"


class ExportError(ValueError):
    """An export cannot run (the message says what is wrong and how to fix it)."""


_CASE_WARNING = re.compile(r"^(\S+) (\S*box_\d+): (.*)$", re.S)


def _grouped(warnings: list[str]) -> list[str]:
    """Warnings with the same text for several cases of a format, said once.

    Examples
    --------
    >>> _grouped(["stardist box_0001: small", "stardist box_0002: small", "plan: few boxes"])
    ['stardist box_0001, box_0002: small', 'plan: few boxes']
    >>> _grouped(["nnunet a_box_0001: odd", "nnunet b_box_0001: odd"])
    ['nnunet a_box_0001, b_box_0001: odd']
    """
    out: list = []
    seen: dict[tuple[str, str], list] = {}
    for w in warnings:
        m = _CASE_WARNING.match(w)
        if m is None:
            out.append(w)
            continue
        key = (m.group(1), m.group(3))
        if key not in seen:
            seen[key] = []
            out.append(key)
        seen[key].append(m.group(2))
    return [w if isinstance(w, str) else f"{w[0]} {', '.join(seen[w])}: {w[1]}" for w in out]


def case_name(box: Box) -> str:
    """The case identifier of a box (stable: box ids are never reused).

    Examples
    --------
    >>> case_name(Box(7, (0, 0, 0), (4, 4, 4)))
    'box_0007'
    """
    return f"box_{box.id:04d}"


@dataclass(frozen=True, eq=False)
class Crop:
    """One box, ready to be written.

    Attributes
    ----------
    case : str
        Case identifier (:func:`case_name`).
    box : Box
    image : ndarray
        ``(z, y, x)`` image under the box at the training magnification.
    composition : Composition
        The composed annotation of the box (same shape as ``image``).
    voxel_size : tuple of float
        Physical voxel size at the training magnification, ``(z, y, x)``.
    split : {'train', 'val', 'test'}
    findings : list of Finding
        Warnings of the box (and the overridden errors, if any).
    override : str or None
        Why an error finding was overridden, if one was.
    """

    case: str
    box: Box
    image: np.ndarray
    composition: Composition
    voxel_size: tuple[float, float, float]
    split: str = "train"
    findings: tuple[Finding, ...] = ()
    override: str | None = None




@dataclass(frozen=True)
class ExportContext:
    """What writers need to know besides the crop.

    Attributes
    ----------
    plan : Plan
    dataset_id : int
        nnU-Net dataset number (``DatasetNNN_Name``), 1..999.
    dataset_name : str
        nnU-Net dataset name (letters, digits, ``_`` and ``-``).
    instance_class : str or None
        The instance class StarDist and Cellpose exports use (the plan's first
        instance class when ``None``).
    patch_size : tuple of int or None
        StarDist training patch size ``(z, y, x)``; smaller crops get a
        warning. ``None``: the largest size every crop allows that StarDist's
        network can pool (see :func:`~.stardist.auto_patch_size`).
    cellpose_planes : tuple of str
        Which planes Cellpose gets: ``'yx'`` and optionally ``'zy'``, ``'zx'``
        (resampled to isotropic pixels using the voxel size).
    min_masks : int
        Cellpose drops training images with fewer masks than this (its
        ``min_train_masks``, 5 by default), so such planes are not written.
    membrain_token : str or None
        MemBrain-seg dataset token, the start of every file name (letters,
        digits and ``-``); ``None``: the project folder's name without other
        characters (see :mod:`.membrain`).
    membrain_class : str or None
        The class MemBrain-seg gets as membrane (the others as no membrane);
        ``None``: the plan's only class.
    """

    plan: Plan
    dataset_id: int = 501
    dataset_name: str = "Patchwise"
    instance_class: str | None = None
    patch_size: tuple[int, int, int] | None = None
    cellpose_planes: tuple[str, ...] = ("yx",)
    min_masks: int = 5
    membrain_token: str | None = None
    membrain_class: str | None = None

    def __post_init__(self):
        if self.patch_size is not None:
            try:
                size = _as_int_triple(self.patch_size, "patch_size", positive=True)
            except ValueError as e:
                raise ExportError(f"{e} A training patch holds at least one voxel per axis, e.g. (16, 64, 64); "
                                  "leave it unset (None) to fit it to the crops.") from None
            object.__setattr__(self, "patch_size", size)
        if isinstance(self.min_masks, bool) or not isinstance(self.min_masks, (int, np.integer)) \
                or self.min_masks < 0:
            raise ExportError(f"min_masks is a number of masks, 0 or more; got {self.min_masks!r}.")

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.plan.classes)

    def instance_name(self) -> str:
        """The instance class for StarDist / Cellpose, or a clear error."""
        instance = [c.name for c in self.plan.classes if c.kind == "instance"]
        if self.instance_class is not None:
            if self.instance_class not in instance:
                raise ExportError(
                    f"{self.instance_class!r} is not an instance class of this plan "
                    f"(its instance classes: {', '.join(instance) or 'none'}); pick one of them."
                )
            return self.instance_class
        if not instance:
            raise ExportError(
                "StarDist and Cellpose need an instance class, and this plan has only semantic classes; "
                "export to nnU-Net or OME-Zarr instead."
            )
        return instance[0]


@dataclass(frozen=True)
class CaseOutput:
    """What a writer wrote for one case.

    Attributes
    ----------
    files : tuple of str
        Paths relative to the format's folder, ``/``-separated.
    warnings : tuple of str
        Things a person should know (e.g. a box that gives Cellpose nothing).
    images : int or None
        Training images among the files, for formats that cut a case into
        several (Cellpose planes); ``None``: the case is one image.
    left_out : int
        Training images the writer left out because the trainer would drop
        them (Cellpose: fully annotated planes with too few masks).
    notes : tuple of str
        Facts about the format's folder a person reads with the result (not
        warnings), e.g. the StarDist patch size the crops allow.

    A writer's ``finish`` returns one too: the dataset-level files, and
    warnings and notes about the whole folder.
    """

    files: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    images: int | None = None
    left_out: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseRef:
    """A case already in (or about to be in) an exported folder.

    Attributes
    ----------
    case : str
    split : str
    output : CaseOutput or None
        What the writer returned for a case written by this export; ``None``
        for a case already in the folder.
    """

    case: str
    split: str
    output: CaseOutput | None = None


@dataclass
class ExportOptions:
    """How to export.

    Attributes
    ----------
    formats : tuple of str
        Any of :data:`FORMAT_NAMES`.
    fractions : tuple of float
        Train / val / test fractions (normalised), stratified by stratum.
    seed : int
        Seed of the split assignment (same seed and boxes, same splits).
    test_boxes : tuple of int, or of (str, int)
        Boxes pinned to the test split (e.g. a held-out difficult region);
        ``(image name, box id)`` pairs when several images are exported.
    overwrite : bool
        Replace an existing export instead of adding new cases to it.
    only_done : bool
        Export only boxes a person marked ``done`` (by default every box
        without error findings; the report warns about boxes not marked done).
    overrides : dict of int (or of (image, int)) to str
        Boxes to export despite error findings, each with the reason
        (recorded in the manifest); keys ``(image name, box id)`` when
        several images are exported.
    context : dict
        Extra :class:`ExportContext` fields (``dataset_id``, ``patch_size``, ...).
    images : tuple of str
        The images of the project to export (all of them when empty).
    split_by : {'image', 'box'} or None
        Draw splits per image (every box of an image in one split) or per
        box; ``None``: by image from three exported images on, else by box.
    test_images : tuple of str
        Images held out whole as the test split.
    """

    formats: tuple[str, ...] = ("nnunet",)
    fractions: tuple[float, float, float] = (0.8, 0.2, 0.0)
    seed: int = 0
    test_boxes: tuple = ()
    overwrite: bool = False
    only_done: bool = False
    overrides: dict[int, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    images: tuple[str, ...] = ()
    split_by: str | None = None
    test_images: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageCount:
    """Training images a format got from the new cases, for formats that cut a case into several.

    Attributes
    ----------
    noun : str
        What the images are, e.g. ``'training planes'``.
    images : int
        Images written.
    cases : int
        New cases that gave at least one.
    """

    noun: str
    images: int
    cases: int


def box_key_text(key) -> str:
    """A skipped box's key as a person types it in an override (``3``, ``fib:3``, ``a:fib:3``).

    Examples
    --------
    >>> box_key_text(3), box_key_text(("fib", 3)), box_key_text(("a:fib", 3))
    ('3', 'fib:3', 'a:fib:3')
    """
    return f"{key[0]}:{key[1]}" if isinstance(key, tuple) else str(key)


@dataclass
class ExportReport:
    """What an export wrote and skipped.

    Attributes
    ----------
    folders : dict of str to Path
        The folder each format was written to.
    written : dict of str to list of str
        New cases per format.
    kept : dict of str to list of str
        Cases already in the folder, left untouched.
    skipped : list of (key, str)
        Boxes not exported, with why; keyed as an override names them: the id,
        ``(image, id)`` with several images, ``(PROJECT:IMAGE, id)`` with several projects.
    warnings : list of str
        Warnings of exported boxes and of the writers.
    images : dict of str to ImageCount
        Training images of the new cases, for formats whose cases give
        several (Cellpose: the planes it trains on).
    notes : dict of str to list of str
        Facts about a format's folder (e.g. the StarDist patch size).
    recovered : list of str
        What an interrupted earlier export had left beside the format
        folders, and what was done with it (removed, or put back).
    """

    folders: dict[str, Path] = field(default_factory=dict)
    written: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[object, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    images: dict[str, ImageCount] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)

    def headline(self, fmt: str) -> str:
        """What one format got, in one line.

        Examples
        --------
        >>> r = ExportReport(folders={"cellpose": Path("out/cellpose")}, written={"cellpose": ["box_0001"]},
        ...                  images={"cellpose": ImageCount("training planes", 0, 0)})
        >>> r.headline("cellpose")
        'cellpose: no new training planes (the new case gave none) in out/cellpose'
        """
        new, old = self.written.get(fmt, []), self.kept.get(fmt, [])
        kept = f" ({len(old)} already there, untouched)" if old else ""
        count = self.images.get(fmt)
        if count is None or not new:
            what = f"{len(new)} new cases"
        elif count.images:
            what = f"{count.images} new {count.noun} from {count.cases} of {len(new)} new cases"
        else:
            which = "the new case gave none" if len(new) == 1 else f"none of the {len(new)} new cases gave one"
            what = f"no new {count.noun} ({which})"
        return f"{fmt}: {what} in {self.folders[fmt]}{kept}"

    def summary(self) -> str:
        """A few lines for a person: what was written where, what was skipped and why.

        Warnings with the same text for several cases of a format are said
        once (with the cases), and counted once.

        Examples
        --------
        >>> r = ExportReport(folders={"stardist": Path("out/stardist")}, written={"stardist": ["box_0001"]},
        ...                  warnings=["stardist box_0001: small", "stardist box_0002: small"],
        ...                  notes={"stardist": ["train_patch_size (8, 8, 8)"]})
        >>> print(r.summary())
        stardist: 1 new cases in out/stardist
          train_patch_size (8, 8, 8)
        1 warning:
          stardist box_0001, box_0002: small
        """
        lines = list(self.recovered)
        for fmt in self.folders:
            lines.append(self.headline(fmt))
            lines.extend(f"  {note}" for note in self.notes.get(fmt, ()))
        for key, why in self.skipped:
            lines.append(f"skipped box {box_key_text(key)}: {why}")
        warnings = _grouped(self.warnings)
        if warnings:
            lines.append(f"{len(warnings)} warning{'' if len(warnings) == 1 else 's'}:")
            lines.extend(f"  {w}" for w in warnings)
        return "\n".join(lines)
