"""A class layer corrected by its Add / Remove / Ignore masks, region by region.

The one rule every reader of a project uses (composition, so QC, ``patchwise
check`` and every export; the napari merged view): the class as painted,
then Remove, then Add, then Ignore, each over the ones before, exactly as
MemBrain-seg merges (:func:`~.merge.merge_masks`, without its border):

==========  ==================================================================
mask        the voxel becomes
==========  ==================================================================
Remove      not the class: background (``removed``), unless Add or Ignore
            also holds it
Add         the class's foreground value ``1`` (a voxel the class already
            holds keeps its value)
Ignore      ignore, whatever the class or the other masks say
==========  ==================================================================

Instance classes take Remove and Ignore only: an added voxel would need an
object id, which a mask cannot give (new objects are painted in the class
layer itself, each with an id of its own). Add voxels of an instance class
outside its objects are refused with a message rather than guessed.

Everything is voxel-wise, so a region of the result equals the same region of
the whole-volume result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..geometry.regions import clip_region
from .merge import KIND_VALUES, merge_masks

__all__ = ["CorrectedClass", "FOREGROUND", "correct_class"]

#: The value Add paints into a (semantic) class.
FOREGROUND = 1


@dataclass(frozen=True, eq=False)
class CorrectedClass:
    """A region of a class after its corrections.

    Attributes
    ----------
    ids : ndarray
        The class's values (the base layer's dtype), ``0`` where it is absent.
    removed : ndarray of bool
        Voxels Remove took out of the class: background.
    ignore : ndarray of bool
        Voxels Ignore marked: ignored, whatever else holds them.
    """

    ids: np.ndarray
    removed: np.ndarray
    ignore: np.ndarray


def correct_class(base, masks: Mapping[str, object], region=None, *, instance: bool = False,
                  name: str = "the class") -> CorrectedClass:
    """The class ``base`` corrected by ``masks`` in ``region`` (the whole array by default).

    Parameters
    ----------
    base : array
        The class layer (numpy or zarr), ``(z, y, x)``.
    masks : mapping of str to array
        Any of ``'remove'``, ``'add'``, ``'ignore'``: arrays of ``base``'s
        shape (``> 0``: in the mask); missing kinds are empty.
    region : tuple of 3 slices, optional
        Only this part is read.
    instance : bool
        The class holds instance ids (Add is then refused outside its objects).
    name : str
        The class, for messages.

    Raises
    ------
    ValueError
        If Add holds voxels outside the objects of an instance class.

    Examples
    --------
    >>> base = np.array([[[0, 1, 1, 0, 1]]], np.uint8)
    >>> c = correct_class(base, {"remove": np.array([[[0, 1, 0, 1, 1]]]), "add": np.array([[[1, 0, 0, 1, 0]]]),
    ...                          "ignore": np.array([[[0, 0, 0, 0, 1]]])})
    >>> c.ids.tolist(), c.removed.tolist(), c.ignore.tolist()
    ([[[1, 0, 1, 1, 0]]], [[[False, True, False, False, False]]], [[[False, False, False, False, True]]])
    >>> correct_class(np.array([[[0, 7, 7]]]), {"remove": np.array([[[0, 0, 1]]])}, instance=True).ids.tolist()
    [[[0, 7, 0]]]
    """
    region = clip_region(region, base.shape)
    ids = np.asarray(base[region])
    read = {}
    for kind, mask in masks.items():
        if kind not in KIND_VALUES:
            raise ValueError(f"correction kinds are {tuple(KIND_VALUES)}; got {kind!r}.")
        if mask is not None:
            if tuple(mask.shape) != tuple(base.shape):
                raise ValueError(f"the {kind} mask of {name} has shape {tuple(mask.shape)}; the class layer "
                                 f"has {tuple(base.shape)}. Recreate the corrections at the layer's shape.")
            read[kind] = np.asarray(mask[region]) > 0
    present = ids > 0
    # MemBrain-seg's precedence, on the class as 0 / 1: 0 absent, 1 present, 2 ignore
    merged = merge_masks(present.astype(np.uint8), border=0, **read)
    keep = merged == KIND_VALUES["add"]
    if instance and "add" in read:
        new = keep & ~present
        if new.any():
            raise ValueError(
                f"the Add mask of instance class {name} holds {int(new.sum())} voxels outside its objects; "
                "an added voxel needs an object id. Paint new objects in the class layer instead and clear "
                "those voxels of the Add mask."
            )
    out = np.where(keep, np.where(present, ids, np.asarray(FOREGROUND, ids.dtype)), np.zeros((), ids.dtype))
    removed = (merged == KIND_VALUES["remove"]) & read.get("remove", np.zeros(ids.shape, bool))
    return CorrectedClass(out.astype(ids.dtype, copy=False), removed, merged == KIND_VALUES["ignore"])
