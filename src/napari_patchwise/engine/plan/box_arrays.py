"""Reading a box's part of the plan's image or of its annotation arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..geometry.box import Box
from .annotation import Composition, compose
from .border import box_interior
from .plan import Plan
from ..geometry.regions import clip_region, region_to_full
from ..geometry.resample import downsample_mean
from ..io.workload import check_region_memory


def choose_boxes(plan: Plan, box_ids: Sequence[int] | None) -> list[Box]:
    """The plan's boxes with these ids (all boxes for ``None``); unknown ids raise.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((8, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))])
    >>> [b.id for b in choose_boxes(plan, None)]
    [1]
    >>> choose_boxes(plan, [7])
    Traceback (most recent call last):
    ...
    ValueError: the plan has no box 7 (its boxes are 1); pick existing boxes.
    """
    if box_ids is None:
        boxes = list(plan.boxes)
    else:
        known = {b.id: b for b in plan.boxes}
        bad = [i for i in box_ids if i not in known]
        if bad:
            have = ", ".join(str(i) for i in sorted(known)) or "none"
            raise ValueError(
                f"the plan has no box {', '.join(map(str, bad))} (its boxes are {have}); pick existing boxes."
            )
        boxes = [known[i] for i in box_ids]
    if not boxes:
        raise ValueError("the plan has no boxes to seed; propose or draw boxes first.")
    return boxes


def image_at_mag(image, box: Box, mag: Sequence[int]) -> np.ndarray:
    """The image under ``box``, block-averaged to the magnification (float32).

    Only the box is read from ``image`` (numpy, zarr or dask).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(32, dtype=np.uint16).reshape(2, 4, 4)
    >>> image_at_mag(img, Box(1, (0, 0, 0), (2, 2, 4)), (1, 2, 2)).tolist()
    [[[2.5, 4.5]], [[18.5, 20.5]]]
    """
    shape = image.shape
    full = region_to_full(box.slices(mag), mag, shape)
    itemsize = np.dtype(getattr(image, "dtype", np.float64)).itemsize
    check_region_memory([max(0, s.stop - s.start) for s in full], itemsize + 8, f"box {box.id}")
    return downsample_mean(np.asarray(image[full]), tuple(mag))


def box_region(plan: Plan, box: Box):
    """Slices of ``box`` in the annotation arrays (clipped to their shape).

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((8, 9, 9)), magnification=(1, 2, 2))
    >>> box_region(plan, Box(1, (0, 4, 4), (4, 10, 10)))
    (slice(0, 4, None), slice(2, 5, None), slice(2, 5, None))
    """
    return clip_region(box.slices(plan.magnification), plan.annotation_shape)


def compose_box(plan: Plan, layers, box: Box, region=None) -> Composition:
    """The composed annotation of a box (or of ``region`` of it), with the preset's ignore border.

    The one way a box's labels are read for QC, export and evaluation: the
    voxels of the box's ignore border (:mod:`.border`; the membrane preset's
    16 voxels on every face) compose as ``ignore``.

    Parameters
    ----------
    plan : Plan
    layers : mapping of str to array
        Class layers, ``background`` and ``ignore`` at the annotation shape.
    box : Box
    region : tuple of 3 slices, optional
        A part of the annotation arrays inside the box (default: the box's
        region, :func:`box_region`).

    Examples
    --------
    >>> import numpy as np
    >>> from napari_patchwise.engine import ImageRef, Plan, get_preset
    >>> preset = get_preset("custom", minimum=(4, 4, 4), ignore_border=1)
    >>> plan = Plan(ImageRef((4, 8, 8)), preset, (1, 2, 2))
    >>> layers = {"nuclei": np.ones((4, 4, 4), np.uint32), "background": np.zeros((4, 4, 4), np.uint8)}
    >>> comp = compose_box(plan, layers, Box(1, (0, 0, 0), (4, 8, 8)))
    >>> comp.counts()["nuclei"], comp.counts()["ignore"], comp.interior
    (8, 56, (slice(1, 3, None), slice(1, 3, None), slice(1, 3, None)))
    """
    region = box_region(plan, box) if region is None else clip_region(region, plan.annotation_shape)
    names = [c.name for c in plan.classes]
    return compose(layers, names, region, interior=box_interior(plan, box, region))
