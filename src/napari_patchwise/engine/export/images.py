"""Exporting a project of several images: which images, case names, splits grouped by image.

A project with several images exports into one dataset. Its cases are named
after their image (:func:`image_case_name`, ``{image}_box_{id:04d}``), so
boxes of different images (whose ids may repeat) never collide; a project of
one image keeps the names it always had (``box_{id:04d}``), so its earlier
exports still extend.

Splits are grouped by image by default when at least three images are
exported (:func:`default_split_by`): every box of an image lands in the same
split, so neighbouring boxes of one volume never sit in both train and
validation (:func:`assign_image_splits`). Whole images can be held out as
test.

Examples
--------
>>> image_case_name("cho_t000", 7)
'cho_t000_box_0007'
>>> default_split_by(3), default_split_by(2)
('image', 'box')
>>> splits = assign_image_splits(["a", "b", "c", "d", "e"], (0.8, 0.2, 0), seed=0, test_images=["e"])
>>> splits["e"], sorted(splits.values()).count("val")
('test', 1)
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .model import SPLITS, ExportError
from .splits import assign_domain_splits, assign_splits, check_fractions, held_out_and_kept, largest_remainder

#: How splits are drawn: whole images, or single boxes.
SPLIT_BY = ("image", "box")
#: From how many exported images splits are grouped by image unless told otherwise.
IMAGE_SPLIT_FROM = 3


def image_case_name(image: str, box_id: int) -> str:
    """The case name of a box of a project with several images.

    Image names are safe file names (letters, digits, ``_``, ``-``, ``.``), so
    the case name is a valid nnU-Net case identifier (files
    ``{case}_0000.tiff``).

    Examples
    --------
    >>> image_case_name("fib", 12)
    'fib_box_0012'
    """
    return f"{image}_box_{int(box_id):04d}"


def default_split_by(n_images: int) -> str:
    """``'image'`` from :data:`IMAGE_SPLIT_FROM` exported images on, else ``'box'``.

    Examples
    --------
    >>> [default_split_by(n) for n in (1, 2, 3, 10)]
    ['box', 'box', 'image', 'image']
    """
    return "image" if n_images >= IMAGE_SPLIT_FROM else "box"


def _listed(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def select_images(names: Sequence[str], wanted: Iterable[str] = (), what: str = "images") -> tuple[str, ...]:
    """The images to export: ``wanted`` (in the project's order), or all of them.

    Raises
    ------
    ExportError
        Naming the images the project does not hold, and the ones it does.

    Examples
    --------
    >>> select_images(("a", "b", "c"), ["c", "a"])
    ('a', 'c')
    >>> select_images(("a", "b"), ["x"])
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: images x: the project has no such image; its images are a, b.
    """
    wanted = list(dict.fromkeys(wanted))
    unknown = [n for n in wanted if n not in names]
    if unknown:
        raise ExportError(f"{what} {_listed(unknown)}: the project has no such image; its images are "
                          f"{_listed(names)}.")
    return tuple(n for n in names if n in wanted) if wanted else tuple(names)


def check_split_by(split_by: str | None, n_images: int) -> str:
    """The split grouping to use: ``split_by``, or :func:`default_split_by`.

    Examples
    --------
    >>> check_split_by(None, 4), check_split_by("box", 4)
    ('image', 'box')
    >>> check_split_by("volume", 4)
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: split_by takes image or box; got 'volume'.
    """
    if split_by is None:
        return default_split_by(n_images)
    if split_by not in SPLIT_BY:
        raise ExportError(f"split_by takes {' or '.join(SPLIT_BY)}; got {split_by!r}.")
    return split_by


def image_split_counts(n: int, fractions) -> list[int]:
    """How many of ``n`` images each split gets (largest remainder).

    Validation gets at least one image when its share is positive and train
    keeps at least one.

    Examples
    --------
    >>> image_split_counts(3, (0.8, 0.2, 0)), image_split_counts(2, (0.8, 0.2, 0))
    ([2, 1, 0], [1, 1, 0])
    >>> image_split_counts(1, (0.8, 0.2, 0))
    [1, 0, 0]
    """
    fr = check_fractions(fractions)
    counts = largest_remainder(n, fr)
    if fr[1] > 0 and counts[1] == 0 and counts[0] >= 2:
        counts[0] -= 1
        counts[1] += 1
    return counts


def assign_image_splits(
    images: Sequence[str],
    fractions=(0.8, 0.2, 0.0),
    seed: int = 0,
    test_images: Iterable[str] = (),
    existing: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Give every image a split; all its boxes take it.

    Parameters
    ----------
    images : sequence of str
        The exported images.
    fractions : three numbers
        Train / val / test shares of the images (normalised).
    seed : int
        Same seed and images, same splits.
    test_images : iterable of str
        Images held out as test.
    existing : mapping of str to str, optional
        Splits of images exported before; they keep them.

    Raises
    ------
    ValueError
        When an image held out as test was exported before in another split.

    Examples
    --------
    >>> assign_image_splits(["a", "b", "c"], (0.8, 0.2, 0), existing={"b": "val"})["b"]
    'val'
    >>> assign_image_splits(["a", "b"], test_images=["a"], existing={"a": "train"})
    Traceback (most recent call last):
    ...
    ValueError: image a is held out as test but was already exported as train; export with overwrite to move it.
    """
    fr, _, test_images, out = held_out_and_kept(images, fractions, test_images, existing)
    held = set(out)
    free = [n for n in images if n not in held]
    target = image_split_counts(len([n for n in images if n not in test_images]), fr)
    fixed = [sum(out[n] == s for n in out if n not in test_images) for s in SPLITS]
    deficit = [max(0, t - f) for t, f in zip(target, fixed)]
    if sum(deficit) != len(free):
        deficit = largest_remainder(len(free), deficit if sum(deficit) else fr)
    rng = np.random.default_rng(seed)
    order = [free[j] for j in rng.permutation(len(free))]
    start = 0
    for split, n in zip(SPLITS, deficit):
        for name in order[start:start + n]:
            out[name] = split
        start += n
    return {n: out[n] for n in images}


def image_existing_splits(case_splits: Mapping[str, tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Per image, the split its already exported cases hold (and warnings).

    ``case_splits`` maps a case to ``(image, split)``. An image whose cases
    sit in several splits (an earlier export split by box) keeps its most
    common one for new cases, with a warning.

    Examples
    --------
    >>> image_existing_splits({"a_box_0001": ("a", "val"), "a_box_0002": ("a", "val")})
    ({'a': 'val'}, [])
    >>> image_existing_splits({"a_box_0001": ("a", "val"), "a_box_0002": ("a", "train"),
    ...                        "a_box_0003": ("a", "train")})[1]  # doctest: +NORMALIZE_WHITESPACE
    ['image a has cases in train and val already (an export split by box); its new cases go to train.']
    """
    per: dict[str, Counter] = {}
    for image, split in case_splits.values():
        per.setdefault(image, Counter())[split] += 1
    out, warnings = {}, []
    for image, counts in per.items():
        split = max(SPLITS, key=lambda s: (counts[s], -SPLITS.index(s)))
        out[image] = split
        if len(counts) > 1:
            warnings.append(f"image {image} has cases in {' and '.join(sorted(counts))} already (an export "
                            f"split by box); its new cases go to {split}.")
    return out, warnings


def split_cases(units, fractions, seed: int, split_by: str, test_images: Sequence[str] = (),
                test_boxes: Iterable[int] = (), existing: Mapping[str, str] | None = None,
                images_of: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Case name to split for every exported unit, and warnings.

    Parameters
    ----------
    units : sequence of (source, Box, str)
        Each exported box with its image (anything with a ``name``) and case name.
    fractions, seed
        As for :func:`~.splits.assign_splits`.
    split_by : {'image', 'box'}
    test_images : sequence of str
        Images whose cases are all ``test``.
    test_boxes : iterable of int, or of (str, int)
        Box ids pinned to test (one image exported), or (image, box id) pairs.
    existing : mapping of str to str
        Split of each case already exported (kept).
    images_of : mapping of str to str
        Image of each case already exported.

    Raises
    ------
    ValueError
        When a held-out image or pinned box was exported before in another split.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> from napari_patchwise.engine import Box
    >>> units = [(NS(name=n), Box(i, (0, 0, 0), (4, 4, 4)), image_case_name(n, i))
    ...          for n in ("a", "b", "c") for i in (1, 2)]
    >>> splits, _ = split_cases(units, (0.8, 0.2, 0), 0, "image", test_images=["c"])
    >>> sorted({(case[0], s) for case, s in splits.items()})
    [('a', 'train'), ('b', 'val'), ('c', 'test')]
    """
    existing = dict(existing or {})
    images_of = dict(images_of or {})
    test_boxes = set(test_boxes)
    warnings: list[str] = []
    out: dict[str, str] = {}
    held = set(test_images)
    for src, box, case in units:
        if src.name in held:
            if existing.get(case, "test") != "test":
                raise ValueError(f"image {src.name} is held out as test but its box {box.id} was already "
                                 f"exported as {existing[case]}; export with overwrite to move it.")
            out[case] = "test"
    rest = [u for u in units if u[2] not in out]
    if split_by == "image":
        names = list(dict.fromkeys(src.name for src, _, _ in units))
        old, warnings = image_existing_splits({c: (images_of[c], s) for c, s in existing.items()
                                               if c in images_of})
        kept = {n: s for n, s in old.items() if n in names and n not in held}
        domains = {src.name: getattr(src, "domain", None) for src, _, _ in units}
        per_image = (assign_domain_splits(names, domains, fractions, seed, test_images, kept)  # balanced by domain
                     if any(d is not None for d in domains.values())
                     else assign_image_splits(names, fractions, seed, test_images, existing=kept))
        for src, box, case in rest:
            out[case] = existing.get(case) or per_image[src.name]
        if test_boxes:
            for src, box, case in rest:
                if box.id in test_boxes or (src.name, box.id) in test_boxes:
                    if existing.get(case, "test") != "test":
                        raise ValueError(f"box {box.id} is pinned to the test split but was already exported "
                                         f"as {existing[case]}; export with overwrite to move it.")
                    out[case] = "test"
        return out, warnings
    # by box: each unit gets a stand-in id, so box ids repeating across images stay apart
    stand_in = {case: k for k, (_, _, case) in enumerate(rest, start=1)}
    boxes = [dataclasses.replace(box, id=stand_in[case]) for _, box, case in rest]
    pins = [stand_in[case] for src, box, case in rest if box.id in test_boxes or (src.name, box.id) in test_boxes]
    got = assign_splits(boxes, fractions, seed, pins,
                        existing={stand_in[c]: s for c, s in existing.items() if c in stand_in})
    out.update({case: got[stand_in[case]] for _, _, case in rest})
    return out, warnings
