"""The seed job: weak labels in a project's boxes, by thresholding, an import or Cellpose.

One request, one function: ``patchwise seed`` and the Seed dock both build a
:class:`SeedRequest` and call :func:`run_seed`. The request checks its values
when made (a ``ValueError`` names the problem and the fix); :func:`run_seed`
picks the engine function for the method (:func:`.seeding.seed_boxes`,
:func:`.seeding.import_into_boxes` or :func:`.seeding.cellpose_into_boxes`)
and applies the rules both front ends share: a manual threshold must lie
inside the chosen boxes' intensities (:func:`check_manual_threshold`), and a
probability import marks background below :data:`PROBABILITY_BACKGROUND`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..geometry.box import as_box_id
from ..plan.plan import Plan
from ..seed.thresholds import THRESHOLD_METHODS
from ..seed.weaklabels import SeedParams

#: Imports: a label image (TIFF, Cellpose ``_seg.npy`` / ``_masks.tif``, Zarr, HDF5) or an array
#: (``labels``), a probability map, or Cellpose run in each box.
IMPORT_METHODS = ("labels", "probability", "cellpose")
#: Every method a :class:`SeedRequest` takes.
SEED_METHODS = (*THRESHOLD_METHODS, *IMPORT_METHODS)
#: Probability imports: voxels below this probability are confident background.
PROBABILITY_BACKGROUND = 0.1
#: Probability imports: foreground above this probability unless a threshold is given.
PROBABILITY_THRESHOLD = 0.5
#: Probability imports: objects smaller than this many voxels are dropped unless given.
PROBABILITY_MIN_SIZE = 20


def check_manual_threshold(regions: Iterable, threshold: float) -> None:
    """Refuse a manual threshold that would seed nothing or fill the boxes (e.g. 0.5 on 16-bit data).

    Parameters
    ----------
    regions : iterable of array
        The image inside each chosen box.
    threshold : float
        The manual threshold, in image units.

    Raises
    ------
    ValueError
        If ``threshold`` is not below the brightest voxel or is below the darkest one.

    Examples
    --------
    >>> import numpy as np
    >>> check_manual_threshold([np.array([100, 900])], 500)
    >>> check_manual_threshold([np.array([100, 900])], 0.5)
    Traceback (most recent call last):
    ...
    ValueError: the manual threshold 0.5 is below every intensity in the chosen boxes (100 to 900): every voxel would be foreground. Choose a threshold between them.
    """
    lo, hi = float("inf"), float("-inf")
    for region in regions:
        lo, hi = min(lo, float(region.min())), max(hi, float(region.max()))
    if threshold >= hi:
        raise ValueError(f"the manual threshold {threshold:g} is not below any intensity in the chosen boxes "
                         f"({lo:g} to {hi:g}): nothing would be seeded. Choose a threshold between them.")
    if threshold < lo:
        raise ValueError(f"the manual threshold {threshold:g} is below every intensity in the chosen boxes "
                         f"({lo:g} to {hi:g}): every voxel would be foreground. Choose a threshold between them.")


@dataclass(frozen=True)
class SeedRequest:
    """What to seed, where and how; checked when made.

    Attributes
    ----------
    project : path
        The project folder (its ``annotations.zarr`` is written).
    method : str
        One of :data:`SEED_METHODS`.
    class_name : str, optional
        Class to seed (default: the plan's first).
    box_ids : tuple of int, optional
        Boxes to seed (default: all).
    overwrite_edits : bool
        Also replace voxels a person painted.
    params : SeedParams, optional
        Thresholding settings; their method must be ``method``. Default:
        made from ``threshold``, ``diameter``, ``smooth``, ``min_size``,
        ``split``, ``min_distance``, ``background_margin``, ``fill_holes``,
        ``block_size`` and ``offset`` (the fields of :class:`.weaklabels.SeedParams`,
        checked here first).
    per_box_threshold : bool
        A threshold per box instead of one over all chosen boxes.
    source : path, optional
        File to import (``labels`` and ``probability``).
    labels : array, optional
        Labels to import instead of a file (``labels``), e.g. a viewer layer's.
    dataset, channel : optional
        Dataset inside an HDF5 / Zarr ``source``; probability map channel.
    threshold : float, optional
        ``manual``: the threshold in image units. Probability imports: the cut
        in (0, 1] (default :data:`PROBABILITY_THRESHOLD`).
    min_size : int, optional
        Smallest object kept, in voxels (thresholding: derived from the
        diameter; probability imports: :data:`PROBABILITY_MIN_SIZE`).
    background_below : float
        Probability imports: background below this probability.
    diameter : float, optional
        Typical object diameter in physical units (thresholding: estimated
        from the boxes; Cellpose: Cellpose's own).
    plan : Plan, optional
        The plan to seed (default: read from ``project`` by :func:`run_seed`).
    image : array, optional
        The project's image (default: read from where the plan says).
    image_name : str, optional
        Which image of the project to seed (its plan and annotation group);
        ``None`` means the project's only image.
    label : str, optional
        How the report names an import (default ``"<method> import"``).

    Raises
    ------
    ValueError
        A value out of range, options that do not go together, or Cellpose
        not installed for ``cellpose`` (the message says what to change).

    Examples
    --------
    >>> SeedRequest("p", method="manual")
    Traceback (most recent call last):
    ...
    ValueError: --method manual needs --threshold VALUE (in image units).
    >>> SeedRequest("p", method="manual", threshold=3.0).params.threshold
    3.0
    """

    project: Any
    method: str = "otsu"
    class_name: str | None = None
    box_ids: tuple[int, ...] | None = None
    overwrite_edits: bool = False
    params: SeedParams | None = None
    per_box_threshold: bool = False
    source: Any = None
    labels: Any = field(default=None, repr=False, compare=False)
    dataset: str | None = None
    channel: int | None = None
    threshold: float | None = None
    min_size: int | None = None
    background_below: float = PROBABILITY_BACKGROUND
    diameter: float | None = None
    smooth: float | None = None
    split: bool = True
    min_distance: float | None = None
    background_margin: float = 0.2
    fill_holes: bool = True
    block_size: float = 0.0
    offset: float = 0.0
    plan: Plan | None = field(default=None, repr=False, compare=False)
    image: Any = field(default=None, repr=False, compare=False)
    label: str | None = None
    image_name: str | None = None

    def __post_init__(self):
        m = self.method
        if m not in SEED_METHODS:
            raise ValueError(f"the seeding method {m!r} is unknown; choose one of {', '.join(SEED_METHODS)}.")
        if self.box_ids is not None:
            object.__setattr__(self, "box_ids", tuple(dict.fromkeys(as_box_id(i) for i in self.box_ids)))
        if m in THRESHOLD_METHODS:
            self._check_thresholding()
        elif m == "cellpose":
            if self.source is not None or self.labels is not None:
                raise ValueError("--method cellpose segments the project's image; to import Cellpose "
                                 "output (_seg.npy, _masks.tif) use --method labels --from FILE.")
            if importlib.util.find_spec("cellpose") is None:
                from ..seed.imports import CELLPOSE_HINT

                raise ValueError(CELLPOSE_HINT)
            if self.diameter is not None and self.diameter < 0:
                raise ValueError(f"--diameter must be >= 0 (physical units of the image; 0 = Cellpose's own); "
                                 f"got {self.diameter:g}.")
        else:
            if self.source is None and (m == "probability" or self.labels is None):
                raise ValueError(f"--method {m} needs --from FILE (a label image, Cellpose "
                                 "_seg.npy / _masks.tif, or a probability map).")
            if m == "probability":
                if self.threshold is not None and not 0 < self.threshold <= 1:
                    raise ValueError(f"a probability threshold lies in (0, 1]; got {self.threshold:g}.")
                if not 0 <= self.background_below <= 1:
                    raise ValueError(f"the background cut is a probability in [0, 1]; got "
                                     f"{self.background_below:g}.")
                if self.min_size is not None and self.min_size < 0:
                    raise ValueError(f"--min-size must be a number of voxels >= 0; got {self.min_size}.")

    def _check_thresholding(self) -> None:
        m = self.method
        if self.source is not None or self.labels is not None:
            raise ValueError(f"--from is for imports (--method labels or probability); --method "
                             f"{m} thresholds the project's image.")
        if self.params is not None:
            if self.params.method != m:
                raise ValueError(f"the seeding parameters are for {self.params.method!r} but the method is "
                                 f"{m!r}; give one method.")
            return
        if m == "manual" and self.threshold is None:
            raise ValueError("--method manual needs --threshold VALUE (in image units).")
        if m != "manual" and self.threshold is not None:
            raise ValueError(f"--threshold is for --method manual (or probability imports); "
                             f"--method {m} computes its own threshold. Add --method manual "
                             "to use yours.")
        for name in ("diameter", "smooth", "min_distance"):
            value = getattr(self, name)
            if value is not None and (value < 0 or (name == "diameter" and value == 0)):
                raise ValueError(f"--{name.replace('_', '-')} must be "
                                 f"{'positive' if name == 'diameter' else '>= 0'} "
                                 f"(physical units of the image); got {value:g}. Leave it out to derive it.")
        if self.min_size is not None and self.min_size < 0:
            raise ValueError(f"--min-size must be a number of voxels >= 0; got {self.min_size}.")
        object.__setattr__(self, "params", SeedParams(
            method=m, threshold=self.threshold, smooth=self.smooth, min_size=self.min_size, split=self.split,
            min_distance=self.min_distance, background_margin=self.background_margin,
            fill_holes=self.fill_holes, block_size=self.block_size, offset=self.offset,
            object_diameter=self.diameter))


def project_image(folder, plan: Plan):
    """The project's image, read from where its plan says (a ValueError says how to fix a missing one)."""
    from ..io.channels import read_measured
    from ..plan.project import resolve_image_path

    path = resolve_image_path(folder, plan)
    if path is None or not path.exists():
        raise ValueError(
            f"the project's image {path or '(none recorded)'} is not there; put it back or fix "
            f"\"image\": {{\"path\": ...}} in {Path(folder) / 'plan.json'}."
        )
    return read_measured(path, plan.image)


def run_seed(request: SeedRequest, progress=None):
    """Seed the request's boxes; the labels are written into the project's annotation store.

    Parameters
    ----------
    request : SeedRequest
        What to seed and how.
    progress : callable, optional
        ``progress(done, total)``, called as boxes are written.

    Returns
    -------
    plan : Plan
        The plan with the seeded boxes' statuses (not saved: the caller saves it).
    report : SeedReport
        What was seeded and skipped, and why.

    Raises
    ------
    ValueError
        A manual threshold outside the boxes' intensities, a missing image or
        import, labels of the wrong shape.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> image = np.zeros((8, 32, 32), "uint16"); image[2:6, 8:20, 8:20] = 1000
    >>> plan = Plan(ImageRef(image.shape)).add_boxes([((0, 0, 0), (8, 32, 32))])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, plan)
    ...     ok = SeedRequest(folder, method="manual", threshold=500, diameter=8, image=image)
    ...     plan2, report = run_seed(ok)
    ...     bad = SeedRequest(folder, method="manual", threshold=5000, diameter=8, image=image)
    ...     try:
    ...         run_seed(bad)
    ...     except ValueError as e:
    ...         print(str(e)[:60])
    the manual threshold 5000 is not below any intensity in the 
    >>> report.boxes[1]["objects"], [b.status for b in plan2.boxes]
    (1, ['seeded'])
    """
    from ..plan.plan_file import load_plan
    from ..plan.annotation_store import open_annotations
    from ..seed.run import cellpose_into_boxes, import_into_boxes, seed_boxes
    from ..plan.box_arrays import choose_boxes, image_at_mag

    r = request
    plan = r.plan if r.plan is not None else load_plan(r.project, r.image_name)
    ids = None if r.box_ids is None else list(r.box_ids)

    def store():
        return open_annotations(r.project, plan, image=r.image_name)

    common = dict(class_name=r.class_name, box_ids=ids, overwrite_edits=r.overwrite_edits, progress=progress)
    if r.method in THRESHOLD_METHODS:
        image = r.image if r.image is not None else project_image(r.project, plan)
        if r.method == "manual":
            check_manual_threshold((image_at_mag(image, b, plan.magnification) for b in choose_boxes(plan, ids)),
                                   r.params.threshold)
        return seed_boxes(plan, store(), image, params=r.params,
                          per_box_threshold=r.per_box_threshold, **common)
    if r.method == "cellpose":
        image = r.image if r.image is not None else project_image(r.project, plan)
        return cellpose_into_boxes(plan, store(), image, object_diameter=r.diameter,
                                   **common)
    labels, background = import_labels(r, plan)
    return import_into_boxes(plan, store(), labels, background=background,
                             method=r.label or f"{r.method} import", **common)


def image_requests(request: SeedRequest, boxes: dict[str, list[int] | None]) -> list[SeedRequest]:
    """One request per image to seed, in the order of ``boxes`` (image name to box ids, ``None`` for all).

    An import (``labels``, ``probability``) is one file or array at one
    image's shape, so it goes into one image only; an image array given with
    the request belongs to one image too.

    Raises
    ------
    ValueError
        An import, or a given image array, with several images chosen.

    Examples
    --------
    >>> reqs = image_requests(SeedRequest("p"), {"a": [2], "b": None})
    >>> [(r.image_name, r.box_ids) for r in reqs]
    [('a', (2,)), ('b', None)]
    >>> image_requests(SeedRequest("p", method="labels", source="x.tif"), {"a": None, "b": None})
    Traceback (most recent call last):
    ...
    ValueError: --method labels imports one file into one image; choose it with --images NAME (the chosen images are a, b).
    """
    from dataclasses import replace

    if len(boxes) > 1 and (request.method in ("labels", "probability") or request.image is not None):
        what = f"--method {request.method} imports one file" if request.image is None else "an image array"
        raise ValueError(f"{what} into one image; choose it with --images NAME (the chosen images are "
                         f"{', '.join(boxes)}).")
    return [replace(request, image_name=name, box_ids=ids) for name, ids in boxes.items()]


def import_labels(request: SeedRequest, plan: Plan):
    """``(labels, background)`` of an import at the plan's annotation shape (background may be None)."""
    from ..seed.label_grid import labels_from_probability, labels_to_annotation
    from ..seed.imports import read_label_image, read_probability

    r, shape, mag = request, plan.image.shape, plan.magnification
    if r.method == "labels":
        data = r.labels if r.labels is not None else read_label_image(r.source, dataset=r.dataset)
        return labels_to_annotation(data, shape, mag), None
    prob = labels_to_annotation(read_probability(r.source, channel=r.channel, dataset=r.dataset), shape, mag)
    kinds = {c.name: c.kind for c in plan.classes}
    kind = kinds.get(r.class_name or plan.classes[0].name)
    labels = labels_from_probability(
        prob, threshold=PROBABILITY_THRESHOLD if r.threshold is None else r.threshold,
        instance=kind == "instance", min_size=PROBABILITY_MIN_SIZE if r.min_size is None else r.min_size)
    return labels, prob < r.background_below


def chosen_box_ids(plan: Plan, box_ids: Sequence[int] | None) -> list[int]:
    """Ids of the boxes a request seeds, in plan order (every box for ``None``)."""
    from ..plan.box_arrays import choose_boxes

    return [b.id for b in choose_boxes(plan, box_ids)]
