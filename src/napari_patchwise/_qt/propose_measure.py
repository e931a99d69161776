"""Measuring an image for proposals, once: the cache, its requests and the worker (part of the Propose tab).

The slow step of proposing, :func:`~napari_patchwise.engine.propose.run.measure_candidates`,
runs through the panel's :class:`~.runner.Runner` (a worker thread, with a
progress bar and a Cancel button). Measurements are cached per image layer, box
size, magnification and labels/probability layer, and forgotten when one of
those layers changes, is painted or is removed.
"""

from __future__ import annotations

from collections.abc import Callable

from napari.layers import Labels
from napari.utils.notifications import show_error, show_warning

from ..engine.plan.plan import Plan
from ..engine.propose.run import box_size_for, measure_candidates
from .propose_form import MeasureRequest, layer_array


class CandidateMeasure:
    """Measurement and its cache for :class:`.propose_panel.ProposePanel`.

    Works on the panel's ``host`` (viewer, plan image), ``sync``, ``form``,
    ``cache``, ``runner`` and the set of ``_watched`` layers.
    """

    def _request(self, image, source: str) -> MeasureRequest | None:
        plan = self.sync.plan
        labels = self.form.weak_labels.value
        prob = self.form.probability.value if source == "uncertainty" else None
        if source == "uncertainty" and prob is None:
            show_error("Choose the probability layer (an Image layer with the model's "
                       "foreground probability) to propose by uncertainty.")
            return None
        try:
            size = box_size_for(plan)
        except ValueError as e:
            show_error(f"Cannot propose: {e}")
            return None
        key = (
            id(image), id(layer_array(image)), tuple(plan.image.shape), size,
            tuple(plan.magnification),
            None if labels is None else (id(labels), id(layer_array(labels))),
            None if prob is None else (id(prob), id(layer_array(prob))),
        )
        parts = [f"'{image.name}'"]
        if labels is not None:
            parts.append(f"labels '{labels.name}'")
        if prob is not None:
            parts.append(f"probability '{prob.name}'")
        layers = [layer for layer in (image, labels, prob) if layer is not None]
        for layer in layers:
            self._watch(layer)
        return MeasureRequest(
            key, tuple(id(layer) for layer in layers), plan, layer_array(image),
            None if labels is None else layer_array(labels),
            None if prob is None else layer_array(prob),
            " with ".join(parts),
        )

    def _with_candidates(self, request: MeasureRequest, then: Callable) -> None:
        """Call ``then(cands, request)`` now if measured before, else after measuring."""
        cands = self.cache.get(request.key)
        if cands is not None:
            then(cands, request)
            return
        self._measure(request, then)

    def _measure(self, request: MeasureRequest, then: Callable) -> None:
        """Run :func:`measure_candidates` in a worker thread, then ``then`` on the main thread."""

        def work(progress):
            return measure_candidates(request.image, request.plan, labels=request.labels,
                                      probability=request.probability, progress=progress)

        def returned(cands):
            self.cache.put(request.key, request.layer_ids, cands)
            then(cands, request)

        job = self.runner.start(work, what=f"Measuring {request.description}", returned=returned,
                                label="measuring candidate blocks: %p%",
                                cancelled="Measuring was cancelled; nothing was proposed.")
        self.last_worker = job.worker

    def cancel(self) -> None:
        """Stop the running measurement (nothing is proposed)."""
        self.runner.cancel()

    def _current_plan_for(self, request: MeasureRequest) -> Plan | None:
        """The plan now, if the measurement still fits it (else say so)."""
        if self.sync is None:
            show_warning("The plan was closed while the image was measured; nothing was proposed.")
            return None
        plan, then = self.sync.plan, request.plan
        image = self.host.image_layer()
        if image is None or id(image) != request.layer_ids[0]:
            show_warning("The plan's image changed while it was measured; press Propose again.")
            return None
        same = plan.image.shape == then.image.shape and plan.magnification == then.magnification
        try:
            same = same and box_size_for(plan) == box_size_for(then)
        except ValueError:
            same = False
        if not same:
            show_warning("The magnification or preset changed while the image was measured; "
                         "press Propose again.")
            return None
        return plan

    def _watch(self, layer) -> None:
        """Forget measurements when the layer's data changes (or is painted)."""
        if id(layer) in self._watched:
            return
        self._watched.add(id(layer))
        layer.events.data.connect(self._on_layer_data)
        if isinstance(layer, Labels):
            layer.events.paint.connect(self._on_layer_data)

    def _on_layer_data(self, event) -> None:
        self.cache.forget_layer(id(event.source))

    def _on_layer_removed(self, event) -> None:
        layer = event.value
        self.cache.forget_layer(id(layer))
        if id(layer) in self._watched:
            self._watched.discard(id(layer))
            layer.events.data.disconnect(self._on_layer_data)
            if isinstance(layer, Labels):
                layer.events.paint.disconnect(self._on_layer_data)
        self.reset_choices()
