"""Project folders: ``plan.json`` next to ``annotations.zarr``.

``plan.json`` is the indented :meth:`Plan.to_dict` output; the previous good
version is kept as ``plan.json.bak``. ``annotations.zarr`` is a zarr v3 group
with one array per class (``uint32`` for instance classes, ``uint8`` for
semantic ones) plus ``background`` and ``ignore`` (``uint8``), all of shape
:attr:`Plan.annotation_shape`. Every write goes to a temporary file first and
is renamed into place, so an interrupted save leaves the last save intact.
Whoever changes a project holds its lock, ``.patchwise.lock`` (:mod:`.lock`).

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

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import zarr

from .atomic import _json_bytes, _write_bytes_atomic, remove_stale_temps, write_json_atomic  # noqa: F401
from .paths import os_error_reason
from .plan import PLAN_FORMAT, Plan

PLAN_FILE = "plan.json"
BACKUP_FILE = "plan.json.bak"
ANNOTATIONS = "annotations.zarr"
#: Held by whoever changes the project (see :mod:`.lock`); not part of its content.
LOCK_FILE = ".patchwise.lock"
ATTRS_KEY = "napari-patchwise"
MAX_CHUNKS = (32, 128, 128)
LAYER_DTYPES = {"instance": "uint32", "semantic": "uint8", "background": "uint8", "ignore": "uint8"}


class ProjectError(ValueError):
    """A problem with a project folder; the message names the problem and the fix."""


def _folder(folder) -> Path:
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


def _parse_plan(path: Path) -> Plan:
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
        return Plan.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ProjectError(f"cannot use the plan in {path}: {e}{hint}") from None


def load_plan(folder) -> Plan:
    """Read ``plan.json`` from a project folder; never writes anything.

    Raises
    ------
    ProjectError
        If the folder is missing or not a project, or ``plan.json`` is empty,
        not JSON, not a plan, from a newer version, or describes an invalid plan.

    Examples
    --------
    >>> load_plan("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.project.ProjectError: project folder ... does not exist; check ...
    """
    folder = _folder(folder)
    path = folder / PLAN_FILE
    if not path.is_file():
        raise ProjectError(
            f"not a napari-patchwise project: no {PLAN_FILE} in {folder}; choose the folder "
            f"that holds {PLAN_FILE}, or create a project (Box planner: Save project…)."
            + _backup_hint(folder)
        )
    return _parse_plan(path)


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


def _layers(plan: Plan) -> list[tuple[str, str]]:
    return [(c.name, c.kind) for c in plan.classes] + [(n, n) for n in ("background", "ignore")]


def _meta(plan: Plan) -> dict:
    classes = [{"name": c.name, "kind": c.kind} for c in plan.classes]
    return {"magnification": list(plan.magnification), "classes": classes}


def _create_layer(group, name: str, kind: str, shape, overwrite: bool = False):
    chunks = tuple(min(s, c) for s, c in zip(shape, MAX_CHUNKS))
    return group.create_array(
        name,
        shape=shape,
        chunks=chunks,
        dtype=LAYER_DTYPES[kind],
        fill_value=0,
        attributes={"kind": kind},
        overwrite=overwrite,
    )


def _open_group(path: Path, mode: str) -> zarr.Group:
    try:
        return zarr.open_group(path, mode=mode, use_consolidated=False)
    except Exception as e:  # missing or damaged metadata
        raise ProjectError(
            f"{path} is not a readable zarr group ({type(e).__name__}: {e}); restore it from a "
            f"copy, or move it away and save the plan again to start with empty layers."
        ) from None


def _new_annotations(folder: Path, plan: Plan) -> None:
    """Build fresh empty layers next to ``annotations.zarr`` and swap them in."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{ANNOTATIONS}.", suffix=".tmp", dir=folder))
    trash = None
    try:
        group = zarr.open_group(tmp, mode="w", zarr_format=3, attributes={ATTRS_KEY: _meta(plan)})
        for name, kind in _layers(plan):
            _create_layer(group, name, kind, plan.annotation_shape)
        os.chmod(tmp, folder.stat().st_mode & 0o777)  # mkdtemp makes 0700 folders
        target = folder / ANNOTATIONS
        if os.path.lexists(target):
            trash = Path(tempfile.mkdtemp(prefix=f".{ANNOTATIONS}.old.", dir=folder))
            os.replace(target, trash / ANNOTATIONS)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


#: zarr's temporary file for a key being written (``<key>.<uuid4 hex>.partial``)
_ZARR_TEMP = re.compile(r".+\.[0-9a-f]{32}\.partial\Z")


def _remove_store_leftovers(path: Path) -> int:
    """Remove the temporary files a killed writer left in ``annotations.zarr``; how many.

    zarr writes every chunk and metadata file as ``<key>.<uuid>.partial`` and
    renames it into place; a kill in between leaves that file behind. Only
    files named exactly so are removed (the caller is the project's one writer).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("0." + "ab" * 16 + ".partial", "zarr.json", "0.partial"):
    ...         _ = Path(tmp, name).write_text("x")
    ...     print(_remove_store_leftovers(Path(tmp)), sorted(p.name for p in Path(tmp).iterdir()))
    1 ['0.partial', 'zarr.json']
    """
    n = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            if _ZARR_TEMP.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
    return n


