"""All or nothing for a run that writes into ``annotations.zarr`` (seeding many boxes).

Zarr writes every chunk to a temporary file and renames it into place, so a
chunk file, once linked elsewhere, never changes under that other name.
:func:`store_snapshot` hard-links every file of the store into a hidden folder
beside it before the run (no data is copied, and no disk space is needed); if
the run fails (a full disk, Ctrl-C, a damaged chunk met half way) the links are
renamed back and files the run added are removed, so the store is exactly as
before; when it succeeds the links are dropped.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.project import create_project, open_annotations
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


@contextlib.contextmanager
def store_snapshot(folder) -> Iterator[bool]:
    """Keep the project's ``annotations.zarr`` as it was unless the block finishes.

    Yields ``True`` when the snapshot was taken (``False`` on a file system
    without hard links: the block then runs without it).
    """
    root = Path(folder) / ANNOTATIONS
    snap = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX, dir=Path(folder)))
    try:
        taken = _link_all(root, snap)
    except BaseException:
        shutil.rmtree(snap, ignore_errors=True)
        raise
    if not taken:
        shutil.rmtree(snap, ignore_errors=True)
    try:
        yield taken
    except BaseException:
        if taken:
            _restore(root, snap)
        raise
    finally:
        shutil.rmtree(snap, ignore_errors=True)
