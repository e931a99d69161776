"""Project folders: ``plan.json`` (:mod:`.plan_file`) next to ``annotations.zarr`` (:mod:`.annotation_store`).

A project is a collection of images (:mod:`.collection`); the functions here
take one image's :class:`Plan` and default to the project's only image, so a
one-image project is used exactly as before. Adding and removing images is in
:mod:`.project_images`.

Created, saved and opened as one. Every write goes to a temporary file first
and is renamed into place, so an interrupted save leaves the last save intact.
Whoever changes a project holds its lock, ``.patchwise.lock`` (:mod:`.lock`).
Names of either half are imported from the module that defines them.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> plan = Plan(ImageRef((20, 45, 50)), magnification=(1, 2, 2))
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(f"{tmp}/proj", plan)
...     loaded, group = open_project(folder)
...     print(loaded == plan, sorted(group.array_keys()), group["nuclei"].shape)
True ['background', 'ignore', 'nuclei'] (20, 23, 25)
"""

from __future__ import annotations

import os
from pathlib import Path

import zarr

from .annotation_store import (
    ANNOTATIONS,
    new_annotations,
    open_annotations,
    annotation_layout,
    sync_annotations,
)
from .collection import Collection, default_image_name
from .paths import os_error_reason
from .plan import Plan
from .plan_file import (
    PLAN_FILE,
    ProjectError,
    check_plan,
    folder_is_empty,
    image_name,
    load_collection,
    load_plan,
    project_folder,
    write_plan_file,
)
from .store_layout import migrate_project, move_root_arrays, node_type, root_arrays


def create_project(folder, plan: Plan | Collection, *, overwrite: bool = False) -> Path:
    """Create a project folder (parents too) with ``plan.json`` and empty layers.

    Parameters
    ----------
    folder : str or Path
        A new or empty folder.
    plan : Plan or Collection
        The plan of its one image (named after the image file), or its images.
    overwrite : bool
        Replace the plan and erase the annotations of an existing project, or
        add a project to a non-empty folder (other files there are kept).

    Returns
    -------
    Path
        The project folder.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8))))
    ...     create_project(tmp, Plan(ImageRef((4, 8, 8))))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.plan_file.ProjectError: ... is already a napari-patchwise project; ...
    """
    collection = plan if isinstance(plan, Collection) else None
    if collection is None:
        check_plan(plan)
        collection = Collection.from_plan(plan)
    folder = Path(folder)
    try:
        if folder.exists() and not folder.is_dir():
            raise ProjectError(f"{folder} is a file; choose a new or empty folder for the project.")
        if folder.is_dir() and not folder_is_empty(folder) and not overwrite:
            if (folder / PLAN_FILE).exists():
                raise ProjectError(
                    f"{folder} is already a napari-patchwise project; open it instead (or pass "
                    "overwrite=True to replace its plan and erase its annotations)."
                )
            raise ProjectError(
                f"{folder} is not empty and holds no napari-patchwise project; choose a new or "
                "empty folder (or pass overwrite=True to add a project to it; its files are kept)."
            )
        folder.mkdir(parents=True, exist_ok=True)
        new_annotations(folder, collection)
        write_plan_file(folder, collection)
    except OSError as e:
        raise ProjectError(f"cannot write the project in {folder}: {os_error_reason(e)}.") from e
    return folder


def save_plan(folder, plan: Plan, image: str | None = None) -> Path:
    """Save one image's ``plan`` atomically into an existing project; returns the ``plan.json`` path.

    The previous good ``plan.json`` is kept as ``plan.json.bak``. Layers for new
    classes are added; painted layers are never deleted or rewritten. Layers
    are recreated at a new magnification only while none holds painted labels.
    A save that changes only boxes (most saves: every autosave) writes ``plan.json``
    alone; one that changes the layers also removes the temporary files a killed
    writer left in ``annotations.zarr``.
    A project of plan version 1 is migrated first (:mod:`.store_layout`).

    Parameters
    ----------
    folder : path
        The project folder.
    plan : Plan
        The image's plan.
    image : str or None
        The image's name; ``None`` means the project's only image.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ClassSpec, ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 8, 8)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, plan)
    ...     plan = plan.replace(classes=(*plan.classes, ClassSpec("mito", "semantic")))
    ...     path = save_plan(folder, plan)
    ...     print(path.name, open_annotations(folder, mode="r")["mito"].dtype)
    plan.json uint8
    """
    check_plan(plan)
    folder = project_folder(folder)
    if not (folder / PLAN_FILE).exists() and not os.path.lexists(folder / ANNOTATIONS):
        raise ProjectError(
            f"not a napari-patchwise project: no {PLAN_FILE} in {folder}; "
            "create the project with create_project(folder, plan) first."
        )
    try:
        collection, read = _saved_collection(folder, plan, image)
        name = image_name(collection, image, folder)
        before = collection.plan(name) if read and name in collection.names else None  # the plan as saved
        try:
            collection = collection.replace(name, plan)
        except ValueError as e:
            raise ProjectError(f"cannot save the plan of image {name!r} in {folder}: {e}") from None
        if before is None or annotation_layout(before) != annotation_layout(plan) \
                or not os.path.lexists(folder / ANNOTATIONS / name):
            sync_annotations(folder, plan, name)  # boxes alone (most saves) change no array
        return write_plan_file(folder, collection)
    except OSError as e:
        raise ProjectError(
            f"cannot save the plan in {folder}: {os_error_reason(e)}; the previous {PLAN_FILE} is unchanged."
        ) from e


def _saved_collection(folder: Path, plan: Plan, image: str | None) -> tuple[Collection, bool]:
    """The project's collection as saved (migrated first) and True; when ``plan.json`` is missing or
    unreadable, a collection of ``plan`` named after the one image group of the store and False."""
    try:
        migrate_project(folder)
        return load_collection(folder), True
    except ProjectError:
        try:
            load_collection(folder)
        except ProjectError:
            pass  # no readable plan.json: the plan given replaces it
        else:
            raise
    root = folder / ANNOTATIONS
    groups = [p.name for p in root.iterdir() if not p.name.startswith(".") and node_type(p) == "group"] \
        if root.is_dir() else []
    name = image or (groups[0] if len(groups) == 1 else default_image_name(plan.image))
    if root_arrays(root):  # an old store whose plan.json is gone: its layers move into the image group
        move_root_arrays(root, name)
    return Collection.from_plan(plan, name), False


def open_project(folder, image: str | None = None) -> tuple[Plan, zarr.Group]:
    """Load one image's plan and open its annotations for painting (``mode='r+'``).

    A project of plan version 1 is migrated first (:mod:`.store_layout`).
    """
    folder = project_folder(folder)
    migrate_project(folder)
    plan = load_plan(folder, image)
    return plan, open_annotations(folder, plan, mode="r+", image=image)


def resolve_image_path(folder, plan: Plan) -> Path | None:
    """Where the plan's image is: ``plan.image.path``, relative to ``folder`` if relative.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> resolve_image_path("proj", Plan(ImageRef((4, 8, 8), path="raw.tif"))).as_posix()
    'proj/raw.tif'
    """
    if not plan.image.path:
        return None
    if not isinstance(plan.image.path, str):
        raise ProjectError(f"image path {plan.image.path!r} is not text; fix it in {PLAN_FILE}.")
    path = Path(plan.image.path).expanduser()
    return path if path.is_absolute() else Path(folder) / path
