"""The QC dock's follow-up of strokes: rechecks in the runner, box checks, the contacts overlay.

After a stroke :class:`~napari_patchwise.layers.live_qc.LiveQC` says what to
redo: a full recheck of a class (debounced, computed in a worker thread and
installed on the main thread unless newer strokes came in), the boxes the
stroke touched (checked a moment later) and the contact voxels around it
(drawn at once; the touching-pairs table follows a moment later). Overlay planes
a full redraw left undrawn are filled from markers computed in a worker.
"""

from __future__ import annotations


from ..layers.box_shapes import METADATA_KEY
from ..layers.contact_overlay import ContactOverlay, add_keeping_active
from .in_turns import event_loop_running


class QCRechecks:
    """Rechecks, box checks and the contacts overlay of :class:`.qc_dock.QCWidget`.

    Works on the dock's ``live`` checks, ``runner``, timers (``debounce``,
    ``box_timer``, ``table_timer``), ``pairs_panel`` and ``overlay``.
    """

    def _on_live_toggled(self, on: bool) -> None:
        if self.live is not None:
            self.live.live = on
            if on:  # catch up with strokes painted while live checks were off
                self._pending.update(self.live.instance_classes)
                self._recheck_pending()

    def _schedule_recheck(self, name: str) -> None:
        if not self.closed and self.live is not None and name in self.live.instance_classes:
            self._pending.add(name)
            self.debounce.start()

    def _recheck_pending(self) -> None:
        live = self.live
        if live is None or self.closed:
            return
        for name in sorted(self._pending):
            since = live.stroke_count(name)
            self.runner.start(lambda progress, n=name: live.compute_index(n), what="QC check", quiet=True,
                              returned=lambda index, n=name, s=since: self._install(live, n, index, s))
        self._pending.clear()

    def _install(self, live, name, index, since) -> None:
        if not self.closed and live is self.live:
            live.install_index(name, index, since)

    def _on_boxes_touched(self, ids) -> None:
        self._touched_boxes.update(ids)
        self.box_timer.start()

    def _on_contacts_changed(self, region=None) -> None:
        """After a stroke: the overlay at once (only around the stroke), the table a moment later.

        An overlay not made yet (checks just installed) is made a turn later, added hidden a turn
        after that and shown a turn after that: making, adding and first drawing its layer is napari's work on
        the GUI thread, so the window repaints in between."""
        if region is None and (self.overlay is None or self.overlay.live is not self.live) and event_loop_running():
            self._overlay_for = self.live
            self.overlay_timer.start()
        else:
            self._draw_overlay(region)
        self.table_timer.start()

    def refresh_contacts(self, now: bool = False) -> None:
        """Show the touching pairs again (computed in a worker unless ``now``)."""
        self.pairs_panel.refresh(now=now)

    def _on_view_changed(self, event=None) -> None:
        """Another plane on screen: draw its contact markers if a full redraw left them undrawn."""
        if self.overlay is not None and not self.closed:
            self.overlay.draw_shown()

    def _fill_overlay_later(self) -> None:
        """Planes a full redraw left undrawn: the whole volume's markers computed in a worker."""
        overlay = self.overlay
        if overlay is None or not overlay.n_stale or overlay.filling or self.closed:
            return
        fill, token = overlay.fill_later()
        self.runner.start(lambda progress: fill(), what="Contact markers", quiet=True,
                          returned=lambda full: None if self.closed else overlay.apply_fill(full, token))

    def _make_overlay(self) -> None:
        """The overlay of checks installed a turn ago (unless they were replaced meanwhile)."""
        if self._overlay_for is self.live:
            self._draw_overlay(add=self._add_hidden)

    def _add_hidden(self, viewer, layer) -> None:
        """Add ``layer`` a turn later, hidden, and show it a turn after that: making the layer and
        drawing its plane, napari adding it (its controls and visuals), and napari slicing and
        drawing it each take a turn of their own, with the window repainting in between."""
        self._to_add = layer
        self.add_timer.start()

    def _add_overlay(self) -> None:
        layer, self._to_add = self._to_add, None
        overlay, viewer = self.overlay, self.viewer
        if (layer is None or self.closed or overlay is None or overlay.layer is not layer
                or layer in viewer.layers):  # replaced, or added by a redraw meanwhile
            return
        shown, layer.visible = layer.visible, False
        add_keeping_active(viewer, layer)
        if shown:
            self._to_show = layer
            self.show_timer.start()

    def _show_overlay(self) -> None:
        layer, self._to_show = self._to_show, None
        if layer is not None and not self.closed and layer in self.viewer.layers:
            layer.visible = True

    def _draw_overlay(self, region=None, add=None) -> None:
        """Mark contact voxels in the overlay layer (only around ``region`` when given); ``add``:
        as in :meth:`ContactOverlay.show_in`."""
        live = self.live
        if live is None or self.closed:
            return
        if self.overlay is None or self.overlay.live is not live:  # checks (re)started
            self.overlay = ContactOverlay(live, metadata={METADATA_KEY: {"role": "contacts", "project": self.project}})
            region = None
        self.overlay.show_in(self.viewer, region, add=add)
        self._fill_overlay_later()
