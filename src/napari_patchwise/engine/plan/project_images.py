"""The images of a project folder: saved together, added, removed, and counted.

A project's ``plan.json`` holds a :class:`.Collection`; each image has its
group of layers in ``annotations.zarr`` (:mod:`.store_layout`). Adding an
image creates its group before the plan names it; removing one changes the
plan first and deletes its group after, so a kill in between leaves at most an
unnamed group, which holds nothing painted or is refused until moved away.
An image holding annotated voxels is removed only when the caller confirms
(the refusal says how many voxels it holds); a removed image waits in the
project's ``removed/`` folder until purged (:mod:`.removed_images`). Call these holding the
project's lock (:mod:`.lock`), as every writer does.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8), path="a.tif")))
...     print(add_image(folder, Plan(ImageRef((2, 8, 8), path="b.tif")), domain="em"))
...     open_annotations(folder, image="b")["nuclei"][0, 0, :3] = 5
...     try:
...         remove_image(folder, "b")
...     except ProjectError as e:
...         print(str(e).split(";")[0])
...     print(remove_image(folder, "b", confirm=True), load_collection(folder).names)
b
image 'b' holds 3 annotated voxels
3 ('a',)
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import zarr

from .annotation_store import ANNOTATIONS, _open_group, correction_members, open_annotations, sync_annotations
from .collection import Collection
from .paths import os_error_reason
from .plan import Plan
from .plan_file import ProjectError, check_plan, load_collection, project_folder, write_plan_file
from .store_layout import migrate_project

__all__ = ["add_image", "annotated_voxels", "load_collection", "remove_image", "save_collection"]


def annotated_voxels(group: zarr.Group, plan: Plan) -> int:
    """Voxels (at the magnification) labelled in any class layer, ``background``, ``ignore`` or correction mask.

    Reads only the chunks a layer stores, one block of chunks at a time.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project, open_annotations
    >>> plan = Plan(ImageRef((4, 8, 8)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     group = open_annotations(create_project(tmp, plan))
    ...     group["nuclei"][0, 0, :4] = 1
    ...     group["background"][0, 0, 2:6] = 1
    ...     print(annotated_voxels(group, plan))
    6
    """
    names = [c.name for c in plan.classes] + ["background", "ignore"]
    arrays = [a for n in names if isinstance(a := group.get(n), zarr.Array) and a.nchunks_initialized]
    arrays += [a for a in correction_members(group).values() if a.nchunks_initialized]
    if not arrays:
        return 0
    shape, chunks = arrays[0].shape, arrays[0].chunks
    total = 0
    step = (chunks[0], chunks[1], chunks[2] * 8)
    for corner in itertools.product(*(range(0, n, s) for n, s in zip(shape, step))):
        block = tuple(slice(c, min(c + s, n)) for c, s, n in zip(corner, step, shape))
        mask = np.asarray(arrays[0][block]) != 0
        for a in arrays[1:]:
            mask |= np.asarray(a[block]) != 0
        total += int(np.count_nonzero(mask))
    return total


def _group_voxels(folder: Path, name: str, plan: Plan) -> int:
    """Annotated voxels in the group ``name`` of the store (0 when it is missing)."""
    path = folder / ANNOTATIONS / name
    if not path.is_dir():
        return 0
    return annotated_voxels(_open_group(path, "r"), plan)


def _drop_group(folder: Path, name: str) -> None:
    """Delete an image's group: renamed hidden first, so a kill never leaves half a group under its name."""
    root = folder / ANNOTATIONS
    if not os.path.lexists(root / name):
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".removed", dir=root))
    os.replace(root / name, trash / name)
    shutil.rmtree(trash, ignore_errors=True)


def _clear_orphan(folder: Path, name: str, plan: Plan) -> None:
    """Make room for a new image ``name``: an empty group left by a killed add or removal is deleted;
    one holding annotations is refused."""
    n = _group_voxels(folder, name, plan)
    if n:
        raise ProjectError(
            f"{folder / ANNOTATIONS / name} holds {n:,} annotated voxels but the plan has no image "
            f"{name!r} (left by an interrupted removal?); move it out of the store, or give the new "
            "image another name."
        )
    _drop_group(folder, name)


