"""A Labels layer marking where instances touch, redrawn only where a stroke changed them (Qt-free).

The overlay has the shape of the annotation layers. Each contact voxel is
marked by a small red square in its plane (``2 * radius + 1`` voxels wide)
with a white rim one voxel wide, so a contact stays visible when zoomed out
and stands out from any label colour. After a stroke only the stroke's region
(plus the one-voxel halo a contact can reach and the marker radius) is
recomputed, and only the voxels that changed are written (``data_setitem``,
which refreshes just that part of the view), so the cost does not grow with
the volume or with the number of contacts elsewhere. A full redraw happens
when the layer is created and after full rechecks; once the overlay is shown in
a viewer's 2D view, a full redraw draws only the plane on screen and each other
plane when the viewer first shows it (:meth:`ContactOverlay.draw_shown`, which
the dock calls when the z-slice changes), so it costs one plane, not the volume.
The other planes are then filled from the whole volume's markers computed off
the GUI thread (:meth:`ContactOverlay.fill_later`, then
:meth:`ContactOverlay.apply_fill`, which redraws what strokes changed
meanwhile), so a later slice change finds its plane drawn and napari slices the
overlay once.

The layer takes the scale, translation and units of the annotation layers
(and follows them when they change): a layer without units beside layers in
micrometres makes napari warn "Inconsistent units across layers" and stop
using units for rendering.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Labels
from scipy import ndimage
from napari.utils.colormaps import DirectLabelColormap

from ..engine.geometry.regions import full_region, grow_region as grow
from .live_qc import LiveQC

#: Name of the overlay layer.
OVERLAY_NAME = "patchwise contacts"
#: Colour of the contact markers (value 1) and of their rim (value 2).
CONTACT_COLOR = "#ff2d55"
RIM_COLOR = "white"


def add_keeping_active(viewer, layer) -> None:
    """Add ``layer`` to ``viewer`` and keep the active layer active (napari makes the new one
    active), so the next stroke goes where the last one did, not into the markers."""
    painting = viewer.layers.selection.active
    viewer.add_layer(layer)
    if painting is not None and painting in viewer.layers:
        viewer.layers.selection.active = painting


class ContactOverlay:
    """Contact markers of a :class:`LiveQC` in a napari ``Labels`` layer.

    Parameters
    ----------
    live : LiveQC
    radius : int
        Markers are ``2 * radius + 1`` voxels wide in y and x.
    layer_kwargs
        Passed to the ``Labels`` layer (``metadata``...). ``scale``,
        ``translate`` and ``units`` default to the annotation layers'.

    Notes
    -----
    :attr:`layer` is ``None`` until there is a contact to show; the caller
    adds it to a viewer. Call :meth:`update` with the region a stroke changed
    (``None`` for everything).
    """

    def __init__(self, live: LiveQC, *, radius: int = 1, **layer_kwargs):
        self.live = live
        self.radius = int(radius)
        self.layer_kwargs = layer_kwargs
        self.layer: Labels | None = None
        self.viewer = None
        self._stale: set[int] = set()  # planes whose markers are not drawn yet
        self._since: list | None = None  # regions redrawn while a fill is computed
        self._fills = 0
        ref = self.reference
        for emitter in (ref.events.scale, ref.events.translate, ref.events.units):
            emitter.connect(self._on_reference_moved)

    def _on_reference_moved(self, event=None) -> None:
        if self.layer is not None and self.live.layers:
            self._follow()

    @property
    def reference(self):
        """The annotation layer whose grid, scale and units the overlay shares."""
        return next(iter(self.live.layers.values()))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.reference.data.shape)  # type: ignore[return-value]

    def placement(self) -> dict:
        """``scale``, ``translate`` and ``units`` of the overlay: the annotation layers' unless given."""
        ref = self.reference
        out = {"scale": tuple(ref.scale), "translate": tuple(ref.translate), "units": tuple(map(str, ref.units))}
        out.update({k: v for k, v in self.layer_kwargs.items() if k in out})
        return out

    def _follow(self) -> None:
        """Give the layer the annotation layers' scale, translation and units if they changed."""
        want = self.placement()
        have = {"scale": tuple(self.layer.scale), "translate": tuple(self.layer.translate),
                "units": tuple(map(str, self.layer.units))}
        for key, value in want.items():
            if key == "units" and value != have[key] or key != "units" and not np.allclose(value, have[key]):
                setattr(self.layer, key, value)

    def show_in(self, viewer, region=None, add=None) -> None:
        """Redraw around ``region`` (everything by default) and add the layer to ``viewer``
        when it is created (again, if the person deleted it); the active layer stays active,
        so the next stroke goes where the last one did, not into the markers. ``add(viewer,
        layer)``, when given, adds the layer instead of ``viewer.add_layer``."""
        self.viewer = viewer
        if self.layer is not None and (self.layer not in viewer.layers or self.layer.data.shape != self.shape):
            self.layer, region = None, None
        if self.update(region):
            if add is None:
                add_keeping_active(viewer, self.layer)
            else:
                add(viewer, self.layer)

    def _halo(self, region) -> tuple[slice, slice, slice]:
        """``region`` widened by the marker and its rim in y and x (clipped)."""
        z, y, x = grow(region, self.shape, self.radius + 1)
        return (region[0], y, x)

    def marks(self, region=None) -> np.ndarray:
        """The overlay values of ``region`` (everything by default): ``uint8``,
        1 = marker, 2 = its rim, 0 = nothing."""
        region = full_region(self.shape) if region is None else tuple(region)
        return self._drawn(self.live.contact_voxels_in(self._halo(region)), region)

    def _drawn(self, voxels: np.ndarray, region) -> np.ndarray:
        """The markers of contact ``voxels`` inside ``region``: every voxel within ``radius``
        (in y and x, same plane) of a contact is 1, within ``radius + 1`` otherwise 2."""
        shape = tuple(s.stop - s.start for s in region)
        if not len(voxels):
            return np.zeros(shape, np.uint8)
        r = self.radius + 1
        pad = np.array([0, r, r])
        lo = np.array([s.start for s in region]) - pad
        v = voxels - lo
        size = np.array(shape) + 2 * pad
        v = v[((v >= 0) & (v < size)).all(axis=1)]
        hit = np.zeros(tuple(size), np.uint8)
        hit[tuple(v.T)] = 1
        rim = ndimage.maximum_filter(hit, size=(1, 2 * r + 1, 2 * r + 1), mode="constant")
        mark = ndimage.maximum_filter(hit, size=(1, 2 * r - 1, 2 * r - 1), mode="constant")
        out = np.where(mark > 0, np.uint8(1), rim * np.uint8(2))
        return np.ascontiguousarray(out[:, r:r + shape[1], r:r + shape[2]])

    def update(self, region=None) -> bool:
        """Redraw the markers where contacts may have changed.

        Parameters
        ----------
        region : tuple of 3 slices, optional
            Where the labels changed (a stroke's region); contacts can change
            one voxel around it. ``None`` redraws everything.

        Returns
        -------
        bool
            Whether :attr:`layer` was created by this call (the caller adds it
            to the viewer).
        """
        if self.layer is None:
            if not any(len(i) for i in self.live.indexes.values()) or not self.live.n_contacts():
                return False
            lazy = self._shown_planes() is not None
            self.layer = Labels(
                np.zeros(self.shape, np.uint8) if lazy else self.marks(), name=OVERLAY_NAME, opacity=1.0,
                colormap=DirectLabelColormap(color_dict={None: "transparent", 1: CONTACT_COLOR, 2: RIM_COLOR}),
                **{**self.layer_kwargs, **self.placement()},
            )
            self.layer.editable = False
            self._stale = set(range(self.shape[0])) if lazy else set()
            self._since, self._fills = None, self._fills + 1  # a fill under way is out of date
            self.draw_shown(refresh=False)
            return True
        self._follow()
        if region is None:
            self._since, self._fills = None, self._fills + 1  # a fill under way is out of date
            if self._shown_planes() is None:
                self.layer.data[...] = self.marks()
                self._stale = set()
                self.layer.refresh()
            else:
                self._stale = set(range(self.shape[0]))
                self.draw_shown()
            return False
        area = self._halo(grow(region, self.shape, 1))
        if self._since is not None:
            self._since.append(area)
        new = self.marks(area)
        changed = np.nonzero(new != np.asarray(self.layer.data[area]))
        if changed[0].size:
            idx = tuple(c + s.start for c, s in zip(changed, area))
            self.layer.data_setitem(idx, new[changed])
        return False

    def _shown_planes(self):
        """The overlay planes a 2D view shows (``None``: no viewer, or a 3D view shows them all)."""
        viewer = self.viewer
        if viewer is None or viewer.dims.ndisplay != 2:
            return None
        ref = self.layer if self.layer is not None else self.reference
        z = int(np.round(ref.world_to_data(viewer.dims.point)[-3]))
        return [z] if 0 <= z < self.shape[0] else []

    @property
    def n_stale(self) -> int:
        """How many planes a full redraw left undrawn."""
        return len(self._stale) if self.layer is not None else 0

    @property
    def filling(self) -> bool:
        """A fill from :meth:`fill_later` is under way and still up to date."""
        return self._since is not None

    def fill_later(self):
        """``(fill, token)``: ``fill()`` computes the markers of the whole volume as the contacts
        are now, meant for a worker thread; give its result and ``token`` to :meth:`apply_fill`.
        Strokes handled meanwhile are remembered and redrawn by :meth:`apply_fill`."""
        voxels, region = self.live.contact_voxels_later(unique=False), full_region(self.shape)
        self._since, self._fills = [], self._fills + 1
        return (lambda: self._drawn(voxels(), region)), self._fills

    def apply_fill(self, full: np.ndarray, token: int) -> bool:
        """Draw the planes still undrawn from ``full`` (from :meth:`fill_later`), then redraw
        the strokes handled since on them; False (nothing done) if a full redraw since made
        ``full`` out of date."""
        if self.layer is None or token != self._fills or self._since is None or full.shape != self.shape:
            return False
        todo = sorted(self._stale)
        for z in todo:
            self.layer.data[z] = full[z]
        for area in self._since:
            if any(area[0].start <= z < area[0].stop for z in todo):
                self.layer.data[area] = self.marks(area)
        self._stale, self._since = set(), None
        if set(self._shown_planes() or ()) & set(todo):
            self.layer.refresh()
        return True

    def draw_shown(self, refresh: bool = True) -> None:
        """Draw the markers of the planes on screen that a full redraw left undrawn (and take
        the annotation layers' scale and units if they changed: that changes the view too)."""
        if self.layer is None:
            return
        self._follow()
        if not self._stale:
            return
        planes = self._shown_planes()
        if planes is None:
            planes = sorted(self._stale)
        todo = [z for z in planes if z in self._stale]
        _, y, x = full_region(self.shape)
        for z in todo:
            self.layer.data[z] = self.marks((slice(z, z + 1), y, x))[0]
            self._stale.discard(z)
        if todo and refresh:
            self.layer.refresh()
