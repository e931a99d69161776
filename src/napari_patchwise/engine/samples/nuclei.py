"""Deterministic synthetic 3D fluorescence nuclei stack with known regions.

The volume is laid out on a 4 x 4 grid of (y, x) cells that span all z planes::

    dense    dense    sparse   sparse
    dense    dense    sparse   sparse
    low_snr  low_snr  empty    saturated (a thin y band inside the cell)
    low_snr  low_snr  blank    edge      (blank = middle z range of the cell)

Every region is returned as a half-open ``(lo, hi)`` voxel box so that tests
and demos can check that image statistics find what was planted.

:func:`make_rare_sample` is the opposite case: an ordinary medium-density
background with each character planted once, in a small patch of about two
64³ boxes (see its docstring for the layout). It is the test bed for
proposals that must find rare regions among many typical ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..geometry.regions import region_from_bounds

__all__ = ["SAMPLE_SHAPE", "SampleVolume", "make_sample"]

SAMPLE_SHAPE = (96, 384, 384)
VOXEL_SIZE = (2.0, 0.5, 0.5)
_MIN_AXIS = 16
_MAX = int(np.iinfo(np.uint16).max)
_BLOCKED = -1  # temporary label for voxels where no nucleus may be drawn
_READ_NOISE = 6.0  # camera read noise (grey values)
_LOW_SNR_NOISE = 50.0  # extra noise standard deviation in the low-SNR region
# region name -> (target foreground fraction, (min, max) nucleus amplitude)
_POPULATIONS = {
    "dense": (0.30, (500.0, 1500.0)),
    "sparse": (0.02, (500.0, 1500.0)),
    "low_snr": (0.12, (60.0, 140.0)),
    "saturated_cell": (0.10, (500.0, 1500.0)),
    "blank_cell": (0.10, (500.0, 1500.0)),
    "edge": (0.10, (500.0, 1500.0)),
}

Box = tuple[tuple[int, int, int], tuple[int, int, int]]


@dataclass(frozen=True, eq=False)
class SampleVolume:
    """A synthetic image, its ground truth and where each character was planted.

    Attributes
    ----------
    image : ndarray of uint16, shape (z, y, x)
        Blurred, noisy fluorescence intensities.
    labels : ndarray of int32, same shape as ``image``
        Ground-truth instance ids; 0 is background. Every id is one
        face-connected object. Voxels inside the ``"blank"`` and
        ``"saturated"`` boxes are 0 because nothing is visible there.
    voxel_size : tuple of float
        Physical voxel size (z, y, x) in micrometres.
    regions : dict of str to ((int, int, int), (int, int, int))
        Region name -> half-open ``(lo, hi)`` box in voxels. Keys are
        ``"dense"``, ``"sparse"``, ``"low_snr"``, ``"saturated"``, ``"blank"``,
        ``"empty"`` and ``"edge"``.

    Notes
    -----
    ``eq=False`` keeps the identity comparison: element-wise ``==`` on the
    arrays would make dataclass equality ambiguous.
    """

    image: np.ndarray
    labels: np.ndarray
    voxel_size: tuple[float, float, float]
    regions: dict[str, Box]


def _check_shape(shape) -> tuple[int, int, int]:
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    ok = len(dims) == 3 and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and d > 0
        for d in dims
    )
    if not ok:
        raise ValueError(
            f"shape must be 3 positive integers (z, y, x), got {shape!r}; "
            f"pass e.g. shape={SAMPLE_SHAPE}"
        )
    dims = tuple(int(d) for d in dims)
    if min(dims) < _MIN_AXIS:
        raise ValueError(
            f"shape {dims} is too small: every axis needs at least {_MIN_AXIS} voxels "
            f"to hold the sample regions; pass e.g. shape=(24, 96, 96)"
        )
    return dims


def _layout(shape: tuple[int, int, int]) -> dict[str, Box]:
    """Return the region boxes (plus the two host cells) for ``shape``."""
    nz, ny, nx = shape
    ys = [round(ny * i / 4) for i in range(5)]
    xs = [round(nx * i / 4) for i in range(5)]

    def cell(r0, r1, c0, c1, z0=0, z1=nz):
        return (z0, ys[r0], xs[c0]), (z1, ys[r1], xs[c1])

    band = max(2, ny // 48)
    ymid = (ys[2] + ys[3]) // 2
    sat_y0 = max(ys[2], ymid - band // 2)
    return {
        "dense": cell(0, 2, 0, 2),
        "sparse": cell(0, 2, 2, 4),
        "low_snr": cell(2, 4, 0, 2),
        "empty": cell(2, 3, 2, 3),
        "saturated": ((0, sat_y0, xs[3]), (nz, min(ys[3], sat_y0 + band), nx)),
        "blank": cell(3, 4, 2, 3, z0=3 * nz // 8, z1=max(3 * nz // 8 + 1, 5 * nz // 8)),
        "edge": cell(3, 4, 3, 4),
        "saturated_cell": cell(2, 3, 3, 4),
        "blank_cell": cell(3, 4, 2, 3),
    }


def _paint(labels, centre, radii, angle, nid, min_keep, max_overlap=0.2) -> int:
    """Draw one ellipsoid into the still-free voxels of its bounding box.

    The ellipsoid is rotated by ``angle`` in the (y, x) plane. It is rejected
    (returns 0) if more than ``max_overlap`` of it is already another nucleus
    or if fewer than ``min_keep`` voxels stay visible; otherwise only its
    largest face-connected free part is labelled and its size is returned.
    """
    ext = np.array([radii[0], max(radii[1:]), max(radii[1:])])
    lo = np.maximum(np.floor(centre - ext).astype(int), 0)
    hi = np.minimum(np.ceil(centre + ext).astype(int) + 1, labels.shape)
    if np.any(hi <= lo):
        return 0
    z, y, x = (np.arange(a, b) - c for a, b, c in zip(lo, hi, centre))
    z, y, x = z[:, None, None], y[None, :, None], x[None, None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    inside = (z / radii[0]) ** 2 + ((cos * y + sin * x) / radii[1]) ** 2 + (
        (cos * x - sin * y) / radii[2]
    ) ** 2 <= 1.0
    view = labels[region_from_bounds(lo, hi)]
    n_inside = np.count_nonzero(inside)
    if n_inside == 0 or np.count_nonzero(inside & (view > 0)) > max_overlap * n_inside:
        return 0
    free = inside & (view == 0)
    comps, n = ndi.label(free)
    if n > 1:
        free = comps == np.argmax(np.bincount(comps.ravel())[1:]) + 1
    size = int(np.count_nonzero(free))
    if size < min_keep:
        return 0
    view[free] = nid
    return size


def _nucleus_adder(labels, amps, rng, nz):
    """``add(centre, radii, angle, amp_range)``: paint one nucleus, draw its amplitude
    (dimmer with depth) into ``amps`` and say whether it was kept."""

    def add(centre, radii, angle, amp_range):
        nominal = 4.0 / 3.0 * np.pi * np.prod(radii)
        if _paint(labels, centre, radii, angle, len(amps), max(8.0, 0.15 * nominal)):
            amps.append(rng.uniform(*amp_range) * (1.0 - 0.3 * centre[0] / nz))
            return True
        return False

    return add


def _radii(rng, scale_z, scale_yx):
    rz = max(1.0, rng.uniform(2.0, 3.0) * scale_z)
    ry, rx = np.maximum(2.5, rng.uniform(7.0, 10.0, 2) * scale_yx)
    return np.array([rz, ry, rx])


def _centres_box(box, shape, margin):
    """Shrink ``box`` by ``margin`` on faces that are inside the volume."""
    lo, hi = np.array(box[0], float), np.array(box[1], float)
    lo = np.where(lo > 0, lo + margin, lo)
    hi = np.where(hi < np.array(shape), hi - margin, hi) - 1
    mid = (np.array(box[0]) + np.array(box[1]) - 1) / 2.0
    return np.where(hi >= lo, lo, mid), np.where(hi >= lo, hi, mid)


def make_sample(shape=SAMPLE_SHAPE, *, seed=0) -> SampleVolume:
    """Generate a synthetic 3D fluorescence nuclei stack with known regions.

    Parameters
    ----------
    shape : tuple of 3 int, optional
        Volume shape (z, y, x); every axis must be at least 16. Regions and
        nucleus radii scale with the shape (full size from 48 z planes and
        192 pixels in y and x).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    SampleVolume
        ``image`` (uint16), ``labels`` (int32), ``voxel_size`` (2.0, 0.5, 0.5)
        micrometres and the ``regions`` boxes.

    Raises
    ------
    ValueError
        If ``shape`` is not 3 positive integers or an axis is below 16.

    Notes
    -----
    Nuclei are ellipsoids (about 2-3 voxels radius in z, 7-10 in y and x at
    full scale) rotated in the (y, x) plane and drawn one by one into their
    bounding boxes, only into still-free voxels, so that instances stay
    connected and neighbours *touch* instead of overlapping. In the dense
    region a few pairs are planted in contact on purpose. Each nucleus gets a
    random amplitude (dimmer with depth), a per-voxel chromatin texture, a
    smooth background offset is added, the volume is blurred once with an
    anisotropic Gaussian PSF and shot plus read noise is added. The
    low-SNR region has dim nuclei and strong extra noise; the saturated band
    is set to 65535 and the blank slab to 0 (both have no labels). Besides
    its ordinary nuclei, the ``"edge"`` cell holds nuclei centred on its
    outer y and x faces, so they are cut by the volume edge. The same ``shape`` and ``seed`` always give
    byte-identical arrays.

    Examples
    --------
    >>> s = make_sample((24, 96, 96), seed=0)
    >>> s.image.shape, s.image.dtype, s.labels.dtype
    ((24, 96, 96), dtype('uint16'), dtype('int32'))
    >>> s.voxel_size
    (2.0, 0.5, 0.5)
    >>> sorted(s.regions)
    ['blank', 'dense', 'edge', 'empty', 'low_snr', 'saturated', 'sparse']
    >>> s.regions["empty"]
    ((0, 48, 48), (24, 72, 72))
    >>> lo, hi = s.regions["empty"]
    >>> int(s.labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].max())
    0
    >>> lo, hi = s.regions["saturated"]
    >>> int(s.image[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].min())
    65535
    >>> np.array_equal(make_sample((24, 96, 96), seed=0).image, s.image)
    True
    """
    shape = _check_shape(shape)
    rng = np.random.default_rng(seed)
    layout = _layout(shape)
    regions = {k: v for k, v in layout.items() if not k.endswith("_cell")}
    nz, ny, nx = shape
    scale_z, scale_yx = min(1.0, nz / 48), min(1.0, min(ny, nx) / 192)
    labels = np.zeros(shape, np.int32)
    for name in ("empty", "saturated", "blank"):
        (z0, y0, x0), (z1, y1, x1) = layout[name]
        labels[z0:z1, y0:y1, x0:x1] = _BLOCKED
    amps = [0.0]
    add = _nucleus_adder(labels, amps, rng, nz)

    margin = np.array([0.0, 1.0, 1.0]) * max(2.5, 10.0 * scale_yx)
    mean_vol = 4.0 / 3.0 * np.pi * max(1.0, 2.5 * scale_z) * max(2.5, 8.5 * scale_yx) ** 2
    for name, (frac, amp_range) in _POPULATIONS.items():
        box = layout[name]
        lo, hi = _centres_box(box, shape, margin)
        target = int(round(frac * np.prod(np.subtract(box[1], box[0])) / mean_vol))
        placed = 0
        if name == "dense":  # planted touching pairs: second nucleus along +-x
            for _ in range(max(3, target // 25)):
                c, r = rng.uniform(lo, hi), _radii(rng, scale_z, scale_yx)
                r2 = _radii(rng, scale_z, scale_yx)
                step = 0.9 * (r[2] + r2[2]) * (1 if 2 * c[2] < lo[2] + hi[2] else -1)
                c2 = c + np.array([0.0, 0.0, step])
                placed += add(c, r, 0.0, amp_range) and add(c2, r2, 0.0, amp_range)
        if name == "edge":  # nuclei centred on the outer y and x faces
            for axis in (1, 2):
                for _ in range(max(3, target // 4)):
                    c, r = rng.uniform(lo, hi), _radii(rng, scale_z, scale_yx)
                    c[axis] = shape[axis] - 1 + rng.uniform(-0.3, 0.4) * r[axis]
                    placed += add(c, r, 0.0, amp_range)
        for _ in range(4 * target):
            if placed >= target:
                break
            c, r = rng.uniform(lo, hi), _radii(rng, scale_z, scale_yx)
            placed += add(c, r, rng.uniform(0, np.pi), amp_range)
    labels[labels == _BLOCKED] = 0
    psf = (0.6 * max(0.5, scale_z), 1.2 * max(0.5, scale_yx), 1.2 * max(0.5, scale_yx))
    image = _render(labels, np.asarray(amps, np.float32), rng, layout, psf)
    return SampleVolume(image, labels, VOXEL_SIZE, regions)


def _smooth_profile(rng, n):
    """Random smooth 1-D profile in about [-1, 1] (a few low-frequency cosines)."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)
    k = np.arange(1, 4, dtype=np.float32)[:, None]
    w = rng.uniform(-1, 1, (3, 1)) / k
    return (w * np.cos(np.pi * k * t + rng.uniform(0, 2 * np.pi, (3, 1)))).sum(0) / 1.8


