"""Image files joining a project: their reference (shape, dtype, voxel size) and the project's settings.

``patchwise propose IMAGE... -o PROJECT`` and the Plan step's image list add
images the same way: :func:`image_ref_for` describes an opened volume (its
voxel size from what the user gave, else the file, else unknown: the rule of
:func:`~napari_patchwise.engine.geometry.voxelsize.choose_voxel_size`), and
:func:`add_image_files` adds files to a project with no boxes, taking the
project's preset, magnification, classes and box size. Every file is read
(lazily) before anything is written; images the project holds already (same
file and dataset) are skipped.

Examples
--------
>>> import tempfile
>>> import numpy as np
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.io.tiff_write import write_tiff
>>> from napari_patchwise.engine.plan.project import create_project
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = write_tiff(f"{tmp}/b.tif", np.zeros((4, 16, 16), np.uint8), (2.0, 0.5, 0.5))
...     folder = create_project(f"{tmp}/proj", Plan(ImageRef((4, 8, 8), path="a.tif")))
...     added = add_image_files(folder, [f"{tmp}/b.tif", f"{tmp}/b.tif"])
...     print(added.added, load_collection(folder).plan("b").image.voxel_size)
...     print(add_image_files(folder, [f"{tmp}/b.tif"]).skipped[0][1])
('b',) (2.0, 0.5, 0.5)
b
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry.voxelsize import VoxelChoice, choose_voxel_size
from ..io.axes import time_point_names
from ..io.channels import parse_channel, parse_channel_names
from ..io.volumes import read_time_points
from .collection import default_image_name
from .image_files import expand_image_args, held_image, image_key
from .plan import ImageRef, Plan
from .plan_file import ProjectError, load_collection, project_folder
from .project_images import save_collection
from .store_layout import migrate_project


def volume_image_name(vol) -> str | None:
    """The name of a time point's image (``NAME_t003``); ``None``: named after its file.

    Examples
    --------
    >>> from napari_patchwise.engine.io.volumes import Volume
    >>> vol = Volume(np.zeros((2, 4, 4)), None, "/data/movie.tif")
    >>> volume_image_name(vol), volume_image_name(dataclasses.replace(vol, time=3, time_points=20))
    (None, 'movie_t003')
    """
    if getattr(vol, "time", None) is None:
        return None
    stem = default_image_name(ImageRef((1, 1, 1), path=vol.path))
    return time_point_names(stem, [vol.time], vol.time_points)[0]


def image_ref_for(vol, voxel_size: str | None = None, *, channel: str | None = None,
                  channel_names: str | None = None) -> tuple[ImageRef, VoxelChoice]:
    """The reference of an opened volume (:func:`~napari_patchwise.engine.io.volumes.read_volume`) and
    how its voxel size was chosen (``voxel_size``: ``Z,Y,X[unit]`` given by the user, or ``None``).

    A time point of a time-lapse is named ``NAME_t003`` and records its file's axes and
    time; an image with channels records them, their names (``channel_names`` as
    ``A,B``, else the file's) and the channel proposal measures (``channel``: an
    index, or ``'all'``/``None`` for the mean of them).

    Examples
    --------
    >>> from napari_patchwise.engine.io.volumes import Volume
    >>> ref, choice = image_ref_for(Volume(np.zeros((2, 4, 4), ">u2"), None, "/data/x.tif"), "1,0.5,0.5")
    >>> ref.shape, ref.dtype, ref.name, ref.voxel_size, choice.known
    ((2, 4, 4), 'uint16', 'x', (1.0, 0.5, 0.5), True)
    """
    shape = tuple(int(v) for v in vol.data.shape[-3:])
    channels = {}
    n = getattr(vol, "channels", 1)
    if n > 1:
        channels = {"channels": n, "channel": parse_channel(channel or "all", n),
                    "channel_names": parse_channel_names(channel_names, n) if channel_names else vol.channel_names}
    axes = getattr(vol, "axes", "ZYX")
    choice = choose_voxel_size(voxel_size, vol.voxel_size, vol.unit)
    ref = ImageRef(shape=shape, dtype=np.dtype(vol.data.dtype).name, path=str(Path(vol.path).resolve()),
                   name=volume_image_name(vol) or Path(vol.path).stem, dataset=vol.dataset,
                   file_axes=None if axes == "ZYX" else axes, time=getattr(vol, "time", None), **channels)
    return dataclasses.replace(ref, voxel_size=choice.voxel_size, unit=choice.unit,
                               voxel_size_known=choice.known), choice


@dataclass(frozen=True)
class AddedImages:
    """What :func:`add_image_files` did: names of the images added, files skipped ``(spec, held name)``,
    and notes on voxel sizes (e.g. unknown ones)."""

    added: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def add_image_files(folder, specs, voxel_size: str | None = None) -> AddedImages:
    """Add image files (paths, ``file.h5:dataset``, folders of images, globs) to a project, without boxes.

    Each image gets the project's preset, magnification, classes and box size
    and its own voxel size (``voxel_size`` when given, else its file's, else
    unknown). A file whose metadata records time points adds one image per time
    point (``NAME_t000``...); one with channels keeps them (proposal measures their
    mean). Call it holding the project's lock.

    Raises
    ------
    ProjectError
        For a file that cannot be read (nothing is written then), or a project that cannot be saved.
    """
    folder = project_folder(folder)
    try:
        vols = [v for s in expand_image_args(specs) for v in read_time_points(s)]
    except (OSError, ValueError) as e:
        raise ProjectError(f"nothing was added to {folder}: {e}") from None
    migrate_project(folder)
    collection = load_collection(folder)
    template = collection.images[0].plan
    added, skipped, notes = [], [], []
    for vol in vols:
        key = image_key(vol.path, vol.dataset)
        held = held_image(collection, key, folder, vol.time)
        if held is not None:
            skipped.append((str(vol.path), held))
            continue
        ref, choice = image_ref_for(vol, voxel_size)
        plan = Plan(ref, preset=template.preset, magnification=template.magnification,
                    classes=template.classes, box_size=template.box_size)
        name = volume_image_name(vol)
        try:
            collection = collection.add_image(plan, None if name is None else collection.unique_name(name))
        except ValueError as e:
            raise ProjectError(f"cannot add {vol.path} to {folder}: {e}") from None
        added.append(collection.names[-1])
        if not choice.known:
            notes.append(f"{collection.names[-1]}: the file records no voxel size; 1,1,1 pixel is assumed "
                         "(set it in the Plan step's voxel size).")
        notes.extend(f"{collection.names[-1]}: {n}" for n in choice.notes)
    if added:
        save_collection(folder, collection)
    return AddedImages(tuple(added), tuple(skipped), tuple(notes))
