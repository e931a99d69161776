"""Swapping two folders in one step, and OS locks that tell a running writer from a killed one.

:func:`exchange` swaps the names of two paths atomically where the system can
(Linux ``renameat2(RENAME_EXCHANGE)``). :func:`hold` takes an advisory lock
(``flock``) on a folder for as long as its writer runs; :func:`held` tells
whether some running process holds one, so a folder nobody holds was left by a
writer that stopped. Where there are no such locks (Windows), nothing is held.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     fd = hold(pathlib.Path(tmp))
...     print(held(pathlib.Path(tmp)) == (fd is not None))
...     release(fd)
...     print(held(pathlib.Path(tmp)))
True
False
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; every leftover counts as stopped
    fcntl = None

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc without it
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: ``renameat2`` of the C library, or ``None`` where there is none.
_RENAMEAT2 = _renameat2()


def exchange(a, b) -> bool:
    """Swap the names of two existing paths in one atomic step.

    Returns ``False``, changing nothing, where the system or the file system
    cannot (then swap another way).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     a, b = pathlib.Path(tmp, "a"), pathlib.Path(tmp, "b")
    ...     _ = a.write_text("A"), b.write_text("B")
    ...     swapped = exchange(a, b)
    ...     print(a.read_text() == ("B" if swapped else "A"))
    True
    """
    fn = _RENAMEAT2
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def hold(path: Path) -> int | None:
    """Lock ``path`` (a folder) for this process; the open descriptor, or ``None`` if not possible."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without locks
        os.close(fd)
        return None
    return fd


def release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing drops the lock


def held(path: Path) -> bool:
    """Whether a running process holds ``path`` (see :func:`hold`); a killed one holds nothing."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # cannot even look: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def remove_path(path: Path) -> None:
    """Remove a file, link or folder tree (whatever a swap moved aside)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (its renames) to disk where the system can."""
    with contextlib.suppress(OSError):  # not possible on Windows
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
