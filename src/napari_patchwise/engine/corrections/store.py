"""Correction masks of a project: Add / Remove / Ignore arrays per class in annotations.zarr.

Each image group of ``annotations.zarr`` may hold, for a class ``NAME``, the
arrays ``corrections/NAME/add``, ``corrections/NAME/remove`` and
``corrections/NAME/ignore``: ``uint8`` masks (``> 0``: in the mask) of the
class layer's shape and chunks, created empty on first use. They correct
the class as MemBrain-seg merges corrections (``merge.merge_masks``):
the class as it is, then Remove, then Add, then Ignore.
"""

from __future__ import annotations

import zarr

from ..plan.plan_file import ProjectError

__all__ = ["CORRECTION_KINDS", "correction_path", "correction_arrays", "has_corrections"]

#: The kinds of correction masks, in the order they are applied.
CORRECTION_KINDS = ("remove", "add", "ignore")


def correction_path(class_name: str, kind: str) -> str:
    """Path of a correction array inside an image group.

    Examples
    --------
    >>> correction_path("membrane", "add")
    'corrections/membrane/add'
    """
    if kind not in CORRECTION_KINDS:
        raise ValueError(f"correction kinds are {CORRECTION_KINDS}; got {kind!r}.")
    return f"corrections/{class_name}/{kind}"


def has_corrections(group: zarr.Group, class_name: str) -> bool:
    """Whether the image group holds any correction array of ``class_name``.

    Examples
    --------
    >>> g = zarr.group()
    >>> _ = g.create_array("membrane", shape=(4, 8, 8), chunks=(4, 8, 8), dtype="uint8")
    >>> has_corrections(g, "membrane")
    False
    >>> _ = correction_arrays(g, "membrane")
    >>> has_corrections(g, "membrane")
    True
    """
    return any(isinstance(group.get(correction_path(class_name, k)), zarr.Array) for k in CORRECTION_KINDS)


def correction_arrays(group: zarr.Group, class_name: str, *, create: bool = True) -> dict[str, zarr.Array]:
    """``{'remove': array, 'add': array, 'ignore': array}`` of a class, created empty when missing.

    Parameters
    ----------
    group : zarr.Group
        An image group of ``annotations.zarr`` (``open_annotations``).
    class_name : str
        A class of the plan; its layer gives the shape and chunks.
    create : bool
        Create missing arrays (the group must be writable); with ``False``
        only the existing arrays are returned.

    Examples
    --------
    >>> g = zarr.group()
    >>> _ = g.create_array("membrane", shape=(4, 8, 8), chunks=(4, 8, 8), dtype="uint8")
    >>> arrays = correction_arrays(g, "membrane")
    >>> sorted(arrays), arrays["add"].shape, arrays["add"].dtype.name
    (['add', 'ignore', 'remove'], (4, 8, 8), 'uint8')
    >>> int(arrays["ignore"][:].max())
    0
    """
    base = group.get(class_name)
    if not isinstance(base, zarr.Array):
        raise ProjectError(
            f"annotations have no layer {class_name!r} to correct; the layers are "
            f"{sorted(group.array_keys())}. Add the class to the plan and save it."
        )
    out = {}
    for kind in CORRECTION_KINDS:
        path = correction_path(class_name, kind)
        node = group.get(path)
        if isinstance(node, zarr.Array):
            out[kind] = node
        elif create:
            out[kind] = group.create_array(
                path, shape=base.shape, chunks=base.chunks, dtype="uint8", fill_value=0,
                attributes={"kind": f"correction-{kind}", "class": class_name},
            )
    return out
