"""The Seed dock's preview: what Apply would write into one box, and the object diameter.

Both run through the dock's :class:`~.runner.Runner` in a worker thread and
write nothing into the project; the preview is a Labels layer named
:data:`PREVIEW_NAME`, replaced by the next preview.
"""

from __future__ import annotations

from dataclasses import replace

from napari.utils.notifications import show_error, show_warning

from ..engine.geometry.magnification import voxel_size_at
from ..engine.jobs.seed import check_manual_threshold
from ..engine.plan.box_arrays import box_region, choose_boxes, image_at_mag
from ..engine.plan.plan_file import ProjectError
from ..engine.seed.objectsize import resolve_seed_params
from ..engine.seed.thresholding import preview_box
from ..engine.seed.thresholds import THRESHOLD_METHODS
from ..layers.annotation_layers import annotation_transform

#: Name of the preview layer.
PREVIEW_NAME = "seed preview"


class SeedPreview:
    """Preview and diameter estimate of :class:`.seed_dock.SeedWidget`.

    Works on the dock's ``viewer``, ``form``, ``result`` label, ``runner`` and
    its ``_plan_and_boxes`` / ``_image`` inputs.
    """

    def preview(self, *, diameter_only: bool = False) -> None:
        """What Apply would write into the first chosen box, in a '{PREVIEW_NAME}' layer; nothing is written.

        The threshold and the object diameter are computed over all chosen
        boxes and the box is seeded with the boxes it overlaps, exactly as Apply
        does; the view moves to the box. With ``diameter_only`` only the object
        diameter is measured over the chosen boxes and shown in the form.
        """
        if self.busy:
            show_warning("Seeding or a preview is already running; wait for it to finish.")
            return
        try:
            if self.form.method.value not in THRESHOLD_METHODS:
                raise ValueError("preview is for thresholding methods; imports are shown by Apply.")
            plan, ids = self._plan_and_boxes()
            params, image = self.form.params(), self._image(plan)
        except (ValueError, ProjectError) as e:
            show_error(str(e))
            return
        job, show = (self._diameter_job if diameter_only else self._preview_job)(plan, ids, params, image)

        self.runner.start(lambda progress: job(), what="Estimating the diameter" if diameter_only else "Preview",
                          returned=show, label="preview: %p%")

    def _preview_job(self, plan, ids, params, image):
        """The preview's job (worker thread) and how its result is shown (GUI thread)."""
        box = plan.box(ids[0])
        class_name, per_box = self.form.class_name.value, self.form.per_box.value

        def job():
            if params.method == "manual":
                check_manual_threshold(
                    (image_at_mag(image, b, plan.magnification) for b in choose_boxes(plan, ids)), params.threshold)
            return preview_box(plan, image, box.id, box_ids=ids, class_name=class_name, params=params,
                               per_box_threshold=per_box)

        def show(result):
            seeds, setup = result
            tf = annotation_transform(plan)
            origin = [s.start for s in box_region(plan, box)]
            translate = tuple(t + o * s for t, o, s in zip(tf["translate"], origin, tf["scale"]))
            if PREVIEW_NAME in self.viewer.layers:
                self.viewer.layers.remove(self.viewer.layers[PREVIEW_NAME])
            layer = self.viewer.add_labels(seeds.labels, name=PREVIEW_NAME, scale=tf["scale"], translate=translate,
                                           units=(plan.image.unit,) * 3, opacity=0.5)
            self._go_to(layer)
            self.form.show_used(setup.params)
            how = "estimated" if setup.estimate is not None else "given"
            self.result.setText(
                f"preview of box {box.id}: {seeds.n_objects} objects, threshold {seeds.threshold:.4g}, object "
                f"diameter {setup.params.object_diameter:.3g} ({how}). Apply writes exactly these seeds.")

        return job, show

    def _diameter_job(self, plan, ids, params, image):
        """Measuring the object diameter over the chosen boxes, and showing it in the form."""
        params = replace(params, object_diameter=None)
        spacing = voxel_size_at(plan.image.voxel_size, plan.magnification)

        def job():
            regions = [image_at_mag(image, b, plan.magnification) for b in choose_boxes(plan, ids)]
            return resolve_seed_params(params, regions, spacing)

        def show(result):
            resolved, estimate = result
            self.form.show_used(resolved)
            self.result.setText(f"estimated object diameter {estimate.diameter:.3g} {plan.image.unit} "
                                f"({estimate.n_objects} objects measured in {len(ids)} boxes).")

        return job, show

    def _go_to(self, layer) -> None:
        """Centre the camera on a layer's data and show its middle plane."""
        middle = layer.data_to_world(tuple((n - 1) / 2 for n in layer.data.shape))
        self.viewer.dims.set_point(self.viewer.dims.ndim - 3, float(middle[0]))
        self.viewer.scene.camera.center = tuple(float(v) for v in middle)
