"""All or nothing for a run that writes into ``annotations.zarr`` (seeding many boxes).

Zarr writes every chunk to a temporary file and renames it into place, so a
chunk file, once linked elsewhere, never changes under that other name.
:func:`store_snapshot` hard-links every file of the store, and ``plan.json``,
into a hidden folder beside them before the run (no data is copied, and no
disk space is needed), then marks the snapshot complete. If the run fails (a
full disk, Ctrl-C, a damaged chunk met half way) the links are renamed back and
files the run added are removed, so the store and the plan are exactly as
before; when it succeeds the mark is removed first (the run is committed) and
then the links.

A run killed outright leaves its snapshot behind. :func:`recover_snapshots`,
called by the next writer (which holds the project's lock, so the run is gone),
undoes it: a complete snapshot puts the store and ``plan.json`` back as they
were before the killed run; an incomplete one (killed while linking, before
anything was written) or a committed one is only removed.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8))))
...     try:
...         with store_snapshot(folder):
...             open_annotations(folder)["nuclei"][:] = 7
...             raise OSError(28, "No space left on device")
...     except OSError:
...         pass
...     int(open_annotations(folder, mode="r")["nuclei"][:].max())
0
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

ANNOTATIONS = "annotations.zarr"
#: Prefix of the hidden folder holding the links while a run writes.
SNAPSHOT_PREFIX = f".{ANNOTATIONS}.snapshot."


def _files(root: Path) -> list[Path]:
    return [Path(d, f).relative_to(root) for d, _, names in os.walk(root) for f in names]


def _link_all(root: Path, into: Path) -> bool:
    for rel in _files(root):
        dest = into / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(root / rel, dest)
        except OSError:  # no hard links here (some network or FAT file systems)
            return False
    return True


def _restore(root: Path, snap: Path) -> None:
    kept = set(_files(snap))
    for rel in _files(root):
        if rel not in kept:
            with contextlib.suppress(OSError):
                (root / rel).unlink()
    for rel in kept:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(snap / rel, root / rel)
    for d, _, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):  # folders the run added, if empty
        if Path(d) != root and not any(Path(d).iterdir()):
            with contextlib.suppress(OSError):
                os.rmdir(d)


#: Inside a snapshot: the store's links, the plan's link and the mark of a complete snapshot.
_STORE, _PLAN, _COMPLETE = "store", "plan.json", "complete"


def _take(folder: Path, snap: Path) -> bool:
    root = folder / ANNOTATIONS
    if not _link_all(root, snap / _STORE):
        return False
    plan = folder / _PLAN
    if plan.exists():
        try:
            os.link(plan, snap / _PLAN)
        except OSError:
            return False
    (snap / _COMPLETE).touch()  # from here on, a kill is undone by the next writer
    return True


def _undo(folder: Path, snap: Path) -> None:
    _restore(folder / ANNOTATIONS, snap / _STORE)
    if (snap / _PLAN).exists():
        os.replace(snap / _PLAN, folder / _PLAN)


def recover_snapshots(folder) -> list[str]:
    """Undo the runs a kill stopped half way (call it holding the project's lock).

    Returns
    -------
    list of str
        One line per snapshot found, saying what was done.
    """
    folder = Path(folder)
    lines = []
    for snap in sorted(folder.glob(SNAPSHOT_PREFIX + "*")):
        if not snap.is_dir() or snap.is_symlink():
            continue
        if (snap / _COMPLETE).exists():
            _undo(folder, snap)
            lines.append(f"a run that stopped half way was undone: {ANNOTATIONS} and {_PLAN} are "
                         "back as they were before it")
        shutil.rmtree(snap, ignore_errors=True)
    return lines


@contextlib.contextmanager
def store_snapshot(folder) -> Iterator[bool]:
    """Keep the project's ``annotations.zarr`` and ``plan.json`` as they were unless the block finishes.

    Yields ``True`` when the snapshot was taken (``False`` on a file system
    without hard links: the block then runs without it).
    """
    folder = Path(folder)
    snap = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX, dir=folder))
    try:
        taken = _take(folder, snap)
    except BaseException:
        shutil.rmtree(snap, ignore_errors=True)
        raise
    if not taken:
        shutil.rmtree(snap, ignore_errors=True)
    try:
        yield taken
    except BaseException:
        if taken:
            _undo(folder, snap)
        raise
    else:
        if taken:
            (snap / _COMPLETE).unlink()  # committed: a kill from here on keeps the run
    finally:
        shutil.rmtree(snap, ignore_errors=True)
