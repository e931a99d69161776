"""The check job: every finding of a project, boxes and annotations.

``patchwise check`` builds a :class:`CheckRequest` and calls :func:`run_check`;
with ``update_status`` the derived box statuses are saved in ``plan.json``
(the caller holds the project's lock, see :mod:`..lock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plan.plan import Plan
from ..findings import Finding
CONNECTIVITIES = (1, 2, 3)


@dataclass(frozen=True)
class CheckRequest:
    """Which project to check and how.

    Attributes
    ----------
    project : path
        The project folder.
    connectivity : {1, 2, 3}
        Touching objects share a face (1), also an edge (2), also a corner (3).
    update_status : bool
        Save the derived box statuses (todo / seeded / in_progress) in ``plan.json``.
    image : str, optional
        Which image of the project to check; ``None`` means the project's only image.
    plan : Plan, optional
        That image's plan as already read (one read of ``plan.json`` serves every image);
        ``None``: read it from the project.

    Examples
    --------
    >>> CheckRequest("p", connectivity=4)
    Traceback (most recent call last):
    ...
    ValueError: connectivity takes 1 (faces), 2 (+ edges) or 3 (+ corners); got 4.
    """

    project: Any
    connectivity: int = 1
    update_status: bool = False
    image: str | None = None
    plan: Plan | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.connectivity not in CONNECTIVITIES:
            raise ValueError(f"connectivity takes 1 (faces), 2 (+ edges) or 3 (+ corners); got {self.connectivity}.")


@dataclass(frozen=True)
class CheckResult:
    """The checked plan (with derived statuses), its findings and the annotation report."""

    plan: Plan = field(repr=False)
    findings: list[Finding]
    report: Any = field(repr=False)

    @property
    def has_errors(self) -> bool:
        """Whether any finding is an error."""
        return any(f.severity == "error" for f in self.findings)


def run_check(request: CheckRequest, progress=None) -> CheckResult:
    """Check the project's boxes and annotations; save the statuses when asked.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> plan = Plan(ImageRef((8, 32, 32))).add_boxes([((0, 0, 0), (8, 32, 32))])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = run_check(CheckRequest(create_project(tmp, plan)))
    >>> [b.status for b in result.plan.boxes], result.has_errors
    (['todo'], True)
    >>> sorted({f.code for f in result.findings if f.severity == "error"})
    ['below-minimum']
    """
    from ..plan.project import save_plan
    from ..qc.checks import check_project

    plan, findings, report = check_project(request.project, connectivity=request.connectivity, progress=progress,
                                           image=request.image, plan=request.plan)
    if request.update_status:
        save_plan(request.project, plan, image=request.image)
    return CheckResult(plan, findings, report)


def check_consistency(project, collection, names=None, *, intensities: bool = True, progress=None) -> tuple:
    """Consistency findings across the images ``names`` of a project (every image by default).

    Each image's voxel size, unit and dtype come from its plan; its intensity
    profile is sampled from a bounded number of planes of its file
    (:func:`..qc.consistency.intensity_profile`; ``intensities=False`` skips
    the reads). An image whose file is missing is not compared on intensity
    (an info says so). A project of one image has no such findings.

    Returns
    -------
    tuple of ConsistencyFinding
        See :func:`..qc.consistency.consistency_findings`.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.collection import Collection
    >>> a = Plan(ImageRef((4, 8, 8), dtype="uint8", voxel_size=(10, 10, 10), unit="nanometer"))
    >>> b = Plan(ImageRef((4, 8, 8), dtype="uint8", voxel_size=(30, 10, 10), unit="nanometer"))
    >>> coll = Collection.from_plan(a, "a").add_image(b, "b").add_image(a, "c")
    >>> [(f.finding.code, f.images) for f in check_consistency("p", coll, intensities=False)]
    [('voxel-size-differs', ('b', 'a'))]
    """
    from ..qc.consistency import ConsistencyFinding, ImageProfile, consistency_findings, intensity_profile
    from .seed import project_image

    names = list(collection.names if names is None else names)
    if len(names) < 2:
        return ()
    profiles, missing = [], []
    for k, name in enumerate(names):
        entry = collection.image(name)
        image = entry.plan.image
        intensity = None
        if intensities:
            try:
                intensity = intensity_profile(project_image(project, entry.plan))
            except (ValueError, OSError, KeyError):
                missing.append(name)
        profiles.append(ImageProfile(name, tuple(image.voxel_size), image.unit, image.dtype, intensity,
                                     entry.domain, image.voxel_size_known))
        if progress is not None:
            progress(k + 1, len(names))
    out = list(consistency_findings(profiles))
    if missing:
        out.append(ConsistencyFinding(Finding(
            "info", "intensity-not-compared", None,
            f"{', '.join(missing)}: image file not readable, so intensities were not compared; put it back "
            "or fix its path in plan.json."), tuple(missing)))
    return tuple(out)
