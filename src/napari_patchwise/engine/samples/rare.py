"""A synthetic nuclei volume with small planted rare regions.

An ordinary medium-density nuclei background with each character (dense,
sparse, low-SNR, saturated, blank, empty, edge) planted once in a small patch
of about two 64³ boxes: the test of whether a few boxes find rare regions
(see ``benchmarks/bench_representativeness.py``). Built with the painters of
:mod:`.sample`.
"""

from __future__ import annotations

import numpy as np

from ..geometry.regions import region_from_bounds

from .nuclei import (
    _BLOCKED,
    _MAX,
    VOXEL_SIZE,
    Box,
    SampleVolume,
    _centres_box,
    _check_shape,
    _clean_signal,
    _noisy_image,
    _nucleus_adder,
    _radii,
)

__all__ = ["RARE_SHAPE", "make_rare_sample"]

RARE_SHAPE = (64, 512, 512)
_RARE_MIN_YX = 96
#: Side of a planted patch in y and x, as a fraction of the volume's y and x size
#: (96 pixels, one and a half widths of a 64³ box, at the default 512).
_RARE_PATCH = 96 / 512
#: Region -> (row, column) slot of a 3 x 3 arrangement over (y, x). Slots
#: (0, 1) and (2, 2) hold only background; the edge patch is pushed against
#: the high x face.
_RARE_SLOTS = {
    "dense": (0, 0),
    "low_snr": (0, 2),
    "saturated": (1, 0),
    "empty": (1, 1),
    "edge": (1, 2),
    "sparse": (2, 0),
    "blank": (2, 1),
}
#: Population -> (target foreground fraction, (min, max) nucleus amplitude).
_RARE_POPULATIONS = {
    "dense": (0.35, (500.0, 1500.0)),
    "sparse": (0.01, (500.0, 1500.0)),
    "low_snr": (0.10, (60.0, 140.0)),
    "saturated": (0.10, (500.0, 1500.0)),
    "blank": (0.10, (500.0, 1500.0)),
    "edge": (0.10, (500.0, 1500.0)),
    "background": (0.10, (500.0, 1500.0)),
}
_RARE_BLOBS = 3  # saturated blobs in the saturated patch


