"""Writing a format folder safely: stage next to it, then swap it into place.

A :class:`Stage` is a hidden temporary folder beside the target, in the same
output folder (so renames stay on one file system). When the target is an
earlier export of the same project and image, its files are brought into the
stage first (hard links, or copies where links are not possible): the cases
already there stay byte for byte what they were, and only new cases are
added. :meth:`Stage.commit` swaps the stage into place; :meth:`Stage.discard`
removes the stage and leaves the old folder exactly as it was.

The folders beside a target ``NAME`` and the states a kill can leave
---------------------------------------------------------------------
``.NAME.xxxxxxxx.partial``
    A stage (``x``: 8 characters of :func:`tempfile.mkdtemp`). Its writer
    holds an OS lock on it (``flock``) while it runs, so a folder nobody
    holds was left by a writer that stopped.
``.NAME.xxxxxxxx.old/NAME``
    An old export moved aside during a swap (held the same way).

The swap exchanges ``NAME`` and the stage in one step where the system can
(Linux ``renameat2(RENAME_EXCHANGE)``): ``NAME`` is the old export, then the
new one, never missing; the old one, now under the stage's name, is removed.
Elsewhere it takes two renames: ``NAME`` into a new ``.old`` folder, the stage
to ``NAME``, then the ``.old`` folder is removed; between the two renames
``NAME`` is missing. :func:`recover`, run by every export before it looks at
its target, brings any state a kill leaves back to a consistent one:

================================  ==========================================
left beside ``NAME``              what :func:`recover` does
================================  ==========================================
``.partial``, nobody holds it     removes it: an unfinished stage, or the old
                                  export after an exchange (``NAME`` is new)
``.old``, ``NAME`` there          removes it: the swap was done
``.old/NAME``, ``NAME`` missing   renames it back to ``NAME`` (the previous
                                  export, complete): the swap never
                                  happened, and the export writes the new
                                  cases again
a folder some writer holds        leaves it (another export is running)
anything else                     leaves it (not ours: names match exactly)
================================  ==========================================

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

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .folder_swap import exchange, fsync_dir, held, hold, release, remove_path
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


STAGE_SUFFIX = ".partial"
OLD_SUFFIX = ".old"


def leftovers(target) -> list[Path]:
    """The stage and old folders a stopped export of ``target`` may have left beside it.

    Only folders named exactly as :class:`Stage` names them (not links, not
    files), sorted by name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in (".Set.abcd_123.partial", ".Set.abcd_123.old", ".Set2.abcd_123.old",
    ...                  ".Set.abc.partial", "Set.abcd_123.partial"):
    ...         pathlib.Path(tmp, name).mkdir()
    ...     [p.name for p in leftovers(pathlib.Path(tmp, "Set"))]
    ['.Set.abcd_123.old', '.Set.abcd_123.partial']
    """
    target = Path(target)
    pattern = re.compile(r"\." + re.escape(target.name) + r"\.[a-z0-9_]{8}(\.partial|\.old)\Z")
    try:
        entries = sorted(os.scandir(target.parent), key=lambda e: e.name)
    except OSError:
        return []
    return [Path(e.path) for e in entries
            if pattern.match(e.name) and e.is_dir(follow_symlinks=False)]


def recover(target) -> list[str]:
    """Bring back what a stopped export left beside ``target``; what was done, one line each.

    See the table in this module's description. Folders a running export
    holds are left alone.

    Raises
    ------
    ExportError
        If an old export moved aside cannot be renamed back (the message
        says where it is).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     old = pathlib.Path(tmp, ".Set.abcd_123.old", "Set")
    ...     old.mkdir(parents=True)
    ...     _ = (old / "a.txt").write_text("kept")
    ...     pathlib.Path(tmp, ".Set.wxyz_789.partial").mkdir()
    ...     for line in recover(pathlib.Path(tmp, "Set")):
    ...         print(line.replace(tmp, "OUT"))
    ...     print(sorted(p.name for p in pathlib.Path(tmp).iterdir()), pathlib.Path(tmp, "Set", "a.txt").read_text())
    restored OUT/Set from .Set.abcd_123.old, where an interrupted export had moved it
    removed 1 leftover folder of an interrupted export beside OUT/Set (.Set.wxyz_789.partial)
    ['Set'] kept
    """
    target = Path(target)
    found = [p for p in leftovers(target) if not held(p)]
    lines, back = [], None
    olds = [p for p in found if p.name.endswith(OLD_SUFFIX) and os.path.lexists(p / target.name)]
    if olds and not os.path.lexists(target):
        # killed between the two renames of a swap: the newest old folder is the last export
        back = max(olds, key=lambda p: p.stat().st_mtime_ns)
        try:
            os.replace(back / target.name, target)
        except OSError as e:
            raise ExportError(
                f"an interrupted export left the previous {target.name} in {back / target.name} and it "
                f"cannot be moved back ({e.strerror or e}); move it to {target} by hand, then export again."
            ) from None
        fsync_dir(target.parent)
        lines.append(f"restored {target} from {back.name}, where an interrupted export had moved it")
    removed = []
    for p in found:
        remove_path(p)
        if p != back and not os.path.lexists(p):
            removed.append(p.name)
    if removed:
        n = len(removed)
        lines.append(f"removed {n} leftover folder{'' if n == 1 else 's'} of an interrupted export "
                     f"beside {target} ({', '.join(removed)})")
    return lines


class Stage:
    """A temporary folder that becomes ``target`` on :meth:`commit`.

    The stage is locked (see the module description) until it is committed
    or discarded, so :func:`recover` in another process leaves it alone.

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
            self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", suffix=STAGE_SUFFIX, dir=parent))
            self._lock = hold(self.path)
            # mkdtemp makes 0700 folders; take the output folder's mode
            os.chmod(self.path, parent.stat().st_mode & 0o777)
        except OSError as e:
            raise ExportError(
                f"cannot write to the output folder {parent} ({e.strerror or e}); choose a folder "
                "you may write to."
            ) from None

    def carry(self, old: Path, linked: Iterable[str], skip: Iterable[str] = ()) -> None:
        """Bring every file of the folder ``old`` into the stage (not its manifest, nor ``skip``).

        Files in ``linked`` (paths relative to ``old``) are hard-linked (copied
        when that fails); they must never be written again. Other files are
        copied, so rewriting them cannot touch the old folder. Files in
        ``skip`` (the cases an export replaces) stay behind.
        """
        linked, skip = set(linked), set(skip)
        for dirpath, dirnames, filenames in os.walk(old):
            dirnames.sort()
            rel_dir = Path(dirpath).relative_to(old)
            (self.path / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames):
                rel = (rel_dir / name).as_posix()
                if rel == MANIFEST_NAME or rel in skip:
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
        """Swap the stage into place; returns the target.

        The previous target is removed once the new one is in its place. If
        the swap fails or is interrupted (an exception, Ctrl-C), the previous
        target stays (or is put back) and the stage is removed.
        """
        target = self.target
        try:
            if not os.path.lexists(target):
                os.replace(self.path, target)
                aside = None
            elif exchange(self.path, target):
                aside = self.path  # the previous target, under the stage's name
            else:
                aside = self._swap_by_renames()
        except BaseException as e:
            self.discard()
            if not isinstance(e, OSError):
                raise
            if os.path.lexists(target):
                state = "the previous folder is unchanged"
            else:
                state = "the previous folder was moved aside and the next export puts it back"
            raise ExportError(
                f"cannot move the new export into {target} ({e.strerror or e}); {state}. Check "
                "permissions and free space, then export again."
            ) from None
        fsync_dir(target.parent)
        if aside is not None:
            remove_path(aside)
        release(self._lock)
        self._lock = None
        return target

    def _swap_by_renames(self) -> Path:
        """Rename the target into a new ``.old`` folder, then the stage to the target.

        Returns the ``.old`` folder. On failure the target is renamed back;
        when even that fails the ``.old`` folder stays for :func:`recover`.
        """
        target = self.target
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=OLD_SUFFIX, dir=target.parent))
        trash_lock = hold(trash)
        try:
            os.replace(target, trash / target.name)
        except BaseException:
            release(trash_lock)
            remove_path(trash)
            raise
        try:
            os.replace(self.path, target)
        except BaseException:
            try:
                os.replace(trash / target.name, target)  # put the previous folder back
            finally:
                release(trash_lock)
            remove_path(trash)
            raise
        release(trash_lock)
        return trash

    def discard(self) -> None:
        """Remove the stage (the target is not touched)."""
        shutil.rmtree(self.path, ignore_errors=True)
        release(self._lock)
        self._lock = None


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
