"""``plan.json`` in a project folder: read, recognised, written with a backup.

The plan is the indented :meth:`.Collection.to_dict` output (the project's
images and their boxes); a version 1 file (one image) reads as a collection
of one image (see :mod:`.collection`). Reading never writes;
writing goes through a temporary file renamed into place, and the previous
good version is kept as ``plan.json.bak``. :class:`ProjectError` is the one
error of a project folder; its message names the problem and the fix.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = write_plan_file(Path(tmp), Collection.from_plan(Plan(ImageRef((4, 8, 8)))))
...     print(is_project(tmp), load_plan(tmp).image.shape, load_collection(tmp).names)
True (4, 8, 8) ('image',)
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from .atomic import _json_bytes, _write_bytes_atomic, remove_stale_temps
from .collection import Collection
from .plan import PLAN_FORMAT, Plan

PLAN_FILE = "plan.json"
BACKUP_FILE = "plan.json.bak"
#: Held by whoever changes the project (see :mod:`.lock`); not part of its content.
LOCK_FILE = ".patchwise.lock"


class ProjectError(ValueError):
    """A problem with a project folder; the message names the problem and the fix."""


def project_folder(folder) -> Path:
    """``folder`` as a ``Path``, refused (:class:`ProjectError`) unless it is an existing folder."""
    folder = Path(folder)
    if not folder.exists():
        raise ProjectError(
            f"project folder {folder} does not exist; check the path, or create a project "
            "there (Box planner: Save project…; or the patchwise command)."
        )
    if not folder.is_dir():
        hint = "its parent" if folder.name == PLAN_FILE else f"the one holding {PLAN_FILE}"
        raise ProjectError(f"{folder} is not a folder; choose {hint} folder.")
    return folder


def folder_is_empty(folder) -> bool:
    """Whether ``folder`` holds nothing but a project lock file (a missing folder is empty).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, LOCK_FILE).write_text("")
    ...     print(folder_is_empty(tmp), folder_is_empty(f"{tmp}/new"))
    True True
    """
    folder = Path(folder)
    if not folder.exists():
        return True
    return folder.is_dir() and all(p.name == LOCK_FILE for p in folder.iterdir())


def _backup_hint(folder: Path) -> str:
    if (folder / BACKUP_FILE).is_file():
        return f" The previous save is in {BACKUP_FILE}; copy it over {PLAN_FILE} to go back."
    return ""


def _parse_plan(path: Path) -> Collection:
    hint = _backup_hint(path.parent)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ProjectError(f"cannot read {path} ({e}); check that you may read it.") from None
    if not raw.strip():
        raise ProjectError(f"{path} is empty (a save was probably interrupted).{hint}")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ProjectError(f"{path} is not UTF-8 text; it is not a plan file.{hint}") from None
    except json.JSONDecodeError as e:
        raise ProjectError(
            f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); "
            f"fix it in a text editor.{hint}"
        ) from None
    except RecursionError:
        raise ProjectError(f"{path} is nested too deeply to be a plan.{hint}") from None
    try:
        return Collection.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ProjectError(f"cannot use the plan in {path}: {e}{hint}") from None


def load_collection(folder) -> Collection:
    """Read ``plan.json`` from a project folder as its collection of images; never writes anything.

    Raises
    ------
    ProjectError
        If the folder is missing or not a project, or ``plan.json`` is empty,
        not JSON, not a plan, from a newer version, or describes an invalid plan.

    Examples
    --------
    >>> load_collection("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.plan_file.ProjectError: project folder ... does not exist; check ...
    """
    folder = project_folder(folder)
    path = folder / PLAN_FILE
    if not path.is_file():
        raise ProjectError(
            f"not a napari-patchwise project: no {PLAN_FILE} in {folder}; choose the folder "
            f"that holds {PLAN_FILE}, or create a project (Box planner: Save project…)."
            + _backup_hint(folder)
        )
    return _parse_plan(path)


def image_name(collection: Collection, image: str | None, folder="the project") -> str:
    """The name of the image meant: ``image``, or the only image when it is ``None``.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> coll = Collection.from_plan(Plan(ImageRef((4, 8, 8)))).add_image(Plan(ImageRef((4, 8, 8))), "b")
    >>> image_name(coll, "b")
    'b'
    >>> image_name(coll, None, "proj")
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.plan_file.ProjectError: proj holds 2 images (image, b); say which one (image=NAME).
    """
    if image is None:
        if len(collection.images) > 1:
            raise ProjectError(
                f"{folder} holds {len(collection.images)} images ({', '.join(collection.names)}); "
                "say which one (image=NAME)."
            )
        return collection.names[0]
    if image not in collection.names:
        raise ProjectError(
            f"{folder} has no image named {image!r}; its images are {', '.join(collection.names)}."
        )
    return image


def load_plan(folder, image: str | None = None) -> Plan:
    """Read the plan of one image from ``plan.json``; never writes anything.

    Parameters
    ----------
    folder : str or Path
        The project folder.
    image : str or None
        The image's name; ``None`` means the project's only image (a project
        with several raises a :class:`ProjectError` naming them).

    Raises
    ------
    ProjectError
        As :func:`load_collection`, and for an image the project does not hold.

    Examples
    --------
    >>> load_plan("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.plan_file.ProjectError: project folder ... does not exist; check ...
    """
    collection = load_collection(folder)
    return collection.plan(image_name(collection, image, folder))


def plan_file_version(folder) -> int | None:
    """The ``version`` written in ``plan.json`` (``None`` when it cannot be read); never raises."""
    try:
        data = json.loads((Path(folder) / PLAN_FILE).read_bytes().decode("utf-8-sig"))
        version = data.get("version") if isinstance(data, dict) else None
        return version if isinstance(version, int) and not isinstance(version, bool) else None
    except Exception:
        return None


def is_project(path) -> bool:
    """Whether ``path`` is a folder holding a napari-patchwise ``plan.json``; never raises.

    Examples
    --------
    >>> is_project("/no/such/folder")
    False
    """
    try:
        plan_json = Path(path) / PLAN_FILE
        if not plan_json.is_file() or plan_json.stat().st_size > 2**26:
            return False
        data = json.loads(plan_json.read_bytes().decode("utf-8-sig"))
        return isinstance(data, dict) and data.get("format") == PLAN_FORMAT
    except Exception:
        return False


def write_plan_file(folder: Path, collection: Collection) -> Path:
    """Write ``plan.json`` atomically (unchanged bytes are not rewritten); keep the old good one as the backup."""
    if isinstance(collection, Plan):
        collection = Collection.from_plan(collection)
    target, data = folder / PLAN_FILE, _json_bytes(collection.to_dict())
    for name in (PLAN_FILE, BACKUP_FILE):  # left by a killed save
        remove_stale_temps(folder / name)
    if target.is_file():
        old = target.read_bytes()
        if old == data:
            return target
        with contextlib.suppress(ProjectError):  # only a good plan becomes the backup
            _parse_plan(target)
            _write_bytes_atomic(folder / BACKUP_FILE, old)
    return _write_bytes_atomic(target, data)


def check_plan(plan) -> None:
    """Refuse anything but a :class:`Plan` (a ``TypeError``)."""
    if not isinstance(plan, Plan):
        raise TypeError(f"expected a Plan; got {type(plan).__name__}.")
