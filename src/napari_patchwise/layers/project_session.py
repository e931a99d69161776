"""A viewer's hold on the projects open in it: their write locks (Qt-free).

While a project's boxes or annotation layers are in a viewer, the viewer's
:class:`ProjectSession` holds the project's lock
(:class:`~napari_patchwise.engine.plan.lock.ProjectLock`): a ``patchwise`` command
that would change the project, or another viewer opening it, is refused with
a message naming this napari. The lock is let go when the last of those
layers leaves the viewer (the project is closed, or the viewer closes and
removes its layers), when the viewer is garbage-collected, and by the
operating system when napari ends.

The project reader takes the lock for the viewer it opens the project in; the
Box planner takes it for a project it saves.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from ..engine.plan.lock import ProjectLock
from .box_shapes import METADATA_KEY

#: What other writers are told holds the project.
HOLDER = "napari, where the project is open"
#: Layers that write into their project: painting, or the Box planner's autosave.
WRITING_ROLES = ("annotation", "boxes")

_SESSIONS: dict[int, ProjectSession] = {}


def layer_project(layer) -> Path | None:
    """The project folder a boxes or annotation layer writes into (resolved), or None."""
    meta = (getattr(layer, "metadata", None) or {}).get(METADATA_KEY, {})
    if not isinstance(meta, dict) or meta.get("role") not in WRITING_ROLES or not meta.get("project"):
        return None
    return Path(meta["project"]).resolve()


def _release_all(locks: dict) -> None:
    for lock in locks.values():
        lock.release()
    locks.clear()


class ProjectSession:
    """The locks of the projects open in one viewer; see :func:`session_for`."""

    def __init__(self, viewer):
        self._viewer = weakref.ref(viewer)
        self.locks: dict[Path, ProjectLock] = {}
        viewer.layers.events.removed.connect(self._on_removed)

    def hold(self, folder) -> ProjectLock:
        """Take the lock of ``folder`` for this viewer (kept while its layers are here).

        Raises
        ------
        ProjectLocked
            When a command or another viewer is changing the project.
        """
        key = Path(folder).resolve()
        lock = self.locks.get(key)
        if lock is None:
            lock = ProjectLock(key, HOLDER).acquire()
            self.locks[key] = lock
        return lock

    def holds(self, folder) -> bool:
        lock = self.locks.get(Path(folder).resolve())
        return lock is not None and lock.held

    def release(self, folder) -> None:
        lock = self.locks.pop(Path(folder).resolve(), None)
        if lock is not None:
            lock.release()

    def release_unused(self) -> None:
        """Let go of every project none of whose boxes or annotation layers is in the viewer."""
        viewer = self._viewer()
        used = set() if viewer is None else {layer_project(layer) for layer in viewer.layers}
        for folder in [f for f in self.locks if f not in used]:
            self.release(folder)

    def _on_removed(self, event) -> None:
        if layer_project(event.value) in self.locks:
            self.release_unused()


def session_for(viewer) -> ProjectSession:
    """The :class:`ProjectSession` of ``viewer`` (made on first use)."""
    session = _SESSIONS.get(id(viewer))
    if session is None or session._viewer() is not viewer:
        session = ProjectSession(viewer)
        _SESSIONS[id(viewer)] = session
        weakref.finalize(viewer, _forget, id(viewer), session.locks)
    return session


def _forget(key: int, locks: dict) -> None:
    """The viewer is gone: its projects are closed."""
    _release_all(locks)
    session = _SESSIONS.get(key)
    if session is not None and session.locks is locks:
        del _SESSIONS[key]


def hold_project(viewer, folder) -> ProjectLock:
    """Take the lock of ``folder`` for ``viewer``; see :meth:`ProjectSession.hold`."""
    return session_for(viewer).hold(folder)