def _rare_layout(shape: tuple[int, int, int]) -> tuple[dict[str, Box], dict[str, Box]]:
    """Return ``(patches, regions)``: full-depth patches and the reported regions.

    They differ only for ``"blank"``, whose region is the middle z quarter of
    its patch.
    """
    nz, ny, nx = shape
    side = [max(2, round(n * _RARE_PATCH)) for n in (ny, nx)]

    def span(axis, k):
        n, p = shape[axis], side[axis - 1]
        lo = round(n * (2 * k + 1) / 6) - p // 2
        return lo, lo + p

    patches = {}
    for name, (row, col) in _RARE_SLOTS.items():
        (y0, y1), (x0, x1) = span(1, row), span(2, col)
        if name == "edge":
            x0, x1 = nx - side[1], nx
        patches[name] = ((0, y0, x0), (nz, y1, x1))
    regions = dict(patches)
    (_, y0, x0), (_, y1, x1) = patches["blank"]
    regions["blank"] = ((3 * nz // 8, y0, x0), (max(3 * nz // 8 + 1, 5 * nz // 8), y1, x1))
    return patches, regions


def _saturated_blobs(rng, box, shape) -> np.ndarray:
    """Boolean mask of a few ellipsoidal blobs lying inside ``box``."""
    mask = np.zeros(shape, bool)
    lo, hi = np.array(box[0], float), np.array(box[1], float)
    size = hi - lo
    region = region_from_bounds(lo, hi)
    zz, yy, xx = np.ogrid[region]
    view = mask[region]
    for _ in range(_RARE_BLOBS):
        r = np.maximum(rng.uniform(0.12, 0.2, 3) * size, 1.0)
        c = rng.uniform(lo + np.minimum(r, size / 2), hi - 1 - np.minimum(r, size / 2 - 0.5))
        view |= ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + (
            (xx - c[2]) / r[2]) ** 2 <= 1.0
    return mask


def make_rare_sample(shape=RARE_SHAPE, *, seed=0) -> SampleVolume:
    """Generate a nuclei stack that is mostly typical, with small planted rare regions.

    Parameters
    ----------
    shape : tuple of 3 int, optional
        Volume shape (z, y, x); z must be at least 16, y and x at least 96.
        Patches and nucleus radii scale with the shape (full-size nuclei
        from 48 z planes and 192 pixels in y and x).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    SampleVolume
        ``image`` (uint16), ``labels`` (int32), ``voxel_size`` (2.0, 0.5, 0.5)
        micrometres and the ``regions`` boxes, with the same keys as
        :func:`make_sample`.

    Raises
    ------
    ValueError
        If ``shape`` is not 3 positive integers, z is below 16 or y or x
        below 96.

    Notes
    -----
    The background is an ordinary population of nuclei (about 10 % of the voxels,
    amplitudes as in :func:`make_sample`) kept clear of the y and x faces, so
    no background nucleus is cut by the border. Seven patches, each spanning
    all z planes and ``96 / 512`` of the y and x size (at the default shape
    64 x 96 x 96 voxels, about 2.25 boxes of 64³), sit on a 3 x 3
    arrangement of (y, x) slots::

        dense      .          low_snr
        saturated  empty      edge      (edge: against the high x face)
        sparse     blank      .         (blank: middle z quarter only)

    Slots marked ``.`` hold only background. At the default shape the
    corner patches (dense, low_snr, sparse) each contain a whole block of
    the 64-voxel lattice, while the others straddle a lattice line in y or
    x, so both cases are exercised.

    - ``"dense"``: nuclei fill 35 % of the voxels.
    - ``"sparse"``: 1 % (a few nuclei).
    - ``"low_snr"``: dim nuclei (amplitude 60-140) and strong extra noise.
    - ``"saturated"``: 10 % nuclei around a few hard-edged blobs set to
      65535; the only saturated voxels of the volume.
    - ``"blank"``: the middle z quarter of its patch is 0 (missing data); no
      other voxel is 0 (the image is clipped to at least 1 elsewhere).
    - ``"empty"``: no nuclei, background only.
    - ``"edge"``: 10 % nuclei plus nuclei centred on the high x face; the
      only nuclei cut by a y or x face.

    Patch nuclei stay inside their patch and background nuclei stay outside
    every patch, so each nucleus belongs to exactly one region. The region
    boxes depend on the shape only; the same ``shape`` and ``seed`` always
    give byte-identical arrays.

    Examples
    --------
    >>> s = make_rare_sample((32, 256, 256), seed=0)
    >>> s.image.shape, s.image.dtype, s.labels.dtype
    ((32, 256, 256), dtype('uint16'), dtype('int32'))
    >>> from napari_patchwise.engine.samples.nuclei import make_sample
    >>> sorted(s.regions) == sorted(make_sample((24, 96, 96)).regions)
    True
    >>> s.regions["dense"], s.regions["edge"]
    (((0, 19, 19), (32, 67, 67)), ((0, 104, 208), (32, 152, 256)))
    >>> lo, hi = s.regions["saturated"]
    >>> inside = np.zeros(s.image.shape, bool)
    >>> inside[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    >>> bool((s.image[inside] == 65535).any()), bool((s.image[~inside] == 65535).any())
    (True, False)
    >>> np.array_equal(make_rare_sample((32, 256, 256), seed=0).image, s.image)
    True
    """
    shape = _check_shape(shape)
    if min(shape[1:]) < _RARE_MIN_YX:
        raise ValueError(
            f"shape {shape} is too small: y and x need at least {_RARE_MIN_YX} voxels "
            f"to hold the rare sample's patches; pass e.g. shape=(32, 256, 256)"
        )
    rng = np.random.default_rng(seed)
    patches, regions = _rare_layout(shape)
    nz, ny, nx = shape
    scale_z, scale_yx = min(1.0, nz / 48), min(1.0, min(ny, nx) / 192)
    labels = np.zeros(shape, np.int32)
    saturated = _saturated_blobs(rng, patches["saturated"], shape)
    labels[saturated] = _BLOCKED
    for name in ("empty", "blank"):
        (z0, y0, x0), (z1, y1, x1) = regions[name]
        labels[z0:z1, y0:y1, x0:x1] = _BLOCKED
    amps = [0.0]
    add = _nucleus_adder(labels, amps, rng, nz)

    reach = max(2.5, 10.0 * scale_yx)  # the largest y / x nucleus radius
    margin = np.array([0.0, reach, reach])
    mean_vol = 4.0 / 3.0 * np.pi * max(1.0, 2.5 * scale_z) * max(2.5, 8.5 * scale_yx) ** 2
    for name in ("dense", "sparse", "low_snr", "saturated", "blank", "edge"):
        frac, amp_range = _RARE_POPULATIONS[name]
        box = patches[name]
        lo, hi = _centres_box(box, shape, margin)
        target = round(float(frac * np.prod(np.subtract(box[1], box[0])) / mean_vol))
        placed = 0
        if name == "edge":  # nuclei centred on the high x face, cut by it
            for _ in range(max(3, target // 4)):
                c, r = rng.uniform(lo, hi), _radii(rng, scale_z, scale_yx)
                c[2] = nx - 1 + rng.uniform(-0.3, 0.4) * r[2]
                placed += add(c, r, 0.0, amp_range)
        for _ in range(4 * target):
            if placed >= target:
                break
            c, r = rng.uniform(lo, hi), _radii(rng, scale_z, scale_yx)
            placed += add(c, r, rng.uniform(0, np.pi), amp_range)

    # background: centres at least `reach` from the y / x faces and from every patch
    grown = [(np.subtract(lo, margin), np.add(hi, margin)) for lo, hi in patches.values()]
    free = np.ones(shape[1:], bool)
    for glo, ghi in grown:
        y0, x0 = (max(0, int(v)) for v in glo[1:])
        y1, x1 = (int(np.ceil(v)) for v in ghi[1:])
        free[y0:y1, x0:x1] = False
    frac, amp_range = _RARE_POPULATIONS["background"]
    target = round(float(frac * nz * np.count_nonzero(free) / mean_vol))
    lo = np.array([0.0, reach, reach])
    hi = np.array([nz - 1.0, ny - 1.0 - reach, nx - 1.0 - reach])
    placed = 0
    for _ in range(6 * target):
        if placed >= target:
            break
        c = rng.uniform(lo, hi)
        if any(np.all((c > glo) & (c < ghi)) for glo, ghi in grown):
            continue
        placed += add(c, _radii(rng, scale_z, scale_yx), rng.uniform(0, np.pi), amp_range)
    labels[labels == _BLOCKED] = 0

    psf = (0.6 * max(0.5, scale_z), 1.2 * max(0.5, scale_yx), 1.2 * max(0.5, scale_yx))
    signal = _clean_signal(labels, np.asarray(amps, np.float32), rng, psf)
    image = _noisy_image(signal, rng, [regions["low_snr"]], floor=1)
    image[saturated] = _MAX
    (z0, y0, x0), (z1, y1, x1) = regions["blank"]
    image[z0:z1, y0:y1, x0:x1] = 0
    return SampleVolume(image, labels, VOXEL_SIZE, regions)