class HoldsAnnotations(ProjectError):
    """A removal refused because the image holds annotated voxels (:attr:`voxels` of them)."""

    def __init__(self, voxels: int, message: str):
        super().__init__(message)
        self.voxels = voxels


def _refuse_loss(name: str, n: int) -> None:
    raise ProjectError(
        f"image {name!r} holds {n:,} annotated voxels; removing it would lose them. Export them "
        "first if you need them, then confirm the removal (remove_image(..., confirm=True))."
    )


def save_collection(folder, collection: Collection) -> Path:
    """Save a project's images: layers for new images, ``plan.json`` last; returns its path.

    An image left out that holds annotated voxels is refused (use
    :func:`remove_image` with ``confirm=True``); left-out empty images lose
    their (empty) layers. A project of plan version 1 is migrated first.
    """
    if not isinstance(collection, Collection):
        raise TypeError(f"expected a Collection; got {type(collection).__name__}.")
    folder = project_folder(folder)
    try:
        migrate_project(folder)
        old = load_collection(folder)
        gone = [e for e in old.images if e.name not in collection.names]
        for e in gone:
            if n := _group_voxels(folder, e.name, e.plan):
                _refuse_loss(e.name, n)
        for e in collection.images:
            if e.name not in old.names:
                _clear_orphan(folder, e.name, e.plan)
            sync_annotations(folder, e.plan, e.name)
        path = write_plan_file(folder, collection)
        for e in gone:
            _drop_group(folder, e.name)
        return path
    except OSError as e:
        raise ProjectError(f"cannot save the images of {folder}: {os_error_reason(e)}.") from e


def add_image(folder, plan: Plan, name: str | None = None, domain: str | None = None) -> str:
    """Add an image to a project (its empty layers too); returns its name.

    ``name`` defaults to the image file's stem, made unique; a name already
    taken, or other classes or magnification than the project's, is refused.
    """
    check_plan(plan)
    folder = project_folder(folder)
    migrate_project(folder)
    collection = load_collection(folder)
    try:
        collection = collection.add_image(plan, name, domain)
    except ValueError as e:
        raise ProjectError(f"cannot add the image to {folder}: {e}") from None
    save_collection(folder, collection)
    return collection.names[-1]


def remove_image(folder, name: str, confirm: bool = False) -> int:
    """Remove image ``name`` from a project; returns how many annotated voxels it held.

    The image is not deleted: its entry and annotation arrays move to the
    project's ``removed/`` folder (:mod:`.removed_images`), from where
    :func:`~.removed_images.restore_image` puts it back and
    :func:`~.removed_images.purge_removed` deletes it for good. Without
    ``confirm``, an image holding annotated voxels is refused and nothing
    changes (the message says how many voxels it holds). The last image of
    a project cannot be removed.
    """
    from .removed_images import keep_removed, move_layers

    folder = project_folder(folder)
    migrate_project(folder)
    collection = load_collection(folder)
    try:
        entry = collection.image(name)
        remaining = collection.remove_image(name)
    except (KeyError, ValueError) as e:
        raise ProjectError(f"cannot remove image {name!r} from {folder}: {e.args[0]}") from None
    plan = entry.plan
    n = annotated_voxels(open_annotations(folder, plan, mode="r", image=name), plan) \
        if (folder / ANNOTATIONS / name).is_dir() else 0
    if n and not confirm:
        raise HoldsAnnotations(n,
            f"image {name!r} holds {n:,} annotated voxels; confirm to remove it (remove_image(..., "
            "confirm=True), or patchwise images --remove NAME --yes). It then waits in the project's "
            "removed/ folder: restore puts it back, purge deletes it for good."
        )
    try:
        kept = keep_removed(folder, entry, n)  # the record first, then the plan, then the arrays
        write_plan_file(folder, remaining)  # a kill before the move leaves an unnamed group
        move_layers(folder, name, kept)
    except OSError as e:
        raise ProjectError(f"cannot remove image {name!r} from {folder}: {os_error_reason(e)}.") from e
    return n
