"""What each image of a project holds (boxes, annotated voxels, domain, strata) and the collection's totals.

The Plan step's image list shows one row per image and a summary line under
it; ``annotated voxels`` are counted as :func:`.project_images.annotated_voxels`
counts them (any class, ``background`` or ``ignore``).

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> from napari_patchwise.engine.plan.project_images import add_image
>>> plan = Plan(ImageRef((4, 8, 8), path="a.tif")).add_boxes([((0, 0, 0), (4, 8, 8))])
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, plan)
...     _ = add_image(folder, Plan(ImageRef((2, 8, 8), path="b.tif")), domain="em")
...     open_annotations(folder, image="b")["nuclei"][0, 0, :3] = 5
...     stats = image_stats(folder)
>>> [(s.name, s.boxes, s.annotated, s.domain) for s in stats]
[('a', 1, 0, None), ('b', 0, 3, 'em')]
>>> summary_text(stats)
'2 images · 1 box · 3 annotated voxels'
"""

from __future__ import annotations

from dataclasses import dataclass

from .annotation_store import ANNOTATIONS, open_annotations
from .collection import Collection
from .plan_file import load_collection, project_folder
from .project_images import annotated_voxels


@dataclass(frozen=True)
class ImageStats:
    """One image of a project: its name, boxes, annotated voxels (at the magnification), domain, strata."""

    name: str
    boxes: int
    annotated: int
    domain: str | None = None
    strata: frozenset = frozenset()


def image_stats(folder, collection: Collection | None = None) -> list[ImageStats]:
    """Every image's :class:`ImageStats`, in the project's order (``collection``: as saved by default).

    An image without layers yet counts no annotated voxels. Reads only the
    chunks the layers store; nothing is written.
    """
    folder = project_folder(folder)
    collection = load_collection(folder) if collection is None else collection
    out = []
    for e in collection.images:
        n = 0
        if (folder / ANNOTATIONS / e.name).is_dir():
            n = annotated_voxels(open_annotations(folder, e.plan, mode="r", image=e.name), e.plan)
        strata = frozenset(b.stratum for b in e.plan.boxes if b.stratum is not None)
        out.append(ImageStats(e.name, len(e.plan.boxes), n, e.domain, strata))
    return out


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary_text(stats: list[ImageStats]) -> str:
    """One line over the images: how many, their boxes and annotated voxels, and the strata covered
    (when the plans record strata).

    Examples
    --------
    >>> summary_text([ImageStats("a", 3, 10, strata=frozenset({0, 1})), ImageStats("b", 2, 0, strata=frozenset({1, 2}))])
    '2 images · 5 boxes · 10 annotated voxels · 3 strata covered'
    """
    parts = [_count(len(stats), "image"), _count(sum(s.boxes for s in stats), "box").replace("boxs", "boxes"),
             _count(sum(s.annotated for s in stats), "annotated voxel")]
    strata = frozenset().union(*(s.strata for s in stats)) if stats else frozenset()
    if strata:
        parts.append(f"{_count(len(strata), 'stratum').replace('stratums', 'strata')} covered")
    return " · ".join(parts)
