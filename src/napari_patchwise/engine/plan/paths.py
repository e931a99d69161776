"""Where files may go: names the file system accepts, outputs outside a project's store,
and why an operating-system error happened, in words that name the fix.

Examples
--------
>>> import errno
>>> print(os_error_reason(OSError(errno.ENOSPC, "No space left on device")))
the disk is full (No space left on device); free some space and run it again
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: One name (a file or folder in a path) when the file system does not say.
DEFAULT_NAME_MAX = 255
#: Characters a hidden staging folder adds around a name (``.NAME.XXXXXXXX.partial``).
STAGE_RESERVE = 18


class PathError(ValueError):
    """A path the file system cannot hold, or that would write into a project's own store."""


def name_max(folder) -> int:
    """Longest name (in bytes) the file system holding ``folder`` (or its nearest existing parent) accepts.

    Examples
    --------
    >>> name_max("/no/such/folder") >= 14
    True
    """
    p = Path(folder).absolute()
    while not os.path.exists(p) and p != p.parent:
        p = p.parent
    try:
        return int(os.pathconf(p, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def check_name_fits(folder, name: str, what: str, *, reserve: int = 0) -> None:
    """Refuse a name longer than the file system allows, saying so (not "unwritable").

    Parameters
    ----------
    folder : path
        Where the name will be made.
    name : str
        The file or folder name.
    what : str
        What the name is, for the message (e.g. ``"the nnU-Net folder name"``).
    reserve : int
        Characters added around it while it is written (a staging folder's).

    Examples
    --------
    >>> check_name_fits("/tmp", "Dataset501_" + "x" * 300, "the nnU-Net folder name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.paths.PathError: the nnU-Net folder name Dataset501_xxx... is 311 characters long; ...
    """
    limit = name_max(folder) - reserve
    size = len(os.fsencode(name))
    if size > limit:
        short = name if len(name) <= 40 else name[:14] + "..."
        raise PathError(
            f"{what} {short} is {size} characters long; the file system allows at most {limit} here "
            f"({name_max(folder)} for one name{f', less {reserve} while it is written' if reserve else ''}). "
            "Choose a shorter name."
        )


def check_path_names(path, what: str = "the path") -> None:
    """Refuse a path with any name longer than the file system allows.

    Examples
    --------
    >>> check_path_names("/tmp/" + "a" * 400, "the output folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.paths.PathError: the output folder: the name aaaaaaaaaaaaaa... is 400 characters long; ...
    """
    p = Path(path)
    for part in p.parts:
        if part in ("/", "", ".", ".."):
            continue
        try:
            check_name_fits(p, part, "the name")
        except PathError as e:
            raise PathError(f"{what}: {e}") from None


def check_output_outside_store(project, out, store: str = "annotations.zarr") -> None:
    """Refuse an output folder inside a project's annotation store (it would write into the
    store the export reads, and leave foreign files in it).

    Examples
    --------
    >>> check_output_outside_store("/data/proj", "/data/proj/export")
    >>> check_output_outside_store("/data/proj", "/data/proj/annotations.zarr/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.plan.paths.PathError: the output folder /data/proj/annotations.zarr/x lies inside ...
    """
    root = Path(os.path.realpath(Path(project) / store))
    target = Path(os.path.realpath(out))
    if target == root or root in target.parents:
        raise PathError(
            f"the output folder {out} lies inside the project's {store}, which holds its annotations; "
            f"choose a folder outside it (e.g. {Path(project) / 'export'})."
        )


_REASONS = {
    errno.ENOSPC: "the disk is full ({}); free some space and run it again",
    errno.EDQUOT: "the disk quota is used up ({}); free some space and run it again",
    errno.ENAMETOOLONG: "a name in the path is longer than the file system allows ({}); choose a shorter name",
    errno.EACCES: "permission denied ({}); choose a place you may write to, or fix its permissions",
    errno.EPERM: "operation not permitted ({}); choose a place you may write to, or fix its permissions",
    errno.EROFS: "the file system is read-only ({}); choose a place you may write to",
    errno.EISDIR: "a folder is where a file is expected ({}); give the file itself",
    errno.ENOTDIR: "a file is where a folder is expected ({}); give a folder",
}


def os_error_reason(e: OSError) -> str:
    """What an :class:`OSError` means for the person, with the fix.

    Examples
    --------
    >>> import errno
    >>> print(os_error_reason(OSError(errno.ENAMETOOLONG, "File name too long")))
    a name in the path is longer than the file system allows (File name too long); choose a shorter name
    >>> print(os_error_reason(OSError("odd")))
    odd
    """
    text = e.strerror or str(e)
    where = getattr(e, "filename", None)
    template = _REASONS.get(getattr(e, "errno", None))
    if template is None:
        return f"{text}: {where}" if where else text
    reason = template.format(text)
    return f"{reason} [{where}]" if where else reason
