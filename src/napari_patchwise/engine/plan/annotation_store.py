"""A project's ``annotations.zarr``: created, kept in step with the plan, opened.

``annotations.zarr`` is a zarr v3 group with one array per class (``uint32``
for instance classes, ``uint8`` for semantic ones) plus ``background`` and
``ignore`` (``uint8``), all of shape :attr:`Plan.annotation_shape`.
:func:`open_annotations` checks the arrays match the plan; saving a plan adds
missing layers and never rewrites painted ones.
:func:`annotation_layers` gathers the class, ``background`` and ``ignore``
arrays of an open group; :func:`hidden_layer` creates the ``edits`` and
``weak`` arrays (see :mod:`.annotation`) the first time they are needed, so
projects saved before they existed keep working.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8))))
...     group = open_annotations(folder)
...     print(sorted(annotation_layers(group, Plan(ImageRef((4, 8, 8))))))
...     print(hidden_layer(group, "edits").dtype, "edits" in group)
['background', 'ignore', 'nuclei']
uint8 True
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import zarr

from .annotation import HIDDEN_LAYERS
from .plan import Plan
from .plan_file import ProjectError, load_plan, project_folder

ANNOTATIONS = "annotations.zarr"
ATTRS_KEY = "napari-patchwise"
MAX_CHUNKS = (32, 128, 128)
LAYER_DTYPES = {"instance": "uint32", "semantic": "uint8", "background": "uint8", "ignore": "uint8"}


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


def new_annotations(folder: Path, plan: Plan) -> None:
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


def sync_annotations(folder: Path, plan: Plan) -> None:
    """Add missing layers; recreate empty layers whose shape or kind changed."""
    path = folder / ANNOTATIONS
    if not os.path.lexists(path):
        return new_annotations(folder, plan)
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


def open_annotations(folder, plan: Plan | None = None, mode: str = "r+") -> zarr.Group:
    """Open ``annotations.zarr`` (``mode`` ``'r'`` or ``'r+'``) and check it matches the plan.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8)), magnification=2))
    ...     open_annotations(folder, mode="r")["ignore"].shape
    (2, 4, 4)
    """
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+'; got {mode!r} (save_plan creates layers).")
    folder = project_folder(folder)
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
    >>> from napari_patchwise.engine.plan.project import create_project
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


def annotation_layers(group: zarr.Group, plan: Plan) -> dict[str, zarr.Array]:
    """``{class name: array, 'background': array, 'ignore': array}`` of a project."""
    names = [c.name for c in plan.classes] + ["background", "ignore"]
    out = {}
    for name in names:
        node = group.get(name)
        if not isinstance(node, zarr.Array):
            raise ProjectError(
                f"annotations have no layer {name!r}; save the plan (save_plan) to add it."
            )
        out[name] = node
    return out


def hidden_layer(group: zarr.Group, name: str) -> zarr.Array:
    """The ``edits`` or ``weak`` array of a project, created empty when missing."""
    if name not in HIDDEN_LAYERS:
        raise ValueError(f"hidden layers are {HIDDEN_LAYERS}; got {name!r}.")
    node = group.get(name)
    if isinstance(node, zarr.Array):
        return node
    shape = _layer_shape(group)
    chunks = tuple(min(s, c) for s, c in zip(shape, MAX_CHUNKS))
    return group.create_array(
        name, shape=shape, chunks=chunks, dtype="uint8", fill_value=0,
        attributes={"kind": name}, overwrite=node is not None,
    )


def _layer_shape(group: zarr.Group) -> tuple[int, ...]:
    for name in ("background", "ignore"):
        node = group.get(name)
        if isinstance(node, zarr.Array):
            return tuple(node.shape)
    raise ProjectError("annotations have no background layer; save the plan to recreate the layers.")

