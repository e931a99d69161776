"""A project's ``annotations.zarr``: created, kept in step with the plan, opened.

``annotations.zarr`` is a zarr v3 group holding one group per image
(``annotations.zarr/<image name>``, see :mod:`.store_layout`), each with one
array per class (``uint32`` for instance classes, ``uint8`` for semantic ones)
plus ``background`` and ``ignore`` (``uint8``), all of shape
:attr:`Plan.annotation_shape` of that image.
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
from .collection import Collection, default_image_name
from .plan import Plan
from .stroke_buffer import forget_planes
from .plan_file import ProjectError, image_name, load_collection, project_folder
from .store_layout import (ANNOTATIONS, ATTRS_KEY, legacy_group_path, migrate_project, needs_migration,
                           node_type)
#: Chunk shape of new annotation arrays (smaller along an axis the array is shorter than). napari
#: writes every stroke straight into its chunks (each read, changed, compressed and written again):
#: 16×64×64 (256 KiB of uint32) makes that write about three times cheaper than 32×128×128 did,
#: while reading a box still touches few chunks. Arrays keep the chunks they were created with,
#: so projects saved with the older layout open and paint as before.
MAX_CHUNKS = (16, 64, 64)
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


def _fill_group(group, plan: Plan) -> None:
    for name, kind in _layers(plan):
        _create_layer(group, name, kind, plan.annotation_shape)


def new_annotations(folder: Path, collection: Collection | Plan) -> None:
    """Build fresh empty layers (a group per image) next to ``annotations.zarr`` and swap them in."""
    if isinstance(collection, Plan):
        collection = Collection.from_plan(collection)
    tmp = Path(tempfile.mkdtemp(prefix=f".{ANNOTATIONS}.", suffix=".tmp", dir=folder))
    trash = None
    try:
        root = zarr.open_group(tmp, mode="w", zarr_format=3)
        for entry in collection.images:
            _fill_group(root.create_group(entry.name, attributes={ATTRS_KEY: _meta(entry.plan)}), entry.plan)
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


def new_image_group(root: Path, name: str, plan: Plan) -> None:
    """Build one image's empty layers in a hidden folder of the store and rename it ``name``."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root))
    try:
        _fill_group(zarr.open_group(tmp, mode="w", zarr_format=3,
                                    attributes={ATTRS_KEY: _meta(plan)}), plan)
        os.chmod(tmp, root.stat().st_mode & 0o777)
        os.replace(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def image_groups(root: Path) -> list[str]:
    """The image groups of a store, by name (hidden folders left out)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and node_type(p) == "group")


def _only_image(folder: Path, plan: Plan) -> str:
    """The name of a project's only image, from its store (``plan.json`` is not read again)."""
    if needs_migration(folder):
        return default_image_name(plan.image)
    groups = image_groups(folder / ANNOTATIONS)
    if len(groups) > 1:
        raise ProjectError(f"{folder} holds {len(groups)} images ({', '.join(groups)}); say which one (image=NAME).")
    return groups[0] if groups else default_image_name(plan.image)


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


def annotation_layout(plan: Plan) -> tuple:
    """What :func:`sync_annotations` reads of a plan: two plans with the same layout need the same arrays.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 8, 8)))
    >>> annotation_layout(plan) == annotation_layout(plan.add_boxes([((0, 0, 0), (2, 4, 4))]))
    True
    """
    return tuple(plan.annotation_shape), _meta(plan), tuple(_layers(plan))


def sync_annotations(folder: Path, plan: Plan, name: str) -> None:
    """Add image ``name``'s missing layers (its group too); recreate empty layers whose shape or kind changed."""
    root = folder / ANNOTATIONS
    if not os.path.lexists(root):
        return new_annotations(folder, Collection.from_plan(plan, name))
    _remove_store_leftovers(root)
    path = root / name
    if not os.path.lexists(path):
        return new_image_group(root, name, plan)
    group = _open_group(path, "r+")
    shape = plan.annotation_shape
    arrays = dict(group.arrays())
    old_meta = group.attrs.asdict().get(ATTRS_KEY) or {}
    old_mag = old_meta.get("magnification") if isinstance(old_meta, dict) else None
    mag_changed = old_mag is not None and old_mag != list(plan.magnification)
    # first decide everything (and refuse) before touching anything
    corrections = correction_members(group)
    if mag_changed or any(a.shape != shape for a in (*arrays.values(), *corrections.values())):
        painted = sorted(n for n, a in (*arrays.items(), *corrections.items()) if a.nchunks_initialized)
        if painted:
            old_shape = next((a.shape for n, a in arrays.items() if n in painted), None)
            raise ProjectError(
                f"the plan's magnification {plan.magnification} (layer shape {shape}) differs "
                f"from the annotations in {path} (magnification {old_mag}, shape {old_shape}), "
                f"and layers {painted} hold painted labels that would be orphaned. Keep the "
                "magnification they were painted at, or export them and start a new project."
            )
        redo = {n: a.attrs.get("kind") for n, a in arrays.items()}
        for path in corrections:  # empty masks of the old shape: made again when next needed
            del group[path]
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


def correction_members(group: zarr.Group) -> dict[str, zarr.Array]:
    """The correction masks of an image group (``corrections/<class>/<kind>``)."""
    node = group.get("corrections")
    if not isinstance(node, zarr.Group):
        return {}
    return {f"corrections/{path}": a for path, a in node.members(max_depth=None) if isinstance(a, zarr.Array)}


def open_annotations(folder, plan: Plan | None = None, mode: str = "r+", *,
                     image: str | None = None, keep_planes: bool = False) -> zarr.Group:
    """Open one image's layers in ``annotations.zarr`` (``mode`` ``'r'`` or ``'r+'``) and check they match the plan.

    Parameters
    ----------
    folder : path
        The project folder.
    plan : Plan or None
        The image's plan (default: as saved in ``plan.json``).
    mode : {'r', 'r+'}
        ``'r+'`` (for painting) first migrates a project of plan version 1
        (:mod:`.store_layout`); ``'r'`` never writes.
    image : str or None
        The image's name; ``None`` means the project's only image.
    keep_planes : bool
        With ``'r+'``, every live :class:`~.stroke_buffer.StrokeBuffer` forgets the planes
        it keeps (the caller may write the layers behind them), unless ``keep_planes``:
        the caller writes no layer a viewer shows (e.g. only the ``edits`` array). A
        migration of the layout forgets them anyway.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8)), magnification=2))
    ...     group = open_annotations(folder, mode="r")
    ...     print(group["ignore"].shape, [p.name for p in (folder / "annotations.zarr").iterdir()
    ...                                   if p.is_dir()])
    (2, 4, 4) ['image']
    """
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+'; got {mode!r} (save_plan creates layers).")
    folder = project_folder(folder)
    migrated = mode == "r+" and migrate_project(folder)
    if mode != "r" and (migrated or not keep_planes):
        forget_planes()  # a writer may change planes the layers' buffers keep
    root = folder / ANNOTATIONS
    if plan is None:  # plan.json is read once (a reader sees one save of it)
        collection = load_collection(folder)
        name = image_name(collection, image, folder)
        plan = collection.plan(name)
    else:
        name = image if image is not None else _only_image(folder, plan)
    if not root.is_dir():
        raise ProjectError(
            f"no {ANNOTATIONS} in {folder}; restore it from a copy, or save the plan "
            "(save_plan) to start with empty layers."
        )
    _open_group(root, "r")  # damaged metadata of the store itself is named too
    path = legacy_group_path(folder, name) if needs_migration(folder) else root / name
    if not path.is_dir():
        raise ProjectError(
            f"no layers for image {name!r} in {root}; restore them from a copy, or save the plan "
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
    """``{class name: array, 'background': array, 'ignore': array}`` of a project, and the correction
    masks of its classes under ``'corrections/<class>/<kind>'`` (:func:`correction_layers`)."""
    names = [c.name for c in plan.classes] + ["background", "ignore"]
    out = {}
    for name in names:
        node = group.get(name)
        if not isinstance(node, zarr.Array):
            raise ProjectError(
                f"annotations have no layer {name!r}; save the plan (save_plan) to add it."
            )
        out[name] = node
    out.update(correction_layers(group, plan))
    return out


def correction_layers(group: zarr.Group, plan: Plan) -> dict[str, zarr.Array]:
    """``{'corrections/<class>/<kind>': array}`` of the classes that have correction masks
    (``compose`` applies them)."""
    from ..corrections.store import correction_arrays, correction_path

    out = {}
    for c in plan.classes:
        if isinstance(group.get(c.name), zarr.Array):
            for kind, array in correction_arrays(group, c.name, create=False).items():
                out[correction_path(c.name, kind)] = array
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