def _render(labels, amps, rng, layout, psf):
    """Turn ground-truth labels into a blurred, noisy uint16 image."""
    signal = _clean_signal(labels, amps, rng, psf)
    image = _noisy_image(signal, rng, [layout["low_snr"]])
    for name, value in (("saturated", _MAX), ("blank", 0)):
        (z0, y0, x0), (z1, y1, x1) = layout[name]
        image[z0:z1, y0:y1, x0:x1] = value
    return image


def _clean_signal(labels, amps, rng, psf):
    """Textured nuclei on a smooth background offset, blurred by the PSF (float32)."""
    nz, ny, nx = labels.shape
    fg = labels > 0
    signal = np.zeros(labels.shape, np.float32)
    texture = 1.0 + 0.6 * rng.standard_normal(np.count_nonzero(fg), dtype=np.float32)
    signal[fg] = amps[labels[fg]] * np.clip(texture, 0.1, None)
    signal += 100.0 + 30.0 * _smooth_profile(rng, nz)[:, None, None]
    signal += 40.0 * _smooth_profile(rng, ny)[None, :, None]
    signal += 40.0 * _smooth_profile(rng, nx)[None, None, :]
    return ndi.gaussian_filter(signal, sigma=psf, mode="nearest", truncate=3.0)


def _noisy_image(signal, rng, low_snr_boxes, floor=0):
    """Add shot, read and (inside ``low_snr_boxes``) extra noise; round to uint16.

    ``signal`` is overwritten. Values are clipped to ``[floor, 65534]`` so
    that 65535 only appears where it is planted afterwards.
    """
    std = np.maximum(signal, 0.0)  # shot noise variance ~ signal, plus read noise
    std += _READ_NOISE**2
    np.sqrt(std, out=std)
    for (z0, y0, x0), (z1, y1, x1) in low_snr_boxes:
        std[z0:z1, y0:y1, x0:x1] = np.hypot(std[z0:z1, y0:y1, x0:x1], _LOW_SNR_NOISE)
    std *= rng.standard_normal(signal.shape, dtype=np.float32)
    signal += std
    np.clip(signal, floor, _MAX - 1, out=signal)
    return np.rint(signal, out=signal).astype(np.uint16)
