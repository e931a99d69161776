"""The annotation plan: which image, at which magnification, which classes and boxes.

A :class:`Plan` is immutable; every edit returns a new plan, so undo, saving
and comparisons stay simple. :meth:`Plan.to_dict` / :meth:`Plan.from_dict`
define one image's plan: a version 1 ``plan.json`` is exactly that; from
version 2 ``plan.json`` holds a collection of images, each written as its
plan's dict less the shared preset, magnification and classes (see
:mod:`.collection`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..geometry.box import Box, as_box_id
from .boxfit import BoxFit, fit_box_size
from ..geometry.magnification import Triple, _as_int_triple, as_magnification, scaled_shape, snap_box
from .presets import Preset, get_preset, preset_from_dict
from ..findings import Finding
from .rules import validate_plan
from ..geometry.voxelsize import voxel_size_findings
from .classes import ClassSpec
from .image_ref import ImageRef, _triple_entry

PLAN_FORMAT = "napari-patchwise-plan"
#: Version of one image's plan dict (``plan.json`` itself is at :data:`.collection.COLLECTION_VERSION`).
PLAN_VERSION = 1


@dataclass(frozen=True)
class Plan:
    """Image, preset, magnification, classes and boxes.

    Examples
    --------
    >>> plan = Plan(ImageRef((64, 256, 256)), get_preset("instance"), (1, 2, 2))
    >>> plan, box = plan.add_box((0, 0, 0), (64, 128, 128))
    >>> box.id, len(plan.boxes), plan.next_id
    (1, 1, 2)
    >>> plan.annotation_shape
    (64, 128, 128)
    >>> plan.remove_box(1).boxes
    ()

    ``box_size`` (at the magnification) is the size of new boxes; ``None``
    fits it to the image (:func:`.boxfit.fit_box_size`):

    >>> Plan(ImageRef((51, 120, 122), voxel_size=(2.18, 1, 1))).box_fit().size
    (32, 96, 96)
    """

    image: ImageRef
    preset: Preset = field(default_factory=lambda: get_preset("instance"))
    magnification: Triple = (1, 1, 1)
    classes: tuple[ClassSpec, ...] = (ClassSpec("nuclei", "instance"),)
    boxes: tuple[Box, ...] = ()
    next_id: int = 1
    box_size: Triple | None = None

    def __post_init__(self):
        if self.box_size is not None:
            object.__setattr__(self, "box_size",
                               _as_int_triple(self.box_size, "box size", positive=True))
        object.__setattr__(self, "magnification", as_magnification(self.magnification))
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "boxes", tuple(self.boxes))
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError(f"class names must be unique; got {names}.")
        ids = [as_box_id(b.id) for b in self.boxes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"box ids must be unique; got {sorted(ids)}.")
        need = max(ids, default=0) + 1
        if self.next_id < need:
            object.__setattr__(self, "next_id", need)

    # -- derived ---------------------------------------------------------
    @property
    def annotation_shape(self) -> Triple:
        """Shape of the annotation layers: ``ceil(image shape / magnification)``."""
        return scaled_shape(self.image.shape, self.magnification)

    def box_fit(self) -> BoxFit:
        """Size of new boxes at the magnification: ``box_size`` when set, else the
        preset's default fitted to the image (raises ``ValueError`` when even
        the preset's minimum does not fit)."""
        if self.box_size is not None:
            return BoxFit(self.box_size, self.preset.default_size)
        return fit_box_size(self.preset, self.image.shape, self.magnification,
                            self.image.voxel_size)

    @property
    def default_box_size(self) -> Triple:
        """Full-resolution size of a new box (:meth:`box_fit`, or the preset's
        default when no box fits the image)."""
        try:
            size = self.box_fit().size
        except ValueError:
            size = self.preset.default_size
        return self.preset.size_at(self.magnification, size)

    def box(self, box_id: int) -> Box:
        for b in self.boxes:
            if b.id == box_id:
                return b
        raise KeyError(f"no box with id {box_id} in the plan.")

    def validate(self) -> list[Finding]:
        """Findings for every box and for the plan (see :func:`validate_plan`), and a
        warning while the voxel size is unknown."""
        findings = validate_plan(self.boxes, self.image.shape, self.magnification, self.preset)
        return voxel_size_findings(self.image.voxel_size_known) + findings

    # -- edits -----------------------------------------------------------
    def replace(self, **changes) -> Plan:
        return dataclasses.replace(self, **changes)

    def add_box(self, lo: Sequence[int], hi: Sequence[int], **fields) -> tuple[Plan, Box]:
        """Add a box with the next free id; returns the new plan and the box."""
        box = Box(self.next_id, tuple(lo), tuple(hi), **fields)
        return self.replace(boxes=(*self.boxes, box), next_id=self.next_id + 1), box

    def add_boxes(self, extents: Iterable[tuple[Sequence[int], Sequence[int]]], **fields) -> Plan:
        """Add boxes with consecutive new ids, in one step (linear in the plan's size)."""
        new = [Box(self.next_id + i, tuple(lo), tuple(hi), **fields)
               for i, (lo, hi) in enumerate(extents)]
        return self.replace(boxes=(*self.boxes, *new), next_id=self.next_id + len(new))

    def update_box(self, box_id: int, **changes) -> Plan:
        """Change fields of one box (its id stays)."""
        return self.update_boxes({box_id: changes})

    def update_boxes(self, changes: Mapping[int, Mapping[str, Any]]) -> Plan:
        """Change fields of several boxes at once, ``{box id: {field: value}}``.

        One pass over the plan whatever the number of boxes changed (a dock
        moving a selection of boxes edits them all in one step).

        Examples
        --------
        >>> plan = Plan(ImageRef((8, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))] * 3)
        >>> [b.locked for b in plan.update_boxes({1: {"locked": True}, 3: {"locked": True}}).boxes]
        [True, False, True]
        """
        if any("id" in c and c["id"] != bid for bid, c in changes.items()):
            raise ValueError("a box keeps its id; remove the box and add a new one instead.")
        missing = sorted(set(changes) - {b.id for b in self.boxes})
        if missing:
            raise KeyError(f"no box with id {missing[0]} in the plan.")
        return self.replace(boxes=tuple(b.replace(**changes[b.id]) if b.id in changes else b
                                        for b in self.boxes))

    def remove_box(self, box_id: int) -> Plan:
        return self.remove_boxes([box_id])

    def remove_boxes(self, box_ids: Iterable[int]) -> Plan:
        """Remove several boxes in one pass (``KeyError`` naming an unknown id)."""
        gone = set(box_ids)
        missing = sorted(gone - {b.id for b in self.boxes})
        if missing:
            raise KeyError(f"no box with id {missing[0]} in the plan.")
        return self.replace(boxes=tuple(b for b in self.boxes if b.id not in gone))

    def fit(
        self, lo: Sequence[int], hi: Sequence[int], *, keep_size: bool = False
    ) -> tuple[Triple, Triple]:
        """Put an extent on the magnification grid and inside the image.

        Parameters
        ----------
        lo, hi : sequence of int
            Wanted corners (full-resolution voxels, ``hi`` exclusive).
        keep_size : bool
            Shift a box that sticks out back inside (a move) instead of
            clipping it (a resize). A box larger than the image is clipped.

        Returns
        -------
        lo, hi : tuple of int
            Corners rounded to the nearest grid lines, at least one grid
            step thick, inside the largest whole-grid part of the image.

        Examples
        --------
        >>> plan = Plan(ImageRef((64, 256, 256)), get_preset("instance"), (1, 2, 2))
        >>> plan.fit((-3, 5, 5), (61, 130, 300))
        ((0, 6, 6), (61, 130, 256))
        >>> plan.fit((-3, 200, 5), (61, 300, 101), keep_size=True)
        ((0, 156, 6), (64, 256, 102))
        """
        m = self.magnification
        lo_s, hi_s = snap_box(lo, hi, m, mode="nearest")
        lim = [(s // f) * f for s, f in zip(self.image.shape, m)]
        thin = [f"{a} ({s} < {f})" for a, s, f in zip("zyx", self.image.shape, m) if s < f]
        if thin:
            raise ValueError(
                f"the image is thinner than one magnification step along {', '.join(thin)}, "
                "so no box fits; choose a smaller magnification."
            )
        if keep_size:
            shift = [
                -l if l < 0 else (L - h if h > L else 0) for l, h, L in zip(lo_s, hi_s, lim)
            ]
            lo_s = tuple(l + d for l, d in zip(lo_s, shift))
            hi_s = tuple(h + d for h, d in zip(hi_s, shift))
        lo_c = tuple(max(0, min(l, L - f)) for l, L, f in zip(lo_s, lim, m))
        hi_c = tuple(max(l + f, min(h, L)) for l, h, L, f in zip(lo_c, hi_s, lim, m))
        return lo_c, hi_c

    # -- serialisation ---------------------------------------------------
    def to_dict(self) -> dict:
        size = {} if self.box_size is None else {"box_size": list(self.box_size)}
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "image": self.image.to_dict(),
            "preset": self.preset.to_dict(),
            "magnification": list(self.magnification),
            "classes": [{"name": c.name, "kind": c.kind} for c in self.classes],
            "next_id": self.next_id,
            **size,
            "boxes": [b.to_dict() for b in sorted(self.boxes, key=lambda b: b.id)],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        """Build a plan from :meth:`to_dict` output; raises ``ValueError`` naming
        the first problem found."""
        if not isinstance(d, Mapping) or d.get("format") != PLAN_FORMAT:
            raise ValueError(
                f"not a napari-patchwise plan (expected \"format\": \"{PLAN_FORMAT}\")."
            )
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"plan version must be a whole number >= 1; got {version!r}.")
        if version > PLAN_VERSION:
            raise ValueError(
                f"plan version {version!r} is not supported by this napari-patchwise "
                f"(it reads versions 1..{PLAN_VERSION}); upgrade napari-patchwise."
            )
        try:
            boxes = []
            for i, b in enumerate(d.get("boxes", [])):
                try:
                    boxes.append(Box.from_dict(b))
                except (TypeError, ValueError, KeyError) as e:
                    raise ValueError(f"boxes[{i}]: {e}") from None
            return cls(
                image=ImageRef.from_dict(d["image"]),
                preset=preset_from_dict(d["preset"]),
                magnification=_triple_entry(d["magnification"], "magnification"),
                classes=tuple(ClassSpec(c["name"], c.get("kind", "instance")) for c in d["classes"]),
                boxes=tuple(boxes),
                next_id=as_box_id(d.get("next_id", 1), "next_id"),
                box_size=None if d.get("box_size") is None else _triple_entry(d["box_size"], "box_size"),
            )
        except KeyError as e:
            raise ValueError(f"missing entry {e.args[0]!r}.") from None
        except TypeError as e:
            raise ValueError(f"an entry has the wrong type ({e}).") from None
