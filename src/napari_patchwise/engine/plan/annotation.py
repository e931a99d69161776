"""The annotation model: class layers, ``background`` and ``ignore``, composed.

A project's ``annotations.zarr`` holds, at the training magnification, one
array per class (instance ids ``1..N``, or ``1`` for a semantic class), a
``background`` array and an ``ignore`` array (``1`` = painted). Two hidden
arrays are created when first needed:

``edits``
    ``1`` where a person changed a voxel of any layer (by painting). Seeding
    and imports never overwrite these voxels unless asked.
``weak``
    ``1`` where the last weak labels (thresholding, an import) saw
    foreground; used to warn when background covers an unannotated object.

Composition gives every voxel one value, by priority ignore > classes >
background > unannotated:

===============  =======================================
value            meaning
===============  =======================================
``-1``           unannotated (ignored by training)
``0``            background
``1 .. K``       the plan's classes, in order
``K + 1``        ignore
===============  =======================================

Where two classes overlap, the first class wins and the overlap is reported.
Background under a class is *cropped*: effective background is painted
background minus every class voxel, so background can be painted coarsely
over objects.

Examples
--------
>>> import numpy as np
>>> bg = np.array([[[1, 1, 1, 0]]], np.uint8)
>>> nuclei = np.array([[[0, 5, 5, 0]]], np.uint32)
>>> ignore = np.array([[[0, 0, 1, 0]]], np.uint8)
>>> comp = compose({"nuclei": nuclei, "background": bg, "ignore": ignore}, ["nuclei"])
>>> comp.classmap.tolist()
[[[0, 1, 2, -1]]]
>>> int(crop_background(bg, [nuclei]))
2
>>> bg.tolist()
[[[1, 0, 0, 0]]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..geometry.regions import Region, clip_region
from ..io.workload import check_region_memory

UNANNOTATED = -1
BACKGROUND = 0
EDITS = "edits"
WEAK = "weak"
HIDDEN_LAYERS = (EDITS, WEAK)


def _read(array, region: Region) -> np.ndarray:
    return np.asarray(array[region])


def _check_same_shape(arrays: Mapping[str, object]) -> tuple[int, ...]:
    shapes = {name: tuple(a.shape) for name, a in arrays.items() if a is not None}
    if len(set(shapes.values())) > 1:
        raise ValueError(
            f"annotation layers must share one shape (the plan's annotation shape); got "
            f"{shapes}. Re-open the project so every layer is at its magnification."
        )
    return next(iter(shapes.values()))


@dataclass(frozen=True, eq=False)
class Composition:
    """The composed annotation of a region.

    Attributes
    ----------
    classmap : ndarray of int16
        ``-1`` unannotated, ``0`` background, ``1..K`` classes, ``K+1`` ignore.
    instances : dict of str to ndarray
        Per class, its ids where the class won the voxel (``0`` elsewhere).
    overlap : ndarray of bool
        Voxels claimed by more than one class.
    class_names : tuple of str
    corrected : dict of str to ndarray
        Per class with correction masks, its values after them (before other classes and
        ignore are applied), for checks that read a class's own labels.
    interior : tuple of 3 slices or None
        The part of the region inside its box's ignore border (see
        :mod:`.border`); everything outside it is ``ignore``. ``None``: no
        border.
    """

    classmap: np.ndarray
    instances: dict[str, np.ndarray]
    overlap: np.ndarray
    class_names: tuple[str, ...]
    corrected: dict[str, np.ndarray] = field(default_factory=dict)
    interior: tuple[slice, ...] | None = None

    @property
    def ignore_value(self) -> int:
        return len(self.class_names) + 1

    def counts(self) -> dict[str, int]:
        """Voxels per meaning (``unannotated``, ``background``, each class, ``ignore``)."""
        values = np.bincount((self.classmap.ravel() + 1).astype(np.intp), minlength=self.ignore_value + 2)
        names = ["unannotated", "background", *self.class_names, "ignore"]
        return {n: int(v) for n, v in zip(names, values)}


def compose(layers: Mapping[str, object], class_names: Sequence[str], region=None,
            interior=None) -> Composition:
    """Compose class, background and ignore layers into one map.

    Parameters
    ----------
    layers : mapping of str to array
        ``{class name: ids, 'background': 0/1, 'ignore': 0/1}`` (numpy or zarr
        arrays of one shape; missing background/ignore count as empty).
    class_names : sequence of str
        The classes, in the plan's order (their values ``1..K``).
    region : tuple of 3 slices, optional
        Only this part (the whole arrays by default).
    interior : tuple of 3 slices, optional
        Relative to ``region``: the part inside the box's ignore border
        (:func:`~.border.box_interior`). Every voxel outside it composes as
        ``ignore``, whatever is painted there (the layers are not changed).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[1, 1, 0]]]); b = np.array([[[0, 1, 1]]])
    >>> comp = compose({"a": a, "b": b}, ["a", "b"])
    >>> comp.classmap.tolist(), comp.overlap.tolist()
    ([[[1, 1, 2]]], [[[False, True, False]]])
    >>> comp = compose({"a": a, "b": b}, ["a", "b"], interior=(slice(0, 1), slice(0, 1), slice(1, 2)))
    >>> comp.classmap.tolist(), comp.instances["a"].tolist()
    ([[[3, 1, 3]]], [[[0, 1, 0]]])
    """
    class_names = tuple(class_names)
    missing = [n for n in class_names if n not in layers]
    if missing:
        raise ValueError(f"no layer for classes {missing}; the layers are {sorted(layers)}.")
    if len(class_names) > 32000:
        raise ValueError("at most 32000 classes can be composed.")
    shape = _check_same_shape({k: layers.get(k) for k in (*class_names, "background", "ignore")})
    region = clip_region(region, shape)
    out_shape = tuple(s.stop - s.start for s in region)
    where = "×".join(f"{s.start}:{s.stop}" for s in region)
    check_region_memory(out_shape, 12 + 8 * len(class_names), f"the annotation region {where}")
    classmap = np.full(out_shape, UNANNOTATED, np.int16)
    bg = layers.get("background")
    if bg is not None:
        classmap[_read(bg, region) > 0] = BACKGROUND
    count = np.zeros(out_shape, np.uint8)
    instances = {}
    claimed = np.zeros(out_shape, bool)
    corrected = CorrectedParts(out_shape)
    for value, name in enumerate(class_names, start=1):
        ids = corrected.read(layers, name, region)
        if ids.dtype.kind == "f":
            raise ValueError(f"layer {name!r} holds float values; labels must be integers.")
        mine = ids > 0
        count += mine
        win = mine & ~claimed
        classmap[win] = value
        claimed |= mine
        instances[name] = np.where(win, ids, 0).astype(ids.dtype if ids.dtype.kind == "u" else np.int64)
    corrected.apply(classmap)
    ign = layers.get("ignore")
    ign_mask = corrected.ignore if ign is None else (_read(ign, region) > 0) | corrected.ignore
    if ign is not None or corrected.any_ignore:
        classmap[ign_mask] = len(class_names) + 1
        for name in class_names:
            instances[name][ign_mask] = 0
    if interior is not None:
        interior = tuple(interior)
        outside = np.ones(out_shape, bool)
        outside[interior] = False
        classmap[outside] = len(class_names) + 1
        for name in class_names:
            instances[name][outside] = 0
    return Composition(classmap, instances, count > 1, class_names, corrected.ids, interior)


class CorrectedParts:
    """Class layers read through their correction masks (:mod:`..corrections.apply`), when ``layers``
    holds any under ``corrections/<class>/<kind>`` (as ``annotation_layers`` gives them).

    What Remove takes out of a class becomes background unless another class holds the voxel;
    what Ignore marks is ignored.
    """

    def __init__(self, shape):
        self.removed = None
        self.ignore = np.zeros(shape, bool)
        self.any_ignore = False
        self.ids: dict[str, np.ndarray] = {}

    def read(self, layers: Mapping[str, object], name: str, region) -> np.ndarray:
        from ..corrections.apply import correct_class
        from ..corrections.store import CORRECTION_KINDS, correction_path

        masks = {k: layers[correction_path(name, k)] for k in CORRECTION_KINDS if correction_path(name, k) in layers}
        base = layers[name]
        if not masks:
            return _read(base, region)
        attrs = getattr(base, "attrs", None)
        kind = attrs.get("kind") if attrs is not None else None
        fixed = correct_class(base, masks, region, instance=kind == "instance", name=repr(name))
        self.removed = fixed.removed if self.removed is None else self.removed | fixed.removed
        self.ids[name] = fixed.ids
        if fixed.ignore.any():
            self.ignore |= fixed.ignore
            self.any_ignore = True
        return fixed.ids

    def apply(self, classmap: np.ndarray) -> None:
        """Removed voxels no class holds become background."""
        if self.removed is not None:
            classmap[self.removed & (classmap == UNANNOTATED)] = BACKGROUND


def effective_background(background, class_layers: Sequence[object], region=None) -> np.ndarray:
    """Painted background minus every class voxel (a bool array of the region).

    Examples
    --------
    >>> import numpy as np
    >>> effective_background(np.ones((1, 1, 3)), [np.array([[[0, 2, 0]]])]).tolist()
    [[[True, False, True]]]
    """
    region = clip_region(region, background.shape)
    bg = _read(background, region) > 0
    for layer in class_layers:
        bg &= _read(layer, region) == 0
    return bg


def crop_background(background, class_layers: Sequence[object], region=None) -> int:
    """Remove background wherever a class voxel lies, in place; returns how many.

    Only ``region`` (default: everything) is read and, when something
    changes, written back (read-modify-write with basic slicing, so numpy and
    zarr arrays behave the same).

    Examples
    --------
    >>> import numpy as np
    >>> bg = np.ones((1, 2, 2), np.uint8)
    >>> crop_background(bg, [np.array([[[0, 3], [0, 0]]])], region=(slice(0, 1),) * 3)
    0
    >>> crop_background(bg, [np.array([[[0, 3], [0, 0]]])])
    1
    """
    region = clip_region(region, background.shape)
    if any(s.stop <= s.start for s in region):
        return 0
    block = _read(background, region)
    keep = effective_background(block, [np.asarray(c[region]) for c in class_layers])
    cropped = (block > 0) & ~keep
    n = int(cropped.sum())
    if n:
        block = block.copy()
        block[cropped] = 0
        background[region] = block
    return n


def class_overlap(class_layers: Mapping[str, object], region=None) -> dict[tuple[str, str], int]:
    """Voxels painted in two classes at once, per pair of class names.

    Examples
    --------
    >>> import numpy as np
    >>> class_overlap({"a": np.array([[[1, 1]]]), "b": np.array([[[0, 4]]])})
    {('a', 'b'): 1}
    """
    names = list(class_layers)
    if len(names) < 2:
        return {}
    shape = _check_same_shape(class_layers)
    region = clip_region(region, shape)
    masks = {n: _read(class_layers[n], region) > 0 for n in names}
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            n = int(np.count_nonzero(masks[a] & masks[b]))
            if n:
                out[(a, b)] = n
    return out


def mark_edited(edits, region: Region, mask: np.ndarray | None = None) -> None:
    """Record in the ``edits`` array that a person changed voxels of ``region``.

    ``mask`` (the region's shape) limits it to the changed voxels.

    Examples
    --------
    >>> import numpy as np
    >>> e = np.zeros((1, 2, 3), np.uint8)
    >>> mark_edited(e, (slice(0, 1), slice(0, 1), slice(1, 3)), np.array([[[True, False]]]))
    >>> e.tolist()
    [[[0, 1, 0], [0, 0, 0]]]
    """
    mark_edited_all(edits, [(region, mask)])


def mark_edited_all(edits, parts) -> int:
    """:func:`mark_edited` for every ``(region, mask)`` of ``parts`` (e.g. the dabs of one stroke)
    with one read of their bounding region and one write of the voxels that were not marked yet.

    A stroke of twenty dabs touches the same chunks twenty times; on a Zarr
    array each write decodes and encodes them again. Returns the number of
    voxels newly marked (nothing is written when it is 0).

    Examples
    --------
    >>> import numpy as np
    >>> e = np.zeros((1, 3, 4), np.uint8)
    >>> dabs = [((slice(0, 1), slice(0, 2), slice(0, 2)), None),
    ...         ((slice(0, 1), slice(1, 3), slice(2, 4)), np.array([[[True, False], [False, True]]]))]
    >>> mark_edited_all(e, dabs), mark_edited_all(e, dabs)
    (6, 0)
    >>> e[0].tolist()
    [[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1]]
    """
    kept = []
    for region, mask in parts:
        clipped = clip_region(region, edits.shape)
        if any(s.stop <= s.start for s in clipped):
            continue
        if mask is not None:
            mask = np.asarray(mask, bool)
            want = tuple(s.stop - s.start for s in region)
            if mask.shape != want:
                raise ValueError(f"the edit mask has shape {mask.shape}; the region is {want}.")
            mask = mask[tuple(slice(c.start - r.start, c.stop - r.start) for c, r in zip(clipped, region))]
            if not mask.any():
                continue
        kept.append((clipped, mask))
    if not kept:
        return 0
    lo = [min(r[a].start for r, _ in kept) for a in range(len(edits.shape))]
    hi = [max(r[a].stop for r, _ in kept) for a in range(len(edits.shape))]
    block = _read(edits, tuple(slice(a, b) for a, b in zip(lo, hi)))
    new = np.zeros(block.shape, bool)
    for region, mask in kept:
        local = tuple(slice(s.start - a, s.stop - a) for s, a in zip(region, lo))
        if mask is None:
            new[local] = True
        else:
            new[local] |= mask
    new &= block == 0
    hit = np.nonzero(new)
    if not hit[0].size:
        return 0
    # write only the box of the voxels not yet marked (a long stroke's bounding box is mostly untouched)
    sub = tuple(slice(int(h.min()), int(h.max()) + 1) for h in hit)
    out = block[sub].copy()
    out[new[sub]] = 1
    edits[tuple(slice(a + s.start, a + s.stop) for a, s in zip(lo, sub))] = out
    return int(hit[0].size)


def next_free_id(array, chunk_rows: int = 32) -> int:
    """One more than the largest id in a label array, read in z-slabs.

    Examples
    --------
    >>> import numpy as np
    >>> next_free_id(np.array([[[0, 7]], [[3, 0]]]))
    8
    """
    top = 0
    for z in range(0, array.shape[0], chunk_rows):
        block = np.asarray(array[z:z + chunk_rows])
        if block.size:
            top = max(top, int(block.max()))
    return top + 1
