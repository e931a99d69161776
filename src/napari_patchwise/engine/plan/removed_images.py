"""Removed images wait in the project's ``removed/`` folder until they are purged.

Removing an image (:func:`~.project_images.remove_image`) takes it out of
``plan.json`` but keeps what it held: its entry (reference, boxes, domain)
and its annotation arrays move to ``removed/NAME-TIMESTAMP/``::

    removed/fib-20261202T103000Z/
        image.json     the image's entry (a plan.json of that one image) and
                       how many annotated voxels it held
        layers/        its group of annotation arrays, as it was in
                       annotations.zarr/NAME

:func:`restore_image` puts the newest removal of a name back (the name must
be free again); :func:`purge_removed` deletes removals for good. Call these
holding the project's lock (:mod:`.lock`), as every writer does.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> from napari_patchwise.engine.plan.project_images import add_image, remove_image
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8), path="a.tif")))
...     _ = add_image(folder, Plan(ImageRef((2, 8, 8), path="b.tif")))
...     open_annotations(folder, image="b")["nuclei"][0, 0, :3] = 5
...     print(remove_image(folder, "b", confirm=True), [r.name for r in removed_images(folder)])
...     print(restore_image(folder, "b"), load_collection(folder).names,
...           int(open_annotations(folder, image="b")["nuclei"][0, 0, :3].sum()))
3 ['b']
b ('a', 'b') 15
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .annotation_store import ANNOTATIONS
from .atomic import _json_bytes, _write_bytes_atomic
from .collection import Collection, ImageEntry
from .paths import os_error_reason
from .plan_file import ProjectError, load_collection, project_folder, write_plan_file

#: The folder of a project holding removed images.
REMOVED = "removed"
RECORD = "image.json"
LAYERS = "layers"


@dataclass(frozen=True)
class RemovedImage:
    """One removal waiting in ``removed/``.

    Attributes
    ----------
    name : str
        The image's name when it was removed.
    folder : Path
        Its folder in ``removed/``.
    removed : str
        When (UTC, ISO 8601).
    voxels : int
        Annotated voxels it held.
    """

    name: str
    folder: Path
    removed: str
    voxels: int


def _stamp(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def keep_removed(folder: Path, entry: ImageEntry, voxels: int) -> Path:
    """Write the record of a removal (before ``plan.json`` changes); returns its folder.

    The arrays follow with :func:`move_layers` once the plan no longer names the image.
    """
    root = folder / REMOVED
    root.mkdir(exist_ok=True)
    stamp = _stamp()
    target = root / f"{entry.name}-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = root / f"{entry.name}-{stamp}-{n}"
    target.mkdir()
    record = {"name": entry.name, "removed": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "voxels": int(voxels), "plan": Collection((entry,)).to_dict(), "domain": entry.domain}
    _write_bytes_atomic(target / RECORD, _json_bytes(record))
    return target


def move_layers(folder: Path, name: str, kept: Path) -> None:
    """Move the group ``annotations.zarr/NAME`` into a removal's folder (if it is there)."""
    group = folder / ANNOTATIONS / name
    if os.path.lexists(group):
        os.replace(group, kept / LAYERS)


def _read(path: Path) -> tuple[RemovedImage, dict] | None:
    try:
        d = json.loads((path / RECORD).read_bytes().decode("utf-8"))
        return RemovedImage(str(d["name"]), path, str(d["removed"]), int(d["voxels"])), d
    except (OSError, ValueError, KeyError, TypeError):
        return None


def removed_images(folder) -> list[RemovedImage]:
    """The removals waiting in a project's ``removed/`` folder, oldest first.

    Folders without a readable record (a removal killed before its record
    was complete) are left out.
    """
    root = project_folder(folder) / REMOVED
    if not root.is_dir():
        return []
    found = [r for p in sorted(root.iterdir()) if p.is_dir() and (r := _read(p)) is not None]
    return [r for r, _ in sorted(found, key=lambda t: (t[0].removed, t[0].folder.name))]


def restore_image(folder, name: str) -> str:
    """Put the newest removal of image ``name`` back into the project; returns its name.

    Raises
    ------
    ProjectError
        When no removal of ``name`` waits, the project has an image of that
        name again, or the image no longer fits the project (other classes
        or magnification). Nothing changes then.
    """
    from .project_images import _clear_orphan

    folder = project_folder(folder)
    waiting = [r for r in removed_images(folder) if r.name == name]
    if not waiting:
        names = sorted({r.name for r in removed_images(folder)})
        raise ProjectError(f"no removed image named {name!r} in {folder}; removed images: "
                           f"{', '.join(names) or 'none'}.")
    kept = waiting[-1]
    _, record = _read(kept.folder)
    collection = load_collection(folder)
    try:
        entry = Collection.from_dict(record["plan"]).images[0]
        collection = collection.add_image(entry.plan, name, record.get("domain"))
    except ValueError as e:
        raise ProjectError(f"cannot restore image {name!r} into {folder}: {e}") from None
    try:
        layers = kept.folder / LAYERS
        if os.path.lexists(layers):
            _clear_orphan(folder, name, entry.plan)
            os.replace(layers, folder / ANNOTATIONS / name)
        write_plan_file(folder, collection)
        shutil.rmtree(kept.folder)
    except OSError as e:
        raise ProjectError(f"cannot restore image {name!r} into {folder}: {os_error_reason(e)}.") from e
    return name


def purge_removed(folder, name: str | None = None) -> list[RemovedImage]:
    """Delete removals for good (every one, or those of image ``name``); returns what went.

    Raises
    ------
    ProjectError
        When ``name`` is given and no removal of it waits.
    """
    folder = project_folder(folder)
    waiting = removed_images(folder)
    if name is not None:
        waiting = [r for r in waiting if r.name == name]
        if not waiting:
            raise ProjectError(f"no removed image named {name!r} in {folder}; nothing purged.")
    for r in waiting:
        try:
            shutil.rmtree(r.folder)
        except OSError as e:
            raise ProjectError(f"cannot delete {r.folder}: {os_error_reason(e)}.") from e
    root = folder / REMOVED
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    return waiting
