"""One Patchwise session per viewer: its projects, plan, locks and the signals docks listen to (Qt-free).

Every dock of a viewer reaches the shared state through :func:`session_for`
instead of process-wide globals, so two viewers never see each other's plan.
A :class:`Session`

* holds the write lock of every project open in the viewer
  (:class:`~napari_patchwise.engine.plan.lock.ProjectLock`): a ``patchwise``
  command that would change it, or another viewer opening it, is refused
  with a message naming this napari. A lock is let go when the last boxes or
  annotation layer of its project leaves the viewer (the project is closed,
  or the viewer closes and removes its layers), when :meth:`Session.close`
  is called, when the viewer is garbage-collected, and by the operating
  system when napari ends;
* knows the :class:`~napari_patchwise.layers.box_sync.BoxLayerSync` editing
  a project's plan (the Box planner's), so the Seed, QC and Export steps read
  and change the plan the planner holds (:meth:`Session.current_plan`,
  :meth:`Session.commit_plan`);
* keeps a boxes layer that the reader opened on the displayed slice while
  no Box planner edits it: the reader gives it the first slice's rectangles
  only (opening stays fast) and the session redraws them on slice changes
  (:meth:`Session.follow_boxes`; the planner takes the layer over with
  :meth:`Session.let_go_of`);
* knows which image of each project is shown (:meth:`Session.image_of`):
  a project holds one image or several (each with its own plan and
  annotation layers); the viewer shows one of them at a time, named in its
  layers' metadata (``"image"``), and the plan the docks read and change is
  that image's;
* remembers the layers it made, and
* tells the docks what happened: :attr:`Session.plan_changed` (a box edit, a
  new plan, new findings), :attr:`Session.annotations_written` (seeding,
  importing, Separate, Crop background), :attr:`Session.project_opened` /
  :attr:`Session.project_closed` and :attr:`Session.busy` /
  :attr:`Session.idle` (the first job of any dock started / the last ended).

Examples
--------
>>> from napari.components import ViewerModel
>>> a, b = ViewerModel(), ViewerModel()
>>> session_for(a) is session_for(a), session_for(a) is session_for(b)
(True, False)
"""

from __future__ import annotations

import weakref
from pathlib import Path

from psygnal import Signal

from ..engine.plan.lock import ProjectLock
from ..engine.plan import Plan
from ..engine.plan.project import ProjectError, load_plan, save_plan
from ..engine.findings import Finding
from .box_shapes import METADATA_KEY
from .stroke_hold import buffer_strokes, write_held

#: What other writers are told holds the project.
HOLDER = "napari, where the project is open"
#: Layers that write into their project: painting (classes and their correction masks), or the Box
#: planner's autosave.
WRITING_ROLES = ("annotation", "correction", "boxes")

_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def layer_project(layer) -> Path | None:
    """The project folder a boxes or annotation layer writes into (resolved), or None."""
    meta = (getattr(layer, "metadata", None) or {}).get(METADATA_KEY, {})
    if not isinstance(meta, dict) or meta.get("role") not in WRITING_ROLES or not meta.get("project"):
        return None
    return Path(meta["project"]).resolve()


def _real(viewer):
    """The viewer itself when napari hands a dock a public-only proxy of it."""
    return getattr(viewer, "__wrapped__", viewer)


def _release_all(locks: dict) -> None:
    for lock in locks.values():
        lock.release()
    locks.clear()


def _key(folder) -> Path:
    return Path(folder).resolve()


