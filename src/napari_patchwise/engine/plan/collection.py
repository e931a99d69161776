"""A project's images: a :class:`Collection` of named :class:`ImageEntry` in order.

Each image keeps its own :class:`Plan` (reference, shape, dtype, voxel size,
boxes); the preset, magnification and classes are the collection's and must
be the same on every image. Like a plan, a collection is immutable: every edit
returns a new one. :meth:`Collection.to_dict` / :meth:`Collection.from_dict`
define ``plan.json`` from version 2 on; a version 1 plan (one image, no names)
reads as a collection of one image named after the image file.

Examples
--------
>>> from napari_patchwise.engine import ImageRef, Plan
>>> coll = Collection.from_plan(Plan(ImageRef((8, 64, 64), path="raw/cells.tif")))
>>> coll = coll.add_image(Plan(ImageRef((4, 32, 32), path="/data/fib.zarr")), domain="fib-sem")
>>> coll.names
('cells', 'fib')
>>> coll.image("fib").domain, coll.plan("fib").image.shape
('fib-sem', (4, 32, 32))
>>> Collection.from_dict(coll.to_dict()) == coll
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from .image_ref import ImageRef
from .plan import PLAN_FORMAT, PLAN_VERSION, Plan

#: ``plan.json`` version holding a collection of named images (version 1 held one plan).
COLLECTION_VERSION = 2
#: What a plan holds for the whole collection (the rest belongs to each image).
SHARED_KEYS = ("preset", "magnification", "classes")
#: Image names: a file-name stem every file system takes (they name folders in annotations.zarr).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
_RESERVED = {"con", "prn", "aux", "nul", "zarr.json",
             *(f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10))}
#: File endings left out of a name taken from an image path.
_IMAGE_SUFFIXES = {".tif", ".tiff", ".ome", ".zarr", ".n5", ".h5", ".hdf5", ".hdf", ".mrc",
                   ".rec", ".npy", ".czi", ".lif", ".nd2", ".gz", ".nrrd", ".nhdr", ".nii", ".map"}


def check_image_name(name) -> str:
    """``name`` if it may name an image, else a ``ValueError`` naming the rule.

    Examples
    --------
    >>> check_image_name("fib_crop-1")
    'fib_crop-1'
    >>> check_image_name("../x")
    Traceback (most recent call last):
    ...
    ValueError: image name '../x' is not a safe file name: use letters, digits, '_', '-' and '.', starting with a letter or digit (at most 100 characters), e.g. 'cells_t000'.
    """
    if (not isinstance(name, str) or not _NAME.match(name) or name.endswith(".")
            or name.lower() in _RESERVED):
        raise ValueError(
            f"image name {name!r} is not a safe file name: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit (at most 100 characters), e.g. 'cells_t000'."
        )
    return name


def default_image_name(image: ImageRef) -> str:
    """A name for an image: its file's stem made safe, or ``"image"`` when it has no path.

    Examples
    --------
    >>> default_image_name(ImageRef((4, 8, 8), path="/data/CHO cells.ome.tif"))
    'CHO_cells'
    >>> default_image_name(ImageRef((4, 8, 8)))
    'image'
    """
    if not image.path:
        return "image"
    p = PurePath(image.path.rstrip("/\\"))
    stem = p.name
    while PurePath(stem).suffix.lower() in _IMAGE_SUFFIXES:
        stem = stem[: -len(PurePath(stem).suffix)]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:100].rstrip(".")
    try:
        return check_image_name(stem)
    except ValueError:
        return "image"


@dataclass(frozen=True)
class ImageEntry:
    """One image of a collection: its name, its plan, and an optional domain tag.

    Parameters
    ----------
    name : str
        A safe file-name stem (:func:`check_image_name`), unique in the collection.
    plan : Plan
        The image's reference and boxes (and the collection's preset, magnification, classes).
    domain : str or None
        A tag grouping images acquired alike (e.g. ``"fib-sem"``).
    """

    name: str
    plan: Plan
    domain: str | None = None

    def __post_init__(self):
        check_image_name(self.name)
        if not isinstance(self.plan, Plan):
            raise TypeError(f"image {self.name!r}: expected a Plan; got {type(self.plan).__name__}.")
        if self.domain is not None and (not isinstance(self.domain, str) or not self.domain.strip()):
            raise ValueError(f"image {self.name!r}: domain must be non-empty text or null; got {self.domain!r}.")


def _settings(plan: Plan) -> tuple:
    return plan.preset, plan.magnification, plan.classes


@dataclass(frozen=True)
class Collection:
    """The images of a project, in order (at least one).

    Every image has the same preset, magnification and classes; a differing
    one is refused with a ``ValueError`` naming the image and the fix.

    Examples
    --------
    >>> from napari_patchwise.engine import ClassSpec, ImageRef, Plan
    >>> coll = Collection.from_plan(Plan(ImageRef((4, 8, 8))))
    >>> coll.add_image(Plan(ImageRef((4, 8, 8)), classes=(ClassSpec("mito", "semantic"),)), "b")
    Traceback (most recent call last):
    ...
    ValueError: image 'b' has classes ['mito'], magnification (1, 1, 1) and preset 'instance', but image 'image' has classes ['nuclei'], magnification (1, 1, 1) and preset 'instance'; every image of a project shares them: give 'b' the same ones (or put it in a project of its own).
    """

    images: tuple[ImageEntry, ...]

    def __post_init__(self):
        images = tuple(self.images)
        object.__setattr__(self, "images", images)
        if not images:
            raise ValueError("a project holds at least one image.")
        seen: dict[str, str] = {}
        for e in images:
            if not isinstance(e, ImageEntry):
                raise TypeError(f"expected ImageEntry items; got {type(e).__name__}.")
            if e.name.lower() in seen:
                raise ValueError(
                    f"two images are named {seen[e.name.lower()]!r} and {e.name!r} (names are told "
                    "apart without regard to case); give one another name."
                )
            seen[e.name.lower()] = e.name
        first = images[0]
        for e in images[1:]:
            if _settings(e.plan) != _settings(first.plan):
                raise ValueError(
                    f"image {e.name!r} has {_describe(e.plan)}, but image {first.name!r} has "
                    f"{_describe(first.plan)}; every image of a project shares them: give "
                    f"{e.name!r} the same ones (or put it in a project of its own)."
                )

    # -- access ------------------------------------------------------------
    @classmethod
    def from_plan(cls, plan: Plan, name: str | None = None, domain: str | None = None) -> Collection:
        """A collection of one image (named :func:`default_image_name` unless ``name`` is given)."""
        return cls((ImageEntry(name or default_image_name(plan.image), plan, domain),))

    @property
    def names(self) -> tuple[str, ...]:
        """The image names, in order."""
        return tuple(e.name for e in self.images)

    def image(self, name: str) -> ImageEntry:
        """The entry named ``name`` (``KeyError`` naming the images there are)."""
        for e in self.images:
            if e.name == name:
                return e
        raise KeyError(f"no image named {name!r} in the project; its images are {', '.join(self.names)}.")

    def plan(self, name: str) -> Plan:
        """The plan of the image named ``name``."""
        return self.image(name).plan

    def unique_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted_2``, ``wanted_3``… when an image already has that name.

        Examples
        --------
        >>> from napari_patchwise.engine import ImageRef, Plan
        >>> Collection.from_plan(Plan(ImageRef((4, 8, 8)))).unique_name("image")
        'image_2'
        """
        taken = {n.lower() for n in self.names}
        name, i = wanted, 1
        while name.lower() in taken:
            i += 1
            name = f"{wanted[:100 - len(str(i)) - 1]}_{i}"
        return check_image_name(name)

    # -- edits -------------------------------------------------------------
    def add_image(self, plan: Plan, name: str | None = None, domain: str | None = None) -> Collection:
        """Add an image at the end. Without ``name`` it is named after its file (made unique);
        a ``name`` already taken is refused."""
        if name is None:
            name = self.unique_name(default_image_name(plan.image))
        elif isinstance(name, str) and name.lower() in {n.lower() for n in self.names}:
            taken = next(n for n in self.names if n.lower() == name.lower())
            also = "" if taken == name else " (names are told apart without regard to case)"
            raise ValueError(f"the project already has an image named {taken!r}{also}; choose another name.")
        return Collection((*self.images, ImageEntry(name, plan, domain)))

    def remove_image(self, name: str) -> Collection:
        """Remove the image named ``name`` (a project keeps at least one image)."""
        self.image(name)
        if len(self.images) == 1:
            raise ValueError(f"{name!r} is the project's only image; a project keeps at least one.")
        return Collection(tuple(e for e in self.images if e.name != name))

    def replace(self, name: str, plan: Plan | None = None, *, domain: Any = ...) -> Collection:
        """The collection with image ``name``'s plan (and/or domain) replaced.

        A one-image collection takes any plan (its classes may change); with
        several images the plan must keep the shared preset, magnification and classes.

        Examples
        --------
        >>> from napari_patchwise.engine import ImageRef, Plan
        >>> coll = Collection.from_plan(Plan(ImageRef((4, 8, 8))))
        >>> plan, _ = coll.plan("image").add_box((0, 0, 0), (4, 4, 4))
        >>> len(coll.replace("image", plan).plan("image").boxes)
        1
        """
        old = self.image(name)
        entry = ImageEntry(name, old.plan if plan is None else plan,
                           old.domain if domain is ... else domain)
        return Collection(tuple(entry if e.name == name else e for e in self.images))

    def set_domains(self, domains: Mapping[str, str | None]) -> Collection:
        """The collection with the domain tags ``domains`` (image name to tag; ``None`` clears it).

        Every name must be an image of the collection; an unknown one is
        refused (``ValueError`` naming it and the images there are), nothing changed.

        Examples
        --------
        >>> from napari_patchwise.engine import ImageRef, Plan
        >>> coll = Collection.from_plan(Plan(ImageRef((4, 8, 8))), "a").add_image(Plan(ImageRef((4, 8, 8))), "b")
        >>> [e.domain for e in coll.set_domains({"b": "fib-sem"}).images]
        [None, 'fib-sem']
        >>> coll.set_domains({"c": "x"})
        Traceback (most recent call last):
        ...
        ValueError: no image named 'c' in the project; its images are a, b.
        """
        unknown = [n for n in domains if n not in self.names]
        if unknown:
            raise ValueError(f"no image named {unknown[0]!r} in the project; its images are {', '.join(self.names)}.")
        return Collection(tuple(ImageEntry(e.name, e.plan, domains[e.name]) if e.name in domains else e
                                for e in self.images))

    # -- serialisation -----------------------------------------------------
    def to_dict(self) -> dict:
        """``plan.json`` (version :data:`COLLECTION_VERSION`): the shared settings, then the images."""
        first = self.images[0].plan.to_dict()
        images = []
        for e in self.images:
            d = e.plan.to_dict()
            own = {k: v for k, v in d.items() if k not in ("format", "version", *SHARED_KEYS)}
            images.append({"name": e.name, "domain": e.domain, **own})
        return {"format": PLAN_FORMAT, "version": COLLECTION_VERSION,
                **{k: first[k] for k in SHARED_KEYS}, "images": images}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Collection:
        """Read :meth:`to_dict` output, or an earlier plan version as a collection of one image.

        Raises ``ValueError`` naming the first problem found (and the image it is in).

        Examples
        --------
        >>> from napari_patchwise.engine import ImageRef, Plan
        >>> old = Plan(ImageRef((4, 8, 8), path="stack.tif")).to_dict()   # a version 1 plan
        >>> Collection.from_dict(old).names
        ('stack',)
        """
        if not isinstance(d, Mapping) or d.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a napari-patchwise plan (expected \"format\": \"{PLAN_FORMAT}\").")
        version = d.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= PLAN_VERSION:
            return cls.from_plan(Plan.from_dict(d))
        if version != COLLECTION_VERSION or isinstance(version, bool):
            if isinstance(version, int) and not isinstance(version, bool) and version > COLLECTION_VERSION:
                raise ValueError(
                    f"plan version {version!r} is not supported by this napari-patchwise "
                    f"(it reads versions 1..{COLLECTION_VERSION}); upgrade napari-patchwise."
                )
            raise ValueError(f"plan version must be a whole number >= 1; got {version!r}.")
        entries = d.get("images")
        if not isinstance(entries, list) or not entries:
            raise ValueError("\"images\" must be a list of at least one image.")
        missing = [k for k in SHARED_KEYS if k not in d]
        if missing:
            raise ValueError(f"missing entry {missing[0]!r}.")
        shared = {k: d[k] for k in SHARED_KEYS}
        images = []
        for i, entry in enumerate(entries):
            where = f"images[{i}]"
            if not isinstance(entry, Mapping):
                raise ValueError(f"{where} must be an object with a name, an image and boxes.")
            where = f"images[{i}] ({entry.get('name')!r})"
            own = {k: v for k, v in entry.items() if k not in ("name", "domain", "format", "version")}
            try:
                plan = Plan.from_dict({"format": PLAN_FORMAT, "version": PLAN_VERSION, **shared, **own})
                images.append(ImageEntry(entry.get("name"), plan, entry.get("domain")))
            except (ValueError, TypeError) as e:
                raise ValueError(f"{where}: {e}") from None
        return cls(tuple(images))


