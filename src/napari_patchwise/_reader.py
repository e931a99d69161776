"""napari reader for patchwise project folders.

Dropping a project folder on napari (or ``napari PROJECT``, or opening its
``plan.json``) restores the image it refers to, the boxes (as the ``patchwise
boxes`` Shapes layer) and every annotation layer. The Box planner dock picks
the boxes layer up for editing. The viewer holds the project's write lock
while those layers are open (:mod:`.layers.session`); a project that a
``patchwise`` command or another napari is changing is refused, naming it.

The manifest claims folders and files named ``plan.json`` only, so napari's
own reader opens image files without asking. napari offers every folder to
all readers that accept folders (its own included) and asks which to use;
Patchwise is listed first and chosen by default.

Opening stays light, since napari calls readers on its GUI thread: the image
is a dask array over the file (napari reads only the slices it shows), its
contrast limits come from a sample (:func:`.engine.io.contrast.robust_contrast_limits`),
the annotation Labels are the project's Zarr arrays themselves (painting
writes into ``annotations.zarr``), and the boxes layer holds the rectangles of
the slice napari shows first only (the middle one); the viewer's
:class:`~.layers.session.Session` redraws them on every slice change, and the
Box planner takes the layer over when it is open. When napari's event loop is
running (a drop, File > Open, the Plan step's *Open project*), the reader
reads the plan and locks the project (refusing a damaged plan or a locked
project at once, as napari's error), then returns napari's "nothing to add"
(``[(None,)]``): the image, its contrast, the validation and the napari layers
themselves are made in a worker thread and the layers come one by one over
turns of the event loop (:func:`._qt.opening.open_in_background`), so the
window never waits for more than one layer at a time. Without a running event
loop (a script, ``napari PROJECT`` at start-up) every layer is returned at once.

A project may hold several images (:mod:`.engine.plan.collection`); the
viewer shows one at a time: the one it showed last (the session remembers it
while the project stays open), else the first. Every layer of the project
names that image in its metadata (``"image"``; a project of one image opens
as it always did, its layers name no image). The Plan step's image list
switches to another (:mod:`._qt.image_list`).

napari (through npe2) hands a reader the path only, never the viewer, so the
write lock is taken for :func:`napari.current_viewer` (the viewer whose window
is active: the one a drop or File > Open came from).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

from .engine.io.channels import measured_channel
from .engine.io.contrast import robust_contrast_limits
from .engine.io.lazy import lazy_volume
from .engine.io.volumes import read_volume
from .engine.plan.lock import ProjectLocked
from .engine.plan.plan_file import is_project, load_collection
from .engine.plan.project import ProjectError, open_project, resolve_image_path
from .engine.findings import severity_by_box
from .layers.annotation_layers import annotation_layer_data
from .layers.correction_layers import all_correction_layer_data
from .layers.box_shapes import (
    METADATA_KEY,
    box_rectangles,
    boxes_layer_kwargs,
    edge_colors,
    face_colors,
)
from .layers.project_link import tag_image
from .layers.session import hold_project, session_for


PLAN_FILE = "plan.json"


def _project_folder(path) -> str | None:
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, str | os.PathLike):
        return None
    p = Path(path)
    folder = p.parent if p.name == PLAN_FILE and p.is_file() else p
    return os.fspath(folder) if is_project(folder) else None


def get_reader(path):
    """Return :func:`read_project` when ``path`` is a patchwise project folder (or its
    ``plan.json``), else ``None``."""
    return read_project if _project_folder(path) is not None else None


def _hold(folder):
    """Take the project's write lock for the viewer it opens in (refused while another writer has
    it); return that viewer (None when read outside one)."""
    from napari import current_viewer

    viewer = current_viewer()
    if viewer is None:  # read outside a viewer: nothing paints into it here
        return None
    try:
        hold_project(viewer, folder)
    except ProjectLocked:
        raise
    except ProjectError as e:  # e.g. a read-only folder: it can be looked at, not changed
        warnings.warn(f"{folder} opens without its write lock: {e}", stacklevel=3)
    return viewer


def first_slice(plan) -> int:
    """The z-slice napari shows first (the middle one), whose rectangles the reader returns.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> first_slice(Plan(ImageRef((96, 8, 8))))
    47
    """
    return (plan.image.shape[0] - 1) // 2


def project_layer_data(folder, plan, group, image: str | None = None) -> tuple[list[tuple], list[str]]:
    """Layer data tuples of an open project (image, boxes, annotation layers) and what to warn about.

    The image is a lazy (dask) array with contrast limits from a sample; nothing
    here needs Qt or a viewer, so it may run in a worker thread. ``image`` (the
    image's name in the project) goes into every layer's metadata.
    """
    meta = {"role": "boxes", "project": os.path.abspath(folder)}
    if image is not None:
        meta["image"] = image
    layers: list[tuple] = []
    notes: list[str] = []
    image_path = resolve_image_path(folder, plan)
    if image_path is not None and image_path.exists():
        vol = read_volume(image_path, **plan.image.read_options())
        vol = dataclasses.replace(vol, data=measured_channel(vol.data, plan.image.channel))
        if tuple(vol.data.shape) != plan.image.shape:
            notes.append(f"{image_path} has shape {tuple(vol.data.shape)}, the plan expects "
                         f"{plan.image.shape}; the image was not opened.")
        else:
            image_meta = {"role": "image", "project": meta["project"], "dataset": plan.image.dataset,
                          "voxel_size_known": plan.image.voxel_size_known, **_named(image)}
            kwargs = {"name": plan.image.name, "scale": plan.image.voxel_size, "units": (plan.image.unit,) * 3,
                      "contrast_limits": robust_contrast_limits(vol.data), "metadata": {METADATA_KEY: image_meta}}
            layers.append((lazy_volume(vol.data), kwargs, "image"))
    elif image_path is not None:
        notes.append(f"the project's image {image_path} is missing; boxes and labels are shown without it.")
    findings = plan.validate()
    rects, feats = box_rectangles(plan.boxes, first_slice(plan))
    sev = severity_by_box(findings, plan.boxes)
    kwargs = boxes_layer_kwargs(plan.image.voxel_size, {METADATA_KEY: meta}, plan.image.unit)
    kwargs.update(features=feats, shape_type="rectangle")
    if rects:
        kwargs["edge_color"] = edge_colors(feats["box_id"], sev)
        kwargs["face_color"] = face_colors(feats["box_id"], {b.id: b.stratum for b in plan.boxes})
    layers.append((rects, kwargs, "shapes"))
    layers.extend(annotation_layer_data(plan, group, project=meta["project"]))
    layers.extend(all_correction_layer_data(plan, group, project=meta["project"]))
    return [tag_image(data, image) for data in layers], notes


def _named(image: str | None) -> dict:
    return {} if image is None else {"image": image}


def shown_image(folder, viewer=None) -> str | None:
    """The image of a project to show: the one ``viewer``'s session shows (or showed last), else the
    first; None for a project of one image (opened as it always was, its layers name no image)."""
    names = load_collection(folder).names
    if len(names) == 1:
        return None
    shown = session_for(viewer).image_of(folder) if viewer is not None else None
    return shown if shown in names else names[0]


def read_project(path) -> list[tuple]:
    """Layer data tuples for a project: image, boxes, annotation layers.

    From napari's running window the plan is read and the project locked here
    (a damaged plan or a locked project is refused at once); the rest is read
    and the layers built in a worker, then added one per turn of the event
    loop (:func:`._qt.opening.open_in_background`), and napari is told that
    nothing is to be added now (``[(None,)]``, napari's "nothing to add").
    """
    folder = _project_folder(path) or os.fspath(path[0] if isinstance(path, list | tuple) else path)
    from napari import current_viewer

    image = shown_image(folder, current_viewer()) if is_project(folder) else None
    plan, group = open_project(folder, image)
    if current_viewer() is not None:  # before the lock: the docks told of the project read this image's plan
        session_for(current_viewer()).show_image(folder, image)
    viewer = _hold(folder)
    if viewer is not None:
        from ._qt.in_turns import event_loop_running

        if event_loop_running():
            from ._qt.opening import open_in_background

            open_in_background(viewer, folder, plan, lambda: project_layer_data(folder, plan, group, image))
            return [(None,)]
    layers, notes = project_layer_data(folder, plan, group, image)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return layers
