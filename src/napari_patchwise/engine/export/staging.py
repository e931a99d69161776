"""Writing a format folder safely: stage next to it, then swap it into place.

A :class:`Stage` is a hidden temporary folder beside the target, in the same
output folder (so renames stay on one file system). When the target is an
earlier export of the same project and image, its files are brought into the
stage first (hard links, or copies where links are not possible): the cases
already there stay byte for byte what they were, and only new cases are
added. :meth:`Stage.commit` swaps the stage into place (old folder renamed
away, stage renamed in, old folder deleted); :meth:`Stage.discard` removes
the stage and leaves the old folder exactly as it was.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     stage = Stage(pathlib.Path(tmp) / "Dataset501_X")
...     _ = (stage.path / "a.txt").write_text("new")
...     target = stage.commit()
...     print(sorted(p.name for p in pathlib.Path(tmp).iterdir()), (target / "a.txt").read_text())
['Dataset501_X'] new
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .manifest import read_manifest
from .model import MANIFEST_NAME, ExportError


def ensure_output_folder(out) -> Path:
    """Create the output folder (and parents) if needed; a clear error when impossible.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = pathlib.Path(tmp, "file").write_text("x")
    ...     ensure_output_folder(pathlib.Path(tmp, "file", "out"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: cannot write to the output folder ...
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not out.is_dir():
            raise NotADirectoryError(f"{out} is not a folder")
    except OSError as e:
        raise ExportError(
            f"cannot write to the output folder {out} ({e.strerror or e}); choose a folder you may "
            "write to (an existing file cannot hold an export)."
        ) from None
    return out


def existing_export(target: Path, *, overwrite: bool, same: Callable[[dict], str | None]) -> dict | None:
    """The manifest of an earlier export at ``target`` that new cases may join.

    Parameters
    ----------
    target : Path
        The format folder.
    overwrite : bool
        Replace whatever is at ``target`` (``None`` is returned).
    same : callable
        Given the old manifest, returns ``None`` when it is an export of the
        same project and image, else what differs (text for the message).

    Raises
    ------
    ExportError
        If ``target`` holds anything else and ``overwrite`` is false.
    """
    if not os.path.lexists(target) or overwrite:
        return None
    hint = "choose another output folder, move it away, or export with overwrite on (--overwrite, or the Export dock's overwrite box) to replace it."
    if not target.is_dir() or target.is_symlink():
        raise ExportError(f"{target} exists and is not an export folder; {hint}")
    if not (target / MANIFEST_NAME).is_file():
        if not any(target.iterdir()):
            return None
        raise ExportError(f"{target} exists and holds no napari-patchwise export ({MANIFEST_NAME}); {hint}")
    manifest = read_manifest(target)
    differs = same(manifest)
    if differs:
        raise ExportError(f"{target} holds an export of {differs}; {hint}")
    return manifest


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Stage:
    """A temporary folder that becomes ``target`` on :meth:`commit`.

    Parameters
    ----------
    target : Path
        The format folder to write (inside an existing output folder).

    Raises
    ------
    ExportError
        If the output folder cannot be written to.
    """

    def __init__(self, target: Path):
        self.target = Path(target)
        parent = self.target.parent
        try:
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=".partial", dir=parent))
            # mkdtemp makes 0700 folders; take the output folder's mode
            os.chmod(self.path, parent.stat().st_mode & 0o777)
        except OSError as e:
            raise ExportError(
                f"cannot write to the output folder {parent} ({e.strerror or e}); choose a folder "
                "you may write to."
            ) from None

    def carry(self, old: Path, linked: Iterable[str]) -> None:
        """Bring every file of the folder ``old`` into the stage (not its manifest).

        Files in ``linked`` (paths relative to ``old``) are hard-linked (copied
        when that fails); they must never be written again. Other files are
        copied, so rewriting them cannot touch the old folder.
        """
        linked = set(linked)
        for dirpath, dirnames, filenames in os.walk(old):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(old)
            (self.path / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames):
                rel = (rel_dir / name).as_posix()
                if rel == MANIFEST_NAME:
                    continue
                src, dst = Path(dirpath) / name, self.path / rel_dir / name
                if rel in linked:
                    try:
                        os.link(src, dst, follow_symlinks=False)
                        continue
                    except OSError:
                        pass
                shutil.copy2(src, dst, follow_symlinks=False)

    def files(self) -> list[str]:
        """Every file in the stage (relative ``/``-separated paths, sorted)."""
        out = []
        for dirpath, _, filenames in os.walk(self.path):
            rel_dir = Path(dirpath).relative_to(self.path)
            out.extend((rel_dir / n).as_posix() for n in filenames)
        return sorted(out)

    def commit(self) -> Path:
        """Swap the stage into place; returns the target."""
        target, trash = self.target, None
        try:
            if os.path.lexists(target):
                trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
                os.replace(target, trash / target.name)
            try:
                os.replace(self.path, target)
            except OSError:
                if trash is not None:  # put the old folder back
                    os.replace(trash / target.name, target)
                raise
        except OSError as e:
            self.discard()
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
            raise ExportError(
                f"cannot move the new export into {target} ({e.strerror or e}); the previous "
                "folder is unchanged. Check permissions and free space, then export again."
            ) from None
        _fsync_dir(target.parent)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        return target

    def discard(self) -> None:
        """Remove the stage (the target is not touched)."""
        shutil.rmtree(self.path, ignore_errors=True)


def commit_all(stages: Mapping[str, Stage]) -> dict[str, Path]:
    """Commit several stages; if one cannot be committed the rest are discarded."""
    out: dict[str, Path] = {}
    items = list(stages.items())
    try:
        for key, stage in items:
            out[key] = stage.commit()
    except BaseException:
        for key, stage in items:
            if key not in out:
                stage.discard()
        raise
    return out