def parse_domains(text: str) -> dict[str, str | None]:
    """``IMAGE=DOMAIN[,IMAGE=DOMAIN]`` as a mapping; ``IMAGE=`` (nothing after ``=``) clears the tag.

    Examples
    --------
    >>> parse_domains("fib=em, embryo=confocal,old=")
    {'fib': 'em', 'embryo': 'confocal', 'old': None}
    >>> parse_domains("fib")
    Traceback (most recent call last):
    ...
    ValueError: --set-domain takes IMAGE=DOMAIN[,IMAGE=DOMAIN] (IMAGE= clears a tag), e.g. fib=em,embryo=confocal; got 'fib'.
    """
    out: dict[str, str | None] = {}
    for part in str(text).split(","):
        name, eq, domain = part.partition("=")
        name, domain = name.strip(), domain.strip()
        if not eq or not name or name in out:
            why = f"{name!r} is named twice" if name in out and eq else None
            raise ValueError("--set-domain takes IMAGE=DOMAIN[,IMAGE=DOMAIN] (IMAGE= clears a tag), e.g. "
                             f"fib=em,embryo=confocal; got {text!r}" + (f" ({why})." if why else "."))
        out[name] = domain or None
    return out


def _describe(plan: Plan) -> str:
    return (f"classes {[c.name for c in plan.classes]}, magnification {plan.magnification} "
            f"and preset {plan.preset.name!r}")