def _sync_annotations(folder: Path, plan: Plan) -> None:
    """Add missing layers; recreate empty layers whose shape or kind changed."""
    path = folder / ANNOTATIONS
    if not os.path.lexists(path):
        return _new_annotations(folder, plan)
    _remove_store_leftovers(path)
    group = _open_group(path, "r+")
    shape = plan.annotation_shape
    arrays = dict(group.arrays())
    old_meta = group.attrs.asdict().get(ATTRS_KEY) or {}
    old_mag = old_meta.get("magnification") if isinstance(old_meta, dict) else None
    mag_changed = old_mag is not None and old_mag != list(plan.magnification)
    # first decide everything (and refuse) before touching anything
    if mag_changed or any(a.shape != shape for a in arrays.values()):
        painted = sorted(n for n, a in arrays.items() if a.nchunks_initialized)
        if painted:
            old_shape = next((a.shape for n, a in arrays.items() if n in painted), None)
            raise ProjectError(
                f"the plan's magnification {plan.magnification} (layer shape {shape}) differs "
                f"from the annotations in {path} (magnification {old_mag}, shape {old_shape}), "
                f"and layers {painted} hold painted labels that would be orphaned. Keep the "
                "magnification they were painted at, or export them and start a new project."
            )
        redo = {n: a.attrs.get("kind") for n, a in arrays.items()}
    else:
        redo = {}
    for name, kind in _layers(plan):
        if name in group and name not in arrays:
            raise ProjectError(f"{path}/{name} is not an array; move it away and save again.")
        a = arrays.get(name)
        if a is None or name in redo:
            redo[name] = kind
        elif a.dtype != LAYER_DTYPES[kind] or a.attrs.get("kind", kind) != kind:
            if a.nchunks_initialized:
                raise ProjectError(
                    f"layer {name!r} holds painted {a.attrs.get('kind', a.dtype)} labels but "
                    f"the plan makes it {kind!r}; keep its kind, or give the class a new name."
                )
            redo[name] = kind
    for name, kind in redo.items():
        _create_layer(group, name, kind if kind in LAYER_DTYPES else "semantic", shape, True)
    if old_meta != _meta(plan):
        group.attrs[ATTRS_KEY] = _meta(plan)


def _write_plan(folder: Path, plan: Plan) -> Path:
    target, data = folder / PLAN_FILE, _json_bytes(plan.to_dict())
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


def _check_plan(plan) -> None:
    if not isinstance(plan, Plan):
        raise TypeError(f"expected a Plan; got {type(plan).__name__}.")


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
    napari_patchwise.engine.plan.project.ProjectError: ... is already a napari-patchwise project; ...
    """
    _check_plan(plan)
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
        _new_annotations(folder, plan)
        _write_plan(folder, plan)
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
    _check_plan(plan)
    folder = _folder(folder)
    if not (folder / PLAN_FILE).exists() and not os.path.lexists(folder / ANNOTATIONS):
        raise ProjectError(
            f"not a napari-patchwise project: no {PLAN_FILE} in {folder}; "
            "create the project with create_project(folder, plan) first."
        )
    try:
        _sync_annotations(folder, plan)
        return _write_plan(folder, plan)
    except OSError as e:
        raise ProjectError(
            f"cannot save the plan in {folder}: {os_error_reason(e)}; the previous {PLAN_FILE} is unchanged."
        ) from e


def open_annotations(folder, plan: Plan | None = None, mode: str = "r+") -> zarr.Group:
    """Open ``annotations.zarr`` (``mode`` ``'r'`` or ``'r+'``) and check it matches the plan.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8)), magnification=2))
    ...     open_annotations(folder, mode="r")["ignore"].shape
    (2, 4, 4)
    """
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+'; got {mode!r} (save_plan creates layers).")
    folder = _folder(folder)
    plan = load_plan(folder) if plan is None else plan
    path = folder / ANNOTATIONS
    if not path.is_dir():
        raise ProjectError(
            f"no {ANNOTATIONS} in {folder}; restore it from a copy, or save the plan "
            "(save_plan) to start with empty layers."
        )
    group = _open_group(path, mode)
    shape = plan.annotation_shape
    arrays = dict(group.arrays())
    problems = []
    for name, kind in _layers(plan):
        a = arrays.get(name)
        if a is None:
            problems.append(f"layer {name!r} is missing")
        elif a.shape != shape or a.dtype != LAYER_DTYPES[kind]:
            want = f"{LAYER_DTYPES[kind]} {shape}"
            problems.append(f"layer {name!r} is {a.dtype} {a.shape}, not {want}")
    if problems:
        raise ProjectError(
            f"{path} does not match the plan (magnification {plan.magnification}): "
            f"{'; '.join(problems)}. save_plan(folder, plan) adds missing layers and recreates "
            "empty ones; painted layers need the magnification and kind they were painted with."
        )
    return group


def annotation_array(folder_or_group, name: str, *, mode: str = "r+") -> zarr.Array:
    """One annotation layer, from a project folder or an open group.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8))))
    ...     annotation_array(folder, "nuclei").dtype.name
    'uint32'
    """
    group = folder_or_group
    if not isinstance(group, zarr.Group):
        group = open_annotations(folder_or_group, mode=mode)
    node = group.get(name)
    if not isinstance(node, zarr.Array):
        raise ProjectError(
            f"no annotation layer {name!r}; the layers are {sorted(group.array_keys())}. "
            "Add the class to the plan and save it."
        )
    return node


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