class Session:
    """The Patchwise state of one viewer; get it with :func:`session_for`."""

    #: The plan of the project being edited changed (emitted with the plan).
    plan_changed = Signal(object)
    #: A project's annotation arrays were written outside painting (emitted with its folder).
    annotations_written = Signal(str)
    #: The viewer took a project's lock (emitted with its resolved folder).
    project_opened = Signal(str)
    #: The viewer let go of a project (emitted with its resolved folder).
    project_closed = Signal(str)
    #: The first job of any dock of the viewer started.
    busy = Signal()
    #: The last running job of the viewer's docks ended.
    idle = Signal()

    def __init__(self, viewer):
        viewer = _real(viewer)
        self._viewer = weakref.ref(viewer)
        self.locks: dict[Path, ProjectLock] = {}
        self.syncs: list = []
        self.made: weakref.WeakSet = weakref.WeakSet()
        #: Widgets the viewer has one of (e.g. its Patchwise dock), by name; kept weakly.
        self.docks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.jobs = 0
        #: Openings of projects still under way (their workers and layers to come), kept until they end.
        self.openings: set = set()
        self.closed = False
        #: Boxes layers the session keeps on the displayed slice (no planner edits them), by layer id.
        self.followers: dict[int, object] = {}
        #: The image shown of each project (resolved folder: image name; none for a project of one image),
        #: kept after the project closes: opening it again in this viewer shows that image.
        self.images: dict[Path, str] = {}
        #: Projects whose layers are being replaced by another image's: their locks are kept meanwhile.
        self.switching: set[Path] = set()
        viewer.layers.events.removed.connect(self._on_removed)
        viewer.layers.events.inserted.connect(self._on_inserted)
        for layer in viewer.layers:  # a project the reader opened before any dock
            buffer_strokes(layer)

    @property
    def viewer(self):
        """The viewer (None once it is gone)."""
        return self._viewer()

    # -- projects and their locks ---------------------------------------------------
    def hold(self, folder) -> ProjectLock:
        """Take the lock of ``folder`` for this viewer (kept while its layers are here).

        Raises
        ------
        ProjectLocked
            When a command or another viewer is changing the project.
        """
        key = _key(folder)
        lock = self.locks.get(key)
        if lock is None:
            lock = ProjectLock(key, HOLDER).acquire()
            self.locks[key] = lock
            self.project_opened.emit(str(key))
        return lock

    def holds(self, folder) -> bool:
        lock = self.locks.get(_key(folder))
        return lock is not None and lock.held

    def release(self, folder) -> None:
        lock = self.locks.pop(_key(folder), None)
        if lock is not None:
            lock.release()
            self.project_closed.emit(str(_key(folder)))

    def release_unused(self) -> None:
        """Let go of every project none of whose boxes or annotation layers is in the viewer."""
        viewer = self.viewer
        used = set() if viewer is None else {layer_project(layer) for layer in viewer.layers}
        for folder in [f for f in self.locks if f not in used and f not in self.switching]:
            self.release(folder)

    def _on_removed(self, event) -> None:
        write_held(event.value)
        self.let_go_of(event.value)
        if layer_project(event.value) in self.locks:
            self.release_unused()

    # -- the image shown of each project ----------------------------------------------
    def image_of(self, project) -> str | None:
        """The name of the image of ``project`` the viewer shows (None: the project's only image)."""
        return None if project is None else self.images.get(_key(project))

    def show_image(self, project, name: str | None) -> None:
        """Make ``name`` the image of ``project`` the docks read and change (None forgets it)."""
        if name is None:
            self.images.pop(_key(project), None)
        else:
            self.images[_key(project)] = name

    # -- boxes layers the reader opened ------------------------------------------------
    def _on_inserted(self, event) -> None:
        layer = event.value
        buffer_strokes(layer)
        meta = (getattr(layer, "metadata", None) or {}).get(METADATA_KEY, {})
        project = layer_project(layer)
        if project is not None and isinstance(meta.get("image"), str):
            self.show_image(project, meta["image"])
        if isinstance(meta, dict) and meta.get("role") == "boxes" and project is not None:
            self.follow_boxes(layer)

    def follow_boxes(self, layer, sync=None):
        """Redraw a project's boxes layer (as the reader opened it) on every slice change.

        Does nothing when a sync of this session (the Box planner's) already
        edits the layer. ``sync`` is a :class:`~.box_sync.BoxLayerSync` of the
        layer made beforehand (the reader builds it with the layer, off the
        GUI thread); without it one is made from the project's plan. Returns
        the sync that follows the layer, or None.
        """
        from .box_sync import BoxLayerSync

        viewer = self.viewer
        if viewer is None or any(s.rectangles is layer for s in self.syncs):
            return None
        sync = sync if sync is not None else self.followers.get(id(layer))
        if sync is None:
            try:
                plan = load_plan(layer_project(layer), self.image_of(layer_project(layer)))
            except ProjectError:
                return None  # the reader has told why already; the layer stays as opened
            sync = BoxLayerSync(plan, rectangles=layer)
        self.followers[id(layer)] = sync
        sync.follow_dims(viewer.dims)
        return sync

    def keep_following(self, sync) -> None:
        """A planner closes but its boxes layer stays: keep redrawing it on slice changes.

        Edits of the layer are no longer saved (as with a boxes layer the reader
        opened); opening the planner again takes the layer over.
        """
        viewer = self.viewer
        if self.closed or viewer is None or sync.rectangles not in viewer.layers:
            sync.disconnect()
            return
        self.followers[id(sync.rectangles)] = sync
        sync.follow_dims(viewer.dims)

    def take_follower(self, layer):
        """Hand the :class:`~.box_sync.BoxLayerSync` following a boxes layer over, still connected
        (the Box planner edits the plan through it from now on); None when none follows it."""
        return self.followers.pop(id(layer), None)

    def let_go_of(self, layer) -> None:
        """Stop redrawing a boxes layer (the Box planner takes it over, or it left the viewer)."""
        sync = self.followers.pop(id(layer), None)
        if sync is not None:
            sync.disconnect()

    # -- the plan --------------------------------------------------------------------
    def attach(self, sync) -> None:
        """A :class:`~.box_sync.BoxLayerSync` edits a plan in this viewer: forward its changes."""
        if sync not in self.syncs:
            self.syncs.append(sync)
            sync.plan_changed.connect(self.plan_changed.emit)

    def detach(self, sync) -> None:
        if sync in self.syncs:
            self.syncs.remove(sync)
            sync.plan_changed.disconnect(self.plan_changed.emit)

    def sync_for(self, project):
        """The sync editing the plan of a project folder in this viewer, if any."""
        if project is None:
            return None
        want = _key(project)
        return next((s for s in self.syncs if s.project is not None and _key(s.project) == want), None)

    def current_plan(self, project) -> Plan:
        """The plan of ``project``'s shown image as the planner holds it, else as saved."""
        sync = self.sync_for(project)
        return sync.plan if sync is not None else load_plan(project, self.image_of(project))

    def commit_plan(self, project, plan: Plan, findings: list[Finding] | None = None) -> None:
        """Make ``plan`` the project's plan: through the planner (which saves it) or into ``plan.json``;
        ``findings``, when given, are shown on the planner's boxes in the same redraw (see
        :meth:`show_findings`)."""
        sync = self.sync_for(project)
        if sync is not None:
            sync.set_plan(plan, findings)
        else:
            save_plan(project, plan, self.image_of(project))
            self.plan_changed.emit(plan)

    def show_findings(self, project, findings: list[Finding]) -> bool:
        """Show annotation findings on the planner's boxes (colours, table); False if no planner."""
        sync = self.sync_for(project)
        if sync is None:
            return False
        sync.set_extra_findings(findings)
        return True

    # -- layers and work ---------------------------------------------------------------
    def add_layer(self, layer):
        """Add a layer to the viewer and remember that the session made it."""
        self.made.add(layer)
        viewer = self.viewer
        if viewer is not None and layer not in viewer.layers:
            viewer.add_layer(layer)
        return layer

    @property
    def working(self) -> bool:
        """A job of one of the viewer's docks is running (quiet background checks included)."""
        return self.jobs > 0

    def job_started(self) -> None:
        self.jobs += 1
        if self.jobs == 1:
            self.busy.emit()

    def job_ended(self) -> None:
        self.jobs = max(0, self.jobs - 1)
        if self.jobs == 0:
            self.idle.emit()

    def close(self) -> None:
        """The viewer closes: let go of every lock and stop forwarding plans."""
        if self.closed:
            return
        self.closed = True
        for sync in list(self.syncs):
            self.detach(sync)
        for sync in list(self.followers.values()):
            sync.disconnect()
        self.followers.clear()
        viewer = self.viewer
        for layer in viewer.layers if viewer is not None else ():
            write_held(layer)  # before the locks go
        for folder in list(self.locks):
            self.release(folder)
        if viewer is not None:
            viewer.layers.events.removed.disconnect(self._on_removed)
            viewer.layers.events.inserted.disconnect(self._on_inserted)
            if _SESSIONS.get(viewer) is self:
                del _SESSIONS[viewer]


def session_for(viewer) -> Session:
    """The one :class:`Session` of ``viewer`` (made on first use, a new one after :meth:`~Session.close`)."""
    viewer = _real(viewer)
    session = _SESSIONS.get(viewer)
    if session is None:
        session = Session(viewer)
        _SESSIONS[viewer] = session
        weakref.finalize(viewer, _release_all, session.locks)
    return session


def hold_project(viewer, folder) -> ProjectLock:
    """Take the lock of ``folder`` for ``viewer``; see :meth:`Session.hold`."""
    return session_for(viewer).hold(folder)
