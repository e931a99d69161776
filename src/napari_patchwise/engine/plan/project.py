"""Project folders: ``plan.json`` (:mod:`.plan_file`) next to ``annotations.zarr`` (:mod:`.annotation_store`).

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
    sync_annotations,
)
from .paths import os_error_reason
from .plan import Plan
from .plan_file import (
    PLAN_FILE,
    ProjectError,
    check_plan,
    folder_is_empty,
    load_plan,
    project_folder,
    write_plan_file,
)


def create_project(folder, plan: Plan, *, overwrite: bool = False) -> Path:
    """Create a project folder (parents too) with ``plan.json`` and empty layers.

    Parameters
    ----------
    folder : str or Path
        A new or empty folder.
    plan : Plan
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
    check_plan(plan)
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
        new_annotations(folder, plan)
        write_plan_file(folder, plan)
    except OSError as e:
        raise ProjectError(f"cannot write the project in {folder}: {os_error_reason(e)}.") from e
    return folder


def save_plan(folder, plan: Plan) -> Path:
    """Save ``plan`` atomically into an existing project; returns the ``plan.json`` path.

    The previous good ``plan.json`` is kept as ``plan.json.bak``. Layers for new
    classes are added; painted layers are never deleted or rewritten. Layers
    are recreated at a new magnification only while none holds painted labels.
    Temporary files a killed writer left in ``annotations.zarr`` are removed.

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
        sync_annotations(folder, plan)
        return write_plan_file(folder, plan)
    except OSError as e:
        raise ProjectError(
            f"cannot save the plan in {folder}: {os_error_reason(e)}; the previous {PLAN_FILE} is unchanged."
        ) from e


def open_project(folder) -> tuple[Plan, zarr.Group]:
    """Load the plan and open its annotations for painting (``mode='r+'``)."""
    plan = load_plan(folder)
    return plan, open_annotations(folder, plan, mode="r+")


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
