"""The export job: a project's validated boxes as training data.

``patchwise export`` and the Export dock both build an :class:`ExportRequest`
and call :func:`run_export` (:func:`..export.run.export_project` underneath).
The request checks the options when made, so both front ends refuse the same
bad values with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..export.model import FORMAT_NAMES, ExportOptions, ExportReport
from ..export.images import SPLIT_BY
from ..export.splits import check_fractions


@dataclass(frozen=True)
class ExportRequest:
    """Which project, where to, and how.

    Attributes
    ----------
    project : path
        The project folder.
    out : path
        The output folder (one folder per format inside it).
    options : ExportOptions
        Formats, images, split (and its grouping), pinned test boxes or images,
        overrides, overwrite, writer settings.
    more : tuple of path
        Further projects exported into the same dataset (they must have the
        project's classes).

    Examples
    --------
    >>> ExportRequest("p", "out", ExportOptions(formats=()))
    Traceback (most recent call last):
    ...
    ValueError: no format chosen: tick at least one format to export (nnunet, stardist, cellpose, omezarr, membrain).
    >>> ExportRequest("p", "out", ExportOptions(fractions=(0, 1, 0)))
    Traceback (most recent call last):
    ...
    ValueError: the train fraction is 0; it must be positive (a model needs training data, give it a share); got train/val/test (0, 1, 0).
    >>> ExportRequest("p", "out", ExportOptions(split_by="volume"))
    Traceback (most recent call last):
    ...
    ValueError: splits are drawn by image or box; got 'volume'.
    """

    project: Any
    out: Any
    options: ExportOptions = field(default_factory=ExportOptions)
    more: tuple = ()

    def __post_init__(self):
        o = self.options
        if not o.formats:
            raise ValueError(f"no format chosen: tick at least one format to export ({', '.join(FORMAT_NAMES)}).")
        bad = [f for f in o.formats if f not in FORMAT_NAMES]
        if bad:
            raise ValueError(f"unknown export format {', '.join(bad)}; choose from {', '.join(FORMAT_NAMES)}.")
        check_fractions(o.fractions)
        dataset_id = o.context.get("dataset_id")
        if dataset_id is not None and not 1 <= dataset_id <= 999:
            raise ValueError(f"the nnU-Net dataset id is a number from 1 to 999; got {dataset_id}.")
        min_masks = o.context.get("min_masks")
        if min_masks is not None and min_masks < 0:
            raise ValueError(f"the Cellpose minimum of masks per plane is 0 or more; got {min_masks}.")
        if o.split_by not in (None, *SPLIT_BY):
            raise ValueError(f"splits are drawn by {' or '.join(SPLIT_BY)}; got {o.split_by!r}.")
        if str(self.out).strip() in ("", "."):
            raise ValueError("choose an output folder (one folder per format is written inside it).")
        object.__setattr__(self, "project", Path(self.project))
        object.__setattr__(self, "more", tuple(Path(p) for p in self.more))
        object.__setattr__(self, "out", Path(self.out))


def parse_test_boxes(text: str | None, option: str = "test boxes") -> tuple:
    """Pinned test boxes as written: ``"3,7"`` (box ids of one image) or ``"a:3,b:7"`` (``IMAGE:ID``,
    boxes of a project of several images), as :attr:`ExportOptions.test_boxes` takes them.

    Plain ids and ``IMAGE:ID`` may not be mixed; whether the images and boxes
    exist is checked by the export (its message lists the boxes there are).

    Examples
    --------
    >>> parse_test_boxes("3, 7,3")
    (3, 7)
    >>> parse_test_boxes("fib:3,embryo:1,fib:3")
    (('fib', 3), ('embryo', 1))
    >>> parse_test_boxes("") == ()
    True
    >>> parse_test_boxes("fib:3,4")
    Traceback (most recent call last):
    ...
    ValueError: test boxes takes box ids like 3,7, or IMAGE:ID like fib:3,embryo:1 in a project of several images (not both); got 'fib:3,4'.
    """
    from .box_ids import parse_box_ids
    from .image_choice import image_box_entries

    entries = image_box_entries(text)
    if all(image is None for _, image, _ in entries):
        return tuple(parse_box_ids(text, option, "3,7") or ())
    pairs = []
    for _, image, box in entries:
        try:
            ids = parse_box_ids(box, option) if image else None
        except ValueError:
            ids = None
        if not ids:
            raise ValueError(f"{option} takes box ids like 3,7, or IMAGE:ID like fib:3,embryo:1 in a project of "
                             f"several images (not both); got {text!r}.")
        pairs.append((image, ids[0]))
    return tuple(dict.fromkeys(pairs))


def run_export(request: ExportRequest, progress=None) -> ExportReport:
    """Export the request's project (and its further ones, into one dataset); what was written,
    kept and skipped is in the report.

    Raises
    ------
    ExportError
        When no box can be exported, an export is in the way, or a writer fails
        (the message says why and what to do).

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> plan = Plan(ImageRef((8, 32, 32))).add_boxes([((0, 0, 0), (8, 32, 32))])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(Path(tmp, "p"), plan)
    ...     try:
    ...         run_export(ExportRequest(folder, Path(tmp, "out")))
    ...     except ValueError as e:
    ...         print(str(e).splitlines()[0])
    no box can be exported:
    """
    from ..export.run import export_project, export_projects

    if request.more:
        return export_projects([request.project, *request.more], request.out, request.options, progress)
    return export_project(request.project, request.out, request.options, progress=progress)
