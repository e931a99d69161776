"""Which images a command means: files, folders of images and globs, expanded in a fixed order.

``patchwise propose A.tif folder/ 'crops/*.h5' -o P`` names images three ways;
:func:`expand_image_args` turns them into one list of image specs (a path, or
``file.h5:dataset``) that :func:`~napari_patchwise.engine.io.volumes.read_volume`
reads. :func:`held_image` tells whether a project already holds an image
(same file and dataset), so adding the same images twice adds nothing.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     for name in ("b.tif", "a.tif", "notes.txt"):
...         _ = Path(tmp, name).write_bytes(b"")
...     [Path(p).name for p in expand_image_args([tmp])]
['a.tif', 'b.tif']
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ..io.hdf5 import split_dataset

#: File endings of images a folder argument contributes (a ``.zarr`` / ``.n5`` folder is one image).
IMAGE_SUFFIXES = (".tif", ".tiff", ".zarr", ".n5", ".h5", ".hdf5", ".hdf", ".npy", ".mrc", ".rec",
                  ".nrrd", ".nii", ".nii.gz")
_STORE_SUFFIXES = (".zarr", ".n5")
_GLOB_CHARS = set("*?[")


def _is_image(p: Path) -> bool:
    name = p.name.lower()
    if name.startswith("."):
        return False
    if p.is_dir():
        return name.endswith(_STORE_SUFFIXES)
    return name.endswith(IMAGE_SUFFIXES)


def _is_folder_of_images(p: Path) -> bool:
    """A folder to look into: not a store, nor a folder named like an image file (refused when read)."""
    return p.is_dir() and not p.name.lower().endswith(IMAGE_SUFFIXES)


def _folder_images(folder: Path) -> list[str]:
    found = sorted(str(p) for p in folder.iterdir() if _is_image(p))
    if not found:
        raise ValueError(
            f"{folder} is a folder, not an image file, and holds no image ({', '.join(IMAGE_SUFFIXES)}); "
            "give the image files, or a folder that holds them.")
    return found


def expand_image_args(args) -> list[str]:
    """The image specs meant by ``args`` (files, folders of images, globs), in order, each once.

    A folder contributes its images (sorted by name, not its sub-folders; a
    Zarr / N5 store is an image, not a folder; a folder named like an image
    file, ``x.tif``, is kept for the reader to refuse); a glob contributes what it
    matches, sorted; anything else (a file, ``file.h5:dataset``) is kept as
    given. The same file named twice is kept once.

    Raises
    ------
    FileNotFoundError
        For a path that does not exist or a glob that matches nothing.
    ValueError
        For a folder holding no image, or no argument at all.

    Examples
    --------
    >>> expand_image_args(["/no/such/*.tif"])
    Traceback (most recent call last):
    ...
    FileNotFoundError: /no/such/*.tif matches no file; check the pattern (quote it so the shell leaves it to patchwise).
    """
    specs: list[str] = []
    for arg in map(os.fspath, args):
        path, dataset = split_dataset(arg)
        if dataset is not None:
            specs.append(arg)
        elif _is_folder_of_images(path):
            specs.extend(_folder_images(path))
        elif path.exists():
            specs.append(arg)
        elif _GLOB_CHARS & set(arg):
            matched = sorted(glob.glob(arg))
            if not matched:
                raise FileNotFoundError(
                    f"{arg} matches no file; check the pattern (quote it so the shell leaves it to patchwise).")
            for m in matched:
                p = Path(m)
                if _is_folder_of_images(p):
                    specs.extend(_folder_images(p))
                elif _is_image(p):
                    specs.append(m)
        else:
            raise FileNotFoundError(f"no image at {arg}; check the path.")
    if not specs:
        raise ValueError("no image given; name image files, folders of images or globs.")
    seen, unique = set(), []
    for s in specs:
        p, d = split_dataset(s)
        key = (os.path.realpath(p), d)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return unique


def image_key(path, dataset=None, folder=None) -> tuple[str, str | None]:
    """What identifies an image file: its real absolute path (relative to ``folder`` when
    relative) and its dataset.

    Examples
    --------
    >>> image_key("/data/a.tif") == image_key("/data/../data/a.tif")
    True
    """
    p = Path(os.fspath(path)).expanduser()
    if not p.is_absolute() and folder is not None:
        p = Path(folder) / p
    return os.path.realpath(p), dataset or None


def held_image(collection, key: tuple[str, str | None], folder=None, time: int | None = None) -> str | None:
    """The name of the image of ``collection`` whose file and dataset are ``key`` (and time
    point ``time``, for a file with time points), or ``None``.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.collection import Collection
    >>> coll = Collection.from_plan(Plan(ImageRef((4, 8, 8), path="/data/a.h5", dataset="raw")))
    >>> held_image(coll, image_key("/data/a.h5", "raw")), held_image(coll, image_key("/data/a.h5"))
    ('a', None)
    """
    for entry in collection.images:
        ref = entry.plan.image
        if ref.path and ref.time == time and image_key(ref.path, ref.dataset, folder) == key:
            return entry.name
    return None
