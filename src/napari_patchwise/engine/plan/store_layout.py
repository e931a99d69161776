"""Where each image's layers live in ``annotations.zarr``, and moving an old project there.

From plan version 2 on, ``annotations.zarr`` holds one group per image,
``annotations.zarr/<image name>/<layer>``. A project written before (plan
version 1, its layers at the root of the store) is migrated the first time it
is written, in steps a kill may stop at any point:

1. ``plan.json`` is copied to ``plan.json.bak``;
2. the root's arrays are moved (folder renames) into a hidden group
   ``annotations.zarr/.<name>.migrating``, which is then renamed ``<name>``;
3. ``plan.json`` is switched to version 2 last.

Until step 3 the plan still says version 1, so the next writer finds the
migration unfinished and completes it from where it stopped; no array is ever
copied or rewritten, so no voxel can be lost. Reading never migrates.

Examples
--------
>>> import tempfile, zarr
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.atomic import write_json_atomic
>>> with tempfile.TemporaryDirectory() as tmp:
...     _ = write_json_atomic(f"{tmp}/plan.json", Plan(ImageRef((2, 4, 4), path="a.tif")).to_dict())
...     old = zarr.open_group(f"{tmp}/annotations.zarr", mode="w")
...     old.create_array("nuclei", shape=(2, 4, 4), dtype="uint32", fill_value=0)[0, 0, 0] = 7
...     print(migrate_project(tmp), migrate_project(tmp))
...     print(int(zarr.open_group(f"{tmp}/annotations.zarr/a", mode="r")["nuclei"][0, 0, 0]))
True False
7
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .atomic import _json_bytes, _write_bytes_atomic
from .collection import Collection
from .lock import ProjectLock, held_here
from .plan_file import BACKUP_FILE, PLAN_FILE, ProjectError, load_collection, plan_file_version

ANNOTATIONS = "annotations.zarr"
ATTRS_KEY = "napari-patchwise"
#: ``plan.json`` versions whose layers sit at the root of ``annotations.zarr``.
ROOT_LAYOUT_VERSIONS = (1,)


def staging_name(name: str) -> str:
    """The hidden group an image's layers gather in while an old project migrates."""
    return f".{name}.migrating"


def node_type(path: Path) -> str | None:
    """``"array"`` or ``"group"`` for a zarr v3 node folder, else ``None``; never raises."""
    try:
        meta = json.loads((path / "zarr.json").read_bytes())
        return meta.get("node_type") if isinstance(meta, dict) else None
    except Exception:
        return None


def root_arrays(root: Path) -> list[Path]:
    """The arrays at the root of a store (an old project's layers), by name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".") and p.is_dir() and node_type(p) == "array")


def needs_migration(folder) -> bool:
    """Whether ``plan.json`` is of a version whose layers sit at the store's root."""
    return plan_file_version(folder) in ROOT_LAYOUT_VERSIONS


def legacy_group_path(folder, name: str) -> Path:
    """Where an unmigrated project's layers can be read now (reading never migrates).

    The root while its arrays are there; the image group once step 2 finished.
    A migration stopped inside step 2 (arrays on both sides) is refused with
    the way to finish it.
    """
    root = Path(folder) / ANNOTATIONS
    if (root / staging_name(name)).is_dir():
        raise ProjectError(
            f"moving the layers of {folder} into {ANNOTATIONS}/{name} (the layout of version 2 "
            "projects) stopped half way; open the project for writing once to finish it (open it "
            "in napari, or run a command that changes it, e.g. patchwise check --update-status). "
            "Nothing is lost."
        )
    if not root_arrays(root) and node_type(root / name) == "group":
        return root / name
    return root


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def move_root_arrays(root: Path, name: str, attributes: dict | None = None) -> None:
    """Step 2: move the arrays at the root of ``root`` into its group ``name`` (resumable).

    Only folders are renamed; nothing is copied or rewritten. A folder ``name``
    that is not the migrated group is refused (nothing is moved).
    """
    import zarr

    final, stage = root / name, root / staging_name(name)
    arrays = root_arrays(root)
    if not arrays and not stage.is_dir():
        return
    if os.path.lexists(final) and final not in arrays:
        raise ProjectError(
            f"{final} is in the way of this project's image {name!r} (its layers move there); "
            "move it out of the store and open the project again."
        )
    if not stage.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=root))
        try:
            zarr.open_group(tmp, mode="w", zarr_format=3, attributes=attributes or {})
            os.chmod(tmp, root.stat().st_mode & 0o777)
            os.replace(tmp, stage)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    for array in arrays:
        os.replace(array, stage / array.name)
    _fsync_dir(stage)
    os.replace(stage, final)
    _fsync_dir(root)


def migrate_project(folder, name: str | None = None) -> bool:
    """Bring a version 1 project to the layout of version 2, under the project's lock.

    The lock is taken for the migration unless this process holds it already
    (a command or a viewer changing the project); another writer holding it
    is refused with :class:`.lock.ProjectLocked`.

    Parameters
    ----------
    folder : path
        The project folder.
    name : str or None
        The image's name (default: from :func:`.collection.default_image_name`).

    Returns
    -------
    bool
        Whether anything was migrated (``False`` for a project already in the new layout).
    """
    folder = Path(folder)
    if not needs_migration(folder):
        return False
    load_collection(folder)  # a plan that cannot be used is refused before anything is written
    if held_here(folder):
        return _migrate(folder, name)
    with ProjectLock(folder, "napari-patchwise (moving the layers into the version 2 layout)"):
        return _migrate(folder, name)


def _migrate(folder: Path, name: str | None) -> bool:
    if not needs_migration(folder):  # another writer did it while the lock was taken
        return False
    collection = load_collection(folder)
    if name is not None and name != collection.names[0]:
        collection = Collection.from_plan(collection.images[0].plan, name)
    name = collection.names[0]
    _write_bytes_atomic(folder / BACKUP_FILE, (folder / PLAN_FILE).read_bytes())  # step 1
    root = folder / ANNOTATIONS
    if root.is_dir():
        import zarr

        try:
            attrs = zarr.open_group(root, mode="r", use_consolidated=False).attrs.asdict()
        except Exception:
            attrs = {}
        move_root_arrays(root, name, {k: v for k, v in attrs.items() if k == ATTRS_KEY})  # step 2
    _write_bytes_atomic(folder / PLAN_FILE, _json_bytes(collection.to_dict()))  # step 3
    return True
