"""Consistency of a project's images: voxel sizes, units, dtypes and intensities that differ.

A training set drawn from several volumes learns best when the volumes look
alike to the network: the same voxel size, the same bit depth, intensity
distributions that agree once each image is normalised. When they do not,
the field's advice is to resample to a common voxel size, to normalise
intensities, or to treat the images as separate *domains* (a ``domain`` tag
per image, which splits and reports respect).

Every image is summarised by an :class:`ImageProfile` (its plan's voxel size,
unit and dtype, and an :class:`IntensityProfile` sampled from a bounded number
of planes, :func:`intensity_profile`). :func:`consistency_findings` compares
the profiles of images of the same domain (images without a tag form one
group); images of different domains are never compared, but a finding says
which domains there are. Each result is a :class:`ConsistencyFinding`: a
plan-level :class:`~..findings.Finding` and the images it names.

Examples
--------
>>> a = ImageProfile("fib", (10, 10, 10), "nanometer", "uint8")
>>> b = ImageProfile("embryo", (2180, 1000, 1000), "nanometer", "uint16")
>>> for f in consistency_findings([a, b]):
...     print(f.finding.code, f.images)
voxel-size-differs ('embryo', 'fib')
dtype-differs ('embryo', 'fib')
>>> consistency_findings([a, ImageProfile("fib2", (10, 10, 10), "nanometer", "uint8")])
()
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..findings import Finding
from ..geometry.voxelsize import convert, is_physical

__all__ = [
    "INTENSITY_THRESHOLD",
    "MAX_PLANES",
    "MAX_PLANE_VOXELS",
    "VOXEL_SIZE_TOLERANCE",
    "ConsistencyFinding",
    "ImageProfile",
    "IntensityProfile",
    "consistency_findings",
    "intensity_profile",
]

#: Voxel sizes whose ratio on an axis exceeds this differ (5 %).
VOXEL_SIZE_TOLERANCE = 1.05
#: z-scored percentiles (p1, p50, p99) further apart than this many standard deviations differ.
INTENSITY_THRESHOLD = 1.0
#: Planes (along z, evenly spaced) sampled for the intensity profile.
MAX_PLANES = 8
#: Voxels read at most from each sampled plane (a strided y/x subsample beyond).
MAX_PLANE_VOXELS = 256 * 256
_AXES = "zyx"
_ADVICE_DOMAIN = ("or tag the images as separate domains (patchwise images PROJECT --set-domain "
                  "IMAGE=DOMAIN) so splits and reports keep them apart")


@dataclass(frozen=True)
class IntensityProfile:
    """Robust intensity statistics of an image, sampled (see :func:`intensity_profile`).

    Attributes
    ----------
    p1, p50, p99 : float
        Percentiles of the sampled voxels.
    mean, std : float
        Their mean and standard deviation.
    voxels : int
        How many voxels were sampled.
    """

    p1: float
    p50: float
    p99: float
    mean: float
    std: float
    voxels: int

    @property
    def zscored(self) -> tuple[float, float, float]:
        """``(p1, p50, p99)`` after z-score normalisation (nnU-Net's for non-CT images).

        A constant image has all three at 0.

        Examples
        --------
        >>> IntensityProfile(0.0, 10.0, 30.0, 10.0, 10.0, 100).zscored
        (-1.0, 0.0, 2.0)
        """
        if not self.std > 0:
            return (0.0, 0.0, 0.0)
        return tuple((v - self.mean) / self.std for v in (self.p1, self.p50, self.p99))  # type: ignore[return-value]

    @property
    def median_position(self) -> float:
        """Where the median sits after percentile normalisation (p1 -> 0, p99 -> 1), as StarDist
        and Cellpose normalise.

        Examples
        --------
        >>> IntensityProfile(0.0, 10.0, 40.0, 12.0, 10.0, 100).median_position
        0.25
        """
        span = self.p99 - self.p1
        return (self.p50 - self.p1) / span if span > 0 else 0.0


def intensity_profile(image, max_planes: int = MAX_PLANES,
                      max_plane_voxels: int = MAX_PLANE_VOXELS) -> IntensityProfile:
    """Sample an image's intensities from at most ``max_planes`` z planes, lazily.

    The planes are evenly spaced along z (first and last included); each is
    read with a y/x stride so that at most ``max_plane_voxels`` voxels come
    from it. Only those voxels are read, so numpy, zarr, HDF5 and dask arrays
    of any size cost the same bounded read.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
    max_planes, max_plane_voxels : int

    Examples
    --------
    >>> img = np.arange(4 * 100 * 100, dtype=np.uint16).reshape(4, 100, 100)
    >>> p = intensity_profile(img, max_planes=2, max_plane_voxels=100)
    >>> p.voxels, p.p1 < p.p50 < p.p99
    (200, True)
    """
    if len(image.shape) != 3:
        raise ValueError(f"an intensity profile needs a 3D image (z, y, x); got shape {tuple(image.shape)}.")
    nz, ny, nx = (int(v) for v in image.shape)
    if min(nz, ny, nx) < 1:
        raise ValueError(f"the image is empty (shape {tuple(image.shape)}).")
    planes = sorted({int(round(v)) for v in np.linspace(0, nz - 1, max(1, min(max_planes, nz)))})
    step = max(1, math.ceil(math.sqrt(ny * nx / max(1, max_plane_voxels))))
    values = []
    for z in planes:
        plane = image[z, ::step, ::step]
        plane = plane.compute() if hasattr(plane, "compute") else plane
        values.append(np.asarray(plane, dtype=np.float64).ravel())
    v = np.concatenate(values)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return IntensityProfile(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    p1, p50, p99 = (float(x) for x in np.percentile(v, (1, 50, 99)))
    return IntensityProfile(p1, p50, p99, float(v.mean()), float(v.std()), int(v.size))


@dataclass(frozen=True)
class ImageProfile:
    """What the consistency checks compare about one image.

    Attributes
    ----------
    name : str
    voxel_size : (float, float, float)
        ``(z, y, x)`` in ``unit``.
    unit : str
        A length unit (``nanometer``...) or ``pixel``.
    dtype : str
        The image's dtype name (``uint8``, ``uint16``, ``float32``...).
    intensity : IntensityProfile, optional
        ``None``: intensities are not compared for this image.
    domain : str, optional
        The image's domain tag.
    voxel_size_known : bool
        ``False``: the voxel size is a guess, not compared.
    """

    name: str
    voxel_size: tuple[float, float, float]
    unit: str
    dtype: str
    intensity: IntensityProfile | None = None
    domain: str | None = None
    voxel_size_known: bool = True


@dataclass(frozen=True)
class ConsistencyFinding:
    """A plan-level finding about several images, and the images it names (in the project's order)."""

    finding: Finding
    images: tuple[str, ...]

    def to_dict(self) -> dict:
        """The finding's record plus ``"images"``."""
        return {**self.finding.to_dict(), "images": list(self.images)}

    def __str__(self) -> str:
        return str(self.finding)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _size_text(size, unit) -> str:
    return "x".join(_fmt(v) for v in size) + f" {unit}"


def _ratio_text(ratios: Sequence[float]) -> str:
    """``'218x coarser in z, 100x coarser in y and x'`` for ratios other than about 1."""
    groups: dict[str, list[str]] = {}
    for axis, r in zip(_AXES, ratios):
        if r > VOXEL_SIZE_TOLERANCE:
            groups.setdefault(f"{_fmt(r)}x coarser", []).append(axis)
        elif r < 1 / VOXEL_SIZE_TOLERANCE:
            groups.setdefault(f"{_fmt(1 / r)}x finer", []).append(axis)
    return ", ".join(f"{k} in {' and '.join(v)}" for k, v in groups.items())


def _bits(dtype: str) -> str:
    try:
        d = np.dtype(dtype)
    except TypeError:
        return dtype
    kind = {"u": "unsigned integer", "i": "signed integer", "f": "floating point", "b": "boolean"}.get(d.kind, d.kind)
    return f"{d.itemsize * 8}-bit {kind}"


def _majority(values: Sequence, names: Sequence[str]):
    """The most common value (ties: the earliest image's)."""
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def _in_nm(p: ImageProfile) -> tuple[float, float, float] | None:
    if not is_physical(p.unit):
        return None
    return tuple(convert(v, p.unit, "nanometer") for v in p.voxel_size)  # type: ignore[return-value]


def _voxel_findings(group: list[ImageProfile], where: str) -> list[ConsistencyFinding]:
    out: list[ConsistencyFinding] = []
    known = [p for p in group if p.voxel_size_known]
    unknown = [p.name for p in group if not p.voxel_size_known]
    if unknown and len(group) > 1:
        out.append(ConsistencyFinding(Finding(
            "info", "voxel-size-not-compared", None,
            f"{', '.join(unknown)}{where}: voxel size unknown, so not compared with the other images; "
            "give it (patchwise propose IMAGE -o PROJECT --voxel-size Z,Y,X[UNIT])."), tuple(unknown)))
    physical = [p for p in known if is_physical(p.unit)]
    other = [p for p in known if not is_physical(p.unit)]
    units = sorted({p.unit for p in other})
    if other and (physical or len(units) > 1):
        names = tuple(p.name for p in known)
        out.append(ConsistencyFinding(Finding(
            "warning", "unit-differs", None,
            f"voxel sizes{where} are in different units ("
            + ", ".join(f"{p.name} {_size_text(p.voxel_size, p.unit)}" for p in known)
            + "), so they cannot be compared; give each image its physical voxel size, resample them to a "
            f"common voxel size, {_ADVICE_DOMAIN}."), names))
    for members, size_of in ((physical, _in_nm), (other, lambda p: tuple(p.voxel_size))):
        if len({p.unit for p in members}) > 1 and size_of is not _in_nm:
            continue  # different non-physical units: said above
        sizes = [size_of(p) for p in members]
        if len(members) < 2:
            continue
        rounded = [tuple(round(v, 9) for v in s) for s in sizes]
        ref_size = _majority(rounded, [p.name for p in members])
        ref = members[rounded.index(ref_size)]
        for p, s in zip(members, sizes):
            ratios = [a / b for a, b in zip(s, ref_size)]
            if all(1 / VOXEL_SIZE_TOLERANCE <= r <= VOXEL_SIZE_TOLERANCE for r in ratios):
                continue
            out.append(ConsistencyFinding(Finding(
                "warning", "voxel-size-differs", None,
                f"{p.name} is {_size_text(p.voxel_size, p.unit)}, {ref.name} is "
                f"{_size_text(ref.voxel_size, ref.unit)}{where}: {p.name} is {_ratio_text(ratios)}. "
                f"Resample to a common voxel size before training, {_ADVICE_DOMAIN}."), (p.name, ref.name)))
    return out


def _dtype_findings(group: list[ImageProfile], where: str) -> list[ConsistencyFinding]:
    dtypes = [p.dtype for p in group]
    if len(set(dtypes)) < 2:
        return []
    ref_dtype = _majority(dtypes, [p.name for p in group])
    ref = next(p for p in group if p.dtype == ref_dtype)
    return [ConsistencyFinding(Finding(
        "warning", "dtype-differs", None,
        f"{p.name} is {p.dtype} ({_bits(p.dtype)}), {ref.name} is {ref.dtype} ({_bits(ref.dtype)}){where}: "
        "their intensity ranges differ. Normalise intensities per image (nnU-Net's z-score, percentile "
        f"normalisation for StarDist and Cellpose; never a fixed range), {_ADVICE_DOMAIN}."),
        (p.name, ref.name)) for p in group if p.dtype != ref_dtype]


def _intensity_findings(group: list[ImageProfile], where: str, threshold: float) -> list[ConsistencyFinding]:
    sampled = [p for p in group if p.intensity is not None and p.intensity.voxels > 0]
    if len(sampled) < 2:
        return []
    z = np.array([p.intensity.zscored for p in sampled])  # type: ignore[union-attr]
    centre = np.median(z, axis=0)
    # an image is compared with the image closest to the group's median (the typical one)
    ref_i = int(np.argmin(np.abs(z - centre).max(axis=1)))
    ref = sampled[ref_i]
    out = []
    for i, p in enumerate(sampled):
        if i == ref_i:
            continue
        diff = np.abs(z[i] - z[ref_i])
        if diff.max() <= threshold:
            continue
        worst = ("p1", "p50", "p99")[int(np.argmax(diff))]
        a, b = p.intensity, ref.intensity
        out.append(ConsistencyFinding(Finding(
            "warning", "intensity-differs", None,
            f"{p.name}'s intensities differ from {ref.name}'s{where} even after z-score normalisation: "
            f"p1/p50/p99 at {'/'.join(f'{v:+.2f}' for v in z[i])} vs "
            f"{'/'.join(f'{v:+.2f}' for v in z[ref_i])} standard deviations ({worst} differs by "
            f"{diff.max():.2f} > {threshold:g}; median at {a.median_position:.2f} vs "  # type: ignore[union-attr]
            f"{b.median_position:.2f} of the p1..p99 range). Check the acquisitions, normalise per image "  # type: ignore[union-attr]
            f"before training, {_ADVICE_DOMAIN}."), (p.name, ref.name)))
    return out


def consistency_findings(profiles: Sequence[ImageProfile],
                         intensity_threshold: float = INTENSITY_THRESHOLD) -> tuple[ConsistencyFinding, ...]:
    """Findings about images of the same domain that differ, and which domains there are.

    Images are grouped by domain tag (untagged images form one group);
    within a group, each image whose voxel size (per axis, beyond
    :data:`VOXEL_SIZE_TOLERANCE`, in a common physical unit) or dtype differs
    from the group's most common one is named with how far it is, as is each
    image whose z-scored ``p1/p50/p99`` lie more than ``intensity_threshold``
    standard deviations from those of the group's most typical image. Voxel
    sizes in ``pixel`` units are compared only with each other; an unknown
    voxel size is not compared (an info says so). When any image has a domain
    tag an info lists the domains.

    Parameters
    ----------
    profiles : sequence of ImageProfile
        The images, in the project's order.
    intensity_threshold : float
        In standard deviations of each image's own intensities.

    Returns
    -------
    tuple of ConsistencyFinding
        Domains first, then each group's voxel-size, dtype and intensity findings.

    Examples
    --------
    >>> flat = IntensityProfile(90.0, 100.0, 110.0, 100.0, 5.0, 1000)     # z: -2/0/+2
    >>> skewed = IntensityProfile(0.0, 1.0, 200.0, 10.0, 30.0, 1000)      # z: -0.33/-0.3/+6.3
    >>> a = ImageProfile("em", (10, 10, 10), "nanometer", "uint8", flat, domain="em")
    >>> b = ImageProfile("lm", (2, 0.5, 0.5), "micrometer", "uint16", skewed, domain="lm")
    >>> [f.finding.code for f in consistency_findings([a, b])]
    ['domains']
    >>> c = ImageProfile("em2", (10, 10, 10), "nanometer", "uint8", skewed, domain="em")
    >>> [(f.finding.code, f.images) for f in consistency_findings([a, c])]
    [('domains', ('em', 'em2')), ('intensity-differs', ('em2', 'em'))]
    """
    groups: dict[str | None, list[ImageProfile]] = {}
    for p in profiles:
        groups.setdefault(p.domain, []).append(p)
    out: list[ConsistencyFinding] = []
    if any(d is not None for d in groups):
        parts = [f"{d if d is not None else '(no domain)'}: {', '.join(p.name for p in ps)}"
                 for d, ps in groups.items()]
        out.append(ConsistencyFinding(Finding(
            "info", "domains", None,
            f"{len(groups)} domain{'s' if len(groups) != 1 else ''} ({'; '.join(parts)}); images of "
            "different domains are not compared on voxel size, dtype or intensity."),
            tuple(p.name for p in profiles)))
    for domain, group in groups.items():
        if len(group) < 2:
            continue
        where = "" if len(groups) == 1 else (
            f" (domain {domain})" if domain is not None else " (images without a domain)")
        out.extend(_voxel_findings(group, where))
        out.extend(_dtype_findings(group, where))
        out.extend(_intensity_findings(group, where, intensity_threshold))
    return tuple(out)
