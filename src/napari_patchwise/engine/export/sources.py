"""What an export reads from a project: per image its plan, findings, image and annotation layers.

:func:`open_sources` checks every chosen image of the project (box rules and
annotation checks, as ``patchwise check`` does), picks the boxes that can be
exported and opens the image and annotation layers without loading them.
:func:`same_export` tells whether an earlier export's manifest describes an
export new cases may join.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding
from ..geometry.box import Box
from ..plan.plan import Plan
from .crops import exportable, image_levels
from .images import image_case_name
from .model import ExportError, box_key_text, case_name


@dataclass(frozen=True, eq=False)
class ImageSource:
    """One image of the project as the export reads it.

    Attributes
    ----------
    name : str
        The image's name in the project.
    plan : Plan
        Its plan, with box statuses derived from the annotation checks.
    findings : list of Finding
        Every finding of the image.
    overridden : dict of int to str
        Boxes exported despite error findings, with the reason.
    levels : list
        The image's pyramid levels (:func:`~.crops.image_levels`); not opened
        (empty) when none of its boxes can be exported.
    layers : dict
        Its annotation layers.
    path : str or None
        The image file (absolute).
    domain : str or None
        The image's domain tag.
    """

    name: str
    plan: Plan
    findings: list[Finding]
    overridden: dict[int, str]
    levels: list
    layers: dict
    path: str | None
    domain: str | None = None
    boxes: list[Box] = field(default_factory=list)

    def case(self, box: Box, named: bool) -> str:
        """The case name of a box: after the image when ``named``, else as a one-image project names it."""
        return image_case_name(self.name, box.id) if named else case_name(box)

    def describe(self) -> dict:
        """The image as the manifest of a several-image export records it."""
        img = self.plan.image
        return {"name": self.name, "path": self.path, "shape": list(img.shape), "dtype": img.dtype,
                "voxel_size": list(img.voxel_size), "unit": img.unit, "domain": self.domain}


def check_image(project: Path, name: str, plan):
    """Plan (with derived statuses), findings and QC report of one image of a project.

    ``plan`` is the image's plan as read with the collection (``plan.json`` is read once
    for every image, so an export sees one save of it).
    """
    from ..plan.annotation_store import annotation_layers, open_annotations
    from ..qc.checks import check_plan_annotations, hidden_arrays

    group = open_annotations(project, plan, mode="r", image=name)
    report = check_plan_annotations(plan, annotation_layers(group, plan), hidden=hidden_arrays(group))
    plan = report.apply_statuses(plan)
    return plan, plan.validate() + report.findings, report, group


def open_sources(project: Path, collection, names: Sequence[str], overrides: Mapping[int, str],
                 only_done: bool) -> tuple[list[ImageSource], list[tuple[int, str]]]:
    """Check and open the chosen images; their exportable boxes and the boxes skipped (with why).

    A skipped box is named by the key an override of it takes: its id, or
    ``(image, id)`` with several images in the project (:func:`box_key_text`).
    An image none of whose boxes can be exported is not opened.
    """
    from ..plan.annotation_store import annotation_layers
    from ..plan.project import resolve_image_path

    several = len(collection.images) > 1
    per_image = image_overrides(overrides, names, several)
    sources, skipped = [], []
    for name in names:
        plan, findings, qc, group = check_image(project, name, collection.plan(name))
        boxes, skip, overridden = exportable(plan, findings, per_image[name],
                                             counts={i: q.counts for i, q in qc.boxes.items()},
                                             only_done=only_done)
        skipped.extend(((name, i) if several else i, why) for i, why in skip)
        path = resolve_image_path(project, plan)
        sources.append(ImageSource(
            name, plan, findings, dict(overridden), image_levels(project, plan) if boxes else [],
            annotation_layers(group, plan), None if path is None else str(path.resolve()),
            collection.image(name).domain, list(boxes)))
    return sources, skipped


def image_overrides(overrides: Mapping, names: Sequence[str], several: bool) -> dict[str, dict[int, str]]:
    """The overrides of each image: keys ``(image, box id)``, or box ids alone for one image.

    Raises
    ------
    ExportError
        For a box id alone when several images are exported (ids repeat
        across images), or an image that is not exported.

    Examples
    --------
    >>> image_overrides({("b", 3): "checked"}, ["a", "b"], True)
    {'a': {}, 'b': {3: 'checked'}}
    >>> image_overrides({3: "checked"}, ["a"], True)
    {'a': {3: 'checked'}}
    >>> image_overrides({3: "checked"}, ["a", "b"], True)
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: box ids repeat across the images of this project: name the image of each override (IMAGE:BOX=REASON, e.g. a:3="checked by hand").
    """
    out: dict[str, dict[int, str]] = {n: {} for n in names}
    for key, why in overrides.items():
        if isinstance(key, tuple):
            image, box_id = key
            if image not in out:
                raise ExportError(f"an override names image {image!r}, which is not exported (the exported "
                                  f"images are {', '.join(names)}); check the image name.")
            out[image][int(box_id)] = why
        elif len(names) > 1:
            raise ExportError("box ids repeat across the images of this project: name the image of each "
                              f"override (IMAGE:BOX=REASON, e.g. {names[0]}:{key}=\"checked by hand\").")
        else:
            out[names[0]][key] = why
    return out


def same_export(plan: Plan, project: str, settings: dict, image: str | None = None,
                images: Mapping[str, dict] | None = None) -> Callable[[dict], str | None]:
    """A check that an old manifest describes an export new cases may join.

    ``image`` is the image file of a one-image project; ``images`` the
    images (:meth:`ImageSource.describe` by name) of a project with several.
    """
    classes = [{"name": c.name, "kind": c.kind} for c in plan.classes]

    def differs(old: dict) -> str | None:
        if old.get("project") != project:
            return f"another project ({old.get('project')}, not {project})"
        if images is None:
            old_image = old.get("image") or {}
            if old.get("images"):
                return "this project when it held several images (its cases are named after them)"
            if old_image.get("path") != image or old_image.get("shape") != list(plan.image.shape):
                return f"another image ({old_image.get('path')} {old_image.get('shape')})"
        else:
            if not old.get("images"):
                return "this project when it held one image (its cases are not named after images)"
            for entry in old["images"]:
                now = images.get(entry.get("name"))
                if now is not None and (entry.get("path"), entry.get("shape")) != (now["path"], now["shape"]):
                    return (f"another image named {entry.get('name')} ({entry.get('path')} "
                            f"{entry.get('shape')})")
        if old.get("magnification") != list(plan.magnification):
            now = list(plan.magnification)
            return f"this project at magnification {old.get('magnification')} (now {now})"
        if old.get("classes") != classes:
            names = [c.get("name") for c in old.get("classes") or [] if isinstance(c, dict)]
            return f"this project with other classes ({', '.join(map(str, names))})"
        changed = sorted(k for k in settings if (old.get("settings") or {}).get(k) != settings[k])
        if changed:
            was = ", ".join(f"{k}={(old.get('settings') or {}).get(k)!r}" for k in changed)
            return f"this project with other settings ({was}; use the same settings to add cases)"
        return None

    return differs


def no_boxes_several(sources, skipped) -> str:
    """Why an export of several images has no box to write."""
    if not any(src.plan.boxes for src in sources):
        return (f"no image of the export ({', '.join(src.name for src in sources)}) has boxes; propose or "
                "draw boxes, annotate them, then export.")
    lines = "\n".join(f"  box {box_key_text(i)}: {why}" for i, why in skipped)
    return (f"no box can be exported:\n{lines}\n"
            "Fix the findings (QC dock, or patchwise check) and export again.")


def case_label(entry: Mapping, several: bool) -> str:
    """A manifest case entry as a person names it (``box 3 of image fib``)."""
    if several and entry.get("image") is not None:
        return f"box {entry.get('box_id')} of image {entry['image']}"
    return f"box {entry.get('box_id')}"


def case_label_of(case: str, images_of: Mapping[str, str], several: bool) -> str:
    """A case name as a person names it, given the image of each case."""
    if several and case in images_of:
        box = case.rsplit("_", 1)[-1].lstrip("0") or "0"
        return f"box {box} of image {images_of[case]}"
    return f"box {int(case.rsplit('_', 1)[-1])}" if case.rsplit("_", 1)[-1].isdigit() else f"case {case}"
