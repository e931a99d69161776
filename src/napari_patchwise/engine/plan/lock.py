"""One writer per project: an operating-system lock on ``PROJECT/.patchwise.lock``.

Every command that changes a project (``plan.json`` or ``annotations.zarr``)
holds :class:`ProjectLock` while it reads, computes and writes; a napari
viewer holds it for as long as the project is open there. A second writer is
refused at once with :class:`ProjectLocked`, whose message names the holder
(program, process id, host and start time, which the holder writes into the
lock file as JSON) and the fix. Reading (validate, check, export) takes no lock.

The lock is ``flock`` (``msvcrt.locking`` on Windows), held on an open file:
the operating system drops it when the holder's process ends, however it
ends. A lock file left behind by a killed process is therefore not locked,
and the next writer takes it over silently (a debug log line says so).

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     with ProjectLock(tmp, "patchwise seed"):
...         print(lock_holder(tmp).command)
...         try:
...             ProjectLock(tmp, "patchwise check --update-status").acquire()
...         except ProjectLocked as e:
...             print(str(e).split(" (pid")[0].endswith("is being changed by patchwise seed"))
...     print(lock_holder(tmp))
patchwise seed
True
None
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import logging
import os
import socket
import time
import weakref
from pathlib import Path

from .plan_file import LOCK_FILE, ProjectError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

log = logging.getLogger(__name__)

#: Seconds a writer retries before it is refused: a holder letting go, or a look at who holds it
#: (:func:`lock_holder` locks for an instant), is not a writer.
GRACE = 0.25
#: Windows: the byte locked, far past the holder's text (a locked range cannot be read there).
_WIN_LOCK_OFFSET = 1 << 30
_HELD: weakref.WeakSet = weakref.WeakSet()


@dataclasses.dataclass(frozen=True)
class LockHolder:
    """Who holds a project's lock, as written in its lock file.

    Examples
    --------
    >>> h = LockHolder(pid=42, host="lab-pc", command="patchwise seed proj", since="2025-01-02T10:00:00")
    >>> h.describe()
    'patchwise seed proj (pid 42 on lab-pc, since 2025-01-02 10:00:00)'
    >>> LockHolder.from_text(h.to_text()) == h
    True
    >>> LockHolder.from_text("not json") is None
    True
    """

    pid: int
    host: str
    command: str
    since: str

    @classmethod
    def here(cls, command: str) -> LockHolder:
        """This process, now."""
        now = datetime.datetime.now().isoformat(timespec="seconds")
        return cls(os.getpid(), socket.gethostname(), command, now)

    def to_text(self) -> str:
        return json.dumps(dataclasses.asdict(self)) + "\n"

    @classmethod
    def from_text(cls, text: str) -> LockHolder | None:
        """The holder written in a lock file, or None when it is not (yet) readable."""
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["host"]), str(data["command"]), str(data["since"]))
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        return f"{self.command} (pid {self.pid} on {self.host}, since {self.since.replace('T', ' ')})"


class ProjectLocked(ProjectError):
    """Another writer holds the project; the message names it and the fix."""

    def __init__(self, folder, holder: LockHolder | None):
        self.folder, self.holder = Path(folder), holder
        who = holder.describe() if holder else "another program (it has not written its name yet)"
        super().__init__(
            f"{self.folder} is being changed by {who}. One program at a time may change a "
            "project: wait for that command to finish, or close the project in that napari "
            "(remove its layers or close the viewer), then try again. Nothing was changed."
        )


def _lock_path(folder) -> Path:
    return Path(folder) / LOCK_FILE


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` without waiting; False when someone else holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as e:
        if isinstance(e, BlockingIOError) or e.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return LockHolder.from_text(os.read(fd, 4096).decode("utf-8", "replace"))
    except OSError:
        return None


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (a releasing holder removes it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


class ProjectLock:
    """The write lock of one project folder (a context manager).

    Parameters
    ----------
    folder : str or Path
        The project folder (it must exist).
    command : str
        What holds the lock, as other writers will be told (e.g. the command line).

    Raises
    ------
    ProjectLocked
        From :meth:`acquire` when another writer (another process, or another
        :class:`ProjectLock` in this one) holds the project.
    ProjectError
        When the lock file cannot be created (a read-only folder) or the file
        system does not support locks.
    """

    def __init__(self, folder, command: str):
        self.folder = Path(folder)
        self.command = str(command)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> ProjectLock:
        """Take the lock, or raise :class:`ProjectLocked` within :data:`GRACE` seconds."""
        if self._fd is not None:
            return self
        if not self.folder.is_dir():
            raise ProjectError(f"project folder {self.folder} does not exist; check the path.")
        deadline = time.monotonic() + GRACE
        while True:
            try:
                return self._acquire(_lock_path(self.folder))
            except ProjectLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(GRACE / 10)

    def _acquire(self, path: Path) -> ProjectLock:
        for _ in range(5):  # a holder that releases removes the file: lock the new one
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise ProjectError(
                    f"cannot create the lock file {path} ({e.strerror or e}); a project is changed "
                    "only in a folder you may write to: fix its permissions, or copy the project."
                ) from None
            try:
                if not _try_lock(fd):
                    raise ProjectLocked(self.folder, _read_holder(fd))
                if fcntl is not None and not _same_file(fd, path):
                    _unlock(fd)
                    os.close(fd)
                    continue
                old = _read_holder(fd)
                if old is not None:
                    log.debug("took over the lock of %s left by %s", self.folder, old.describe())
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, LockHolder.here(self.command).to_text().encode())
            except ProjectLocked:
                os.close(fd)
                raise
            except OSError as e:
                os.close(fd)
                raise ProjectError(
                    f"cannot lock {path} ({e.strerror or e}); the file system may not support "
                    "locks: work on a copy of the project on a local disk."
                ) from None
            self._fd = fd
            _HELD.add(self)
            return self
        raise ProjectLocked(self.folder, None)

    def release(self) -> None:
        """Let go of the lock (the lock file is removed); nothing happens when not held."""
        fd, self._fd = self._fd, None
        _HELD.discard(self)
        if fd is None:
            return
        path = _lock_path(self.folder)
        with contextlib.suppress(OSError):
            if fcntl is not None and _same_file(fd, path):
                os.unlink(path)  # still locked: whoever opens it now will see it was removed
            else:  # Windows cannot remove an open file: leave it empty
                os.ftruncate(fd, 0)
            _unlock(fd)
        os.close(fd)

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):
        if self._fd is not None:
            with contextlib.suppress(Exception):
                self.release()

    def __repr__(self) -> str:
        return f"ProjectLock({str(self.folder)!r}, {self.command!r}, held={self.held})"


def lock_holder(folder) -> LockHolder | None:
    """Who holds the lock of ``folder`` now; None when nobody does (a left-over file included).

    Examples
    --------
    >>> lock_holder("/no/such/folder") is None
    True
    """
    path = _lock_path(folder)
    try:
        fd = os.open(path, os.O_RDONLY if fcntl is not None else os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
        return _read_holder(fd) or LockHolder(0, "?", "another program", "?")
    finally:
        os.close(fd)


def held_here(folder) -> bool:
    """Whether a :class:`ProjectLock` of this process holds ``folder``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with ProjectLock(tmp, "patchwise seed"):
    ...         print(held_here(tmp))
    ...     print(held_here(tmp))
    True
    False
    """
    try:
        here = Path(folder).resolve()
        return any(lock.held and lock.folder.resolve() == here for lock in list(_HELD))
    except OSError:
        return False


@contextlib.contextmanager
def project_lock(folder, command: str, *, create: bool = False):
    """Hold the lock of ``folder`` for a ``with`` block.

    Parameters
    ----------
    folder : str or Path
        The project folder.
    command : str
        What holds it (shown to a writer that is refused).
    create : bool
        Create the folder (and its parents) when missing, for a new project;
        it is removed again when the block fails and left it empty.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with project_lock(f"{tmp}/new", "patchwise propose", create=True) as lock:
    ...         print(lock.held, Path(tmp, "new").is_dir())
    ...     print(sorted(p.name for p in Path(tmp, "new").iterdir()))
    True True
    []
    """
    folder = Path(folder)
    made = []
    if create and not folder.exists():
        for parent in [*reversed(folder.parents), folder]:
            if not parent.exists():
                try:
                    parent.mkdir()
                except OSError as e:
                    _remove_empty(made)
                    raise ProjectError(f"cannot create the folder {parent} ({e.strerror or e}); choose a "
                                       "folder you may write to.") from None
                made.append(parent)
    lock = ProjectLock(folder, command)
    try:
        lock.acquire()
    except BaseException:
        _remove_empty(made)
        raise
    try:
        yield lock
    except BaseException:
        lock.release()
        _remove_empty(made)
        raise
    lock.release()


def _remove_empty(folders: list[Path]) -> None:
    for f in reversed(folders):
        with contextlib.suppress(OSError):
            f.rmdir()


def _close_in_child() -> None:
    """A forked child must not keep its parent's locks alive after the parent ends."""
    for lock in list(_HELD):
        fd, lock._fd = lock._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # not unlocked: the parent still holds it
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)
