"""The shape of one object: thickness, star-convexity, elongation and branching.

Each function takes the object's mask (a boolean array, usually cropped to the
object's bounding box) and, where lengths matter, the physical voxel size.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = ["centre", "elongation", "skeleton_measures", "star_convexity", "thickness"]

#: Object voxels tested for visibility from the centre, at most.
STAR_VOXELS = 1000


def _padded(mask) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 3 or not m.any():
        raise ValueError("an object's mask must be a non-empty 3D (z, y, x) boolean array.")
    return np.pad(m, 1)


def thickness(mask, spacing=(1.0, 1.0, 1.0)) -> float:
    """Diameter of the largest ball inside the object, in physical units (its thickness).

    Twice the largest distance from an object voxel's centre to the nearest
    voxel centre outside. For a tube this is the tube's diameter however long
    it is; for a ball, its diameter: a digital ball of radius ``r`` voxels
    (``2r + 1`` across) measures ``2 sqrt(r² + 1)``. A slab ``n`` voxels thick
    measures ``n`` (even ``n``) or ``n + 1`` (odd ``n``).

    Examples
    --------
    >>> cube = np.ones((5, 5, 5), bool)
    >>> thickness(cube), thickness(cube, (2.0, 0.5, 0.5))
    (6.0, 3.0)
    >>> zz, yy, xx = np.indices((9, 9, 9)) - 4
    >>> round(thickness(zz ** 2 + yy ** 2 + xx ** 2 <= 9), 2)      # a ball 7 voxels across
    6.32
    >>> thickness(np.ones((4, 4, 40), bool))                        # a rod 4 voxels wide
    4.0
    """
    sp = tuple(float(v) for v in spacing)
    dist = ndi.distance_transform_edt(_padded(mask), sampling=sp)
    return float(2 * dist.max())


def centre(mask) -> tuple[int, int, int]:
    """The voxel rays are cast from: the centroid when it lies inside the object, else the
    voxel deepest inside it (largest distance to the outside).

    Examples
    --------
    >>> ring = np.zeros((1, 7, 7), bool); ring[0, 1:6, 1:6] = True; ring[0, 2:5, 2:5] = False
    >>> centre(np.ones((3, 3, 3), bool)), centre(ring) != (0, 3, 3)
    ((1, 1, 1), True)
    """
    m = np.asarray(mask, dtype=bool)
    c = tuple(int(round(float(v))) for v in ndi.center_of_mass(m))
    if m[c]:
        return c  # type: ignore[return-value]
    dist = ndi.distance_transform_edt(_padded(m))[1:-1, 1:-1, 1:-1]
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(dist)), m.shape))  # type: ignore[return-value]


def star_convexity(mask, *, max_voxels: int = STAR_VOXELS, seed: int = 0) -> float:
    """Fraction of the object's voxels visible from its centre along straight rays.

    StarDist describes an object by rays from one centre; an object is
    star-convex when every voxel is visible from there, i.e. the segment from
    the centre (:func:`centre`) to the voxel stays inside the object. This
    tests up to ``max_voxels`` voxels (chosen at random, seeded), each along
    points one voxel apart on its segment (nearest voxel). 1 for a convex
    object; lower for a ``C``, a branching neuron or a shell. Straight lines
    stay straight under any voxel size, so none is needed.

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:9, :9, :9]
    >>> ball = (zz - 4) ** 2 + (yy - 4) ** 2 + (xx - 4) ** 2 <= 16
    >>> star_convexity(ball)
    1.0
    >>> u = np.zeros((3, 12, 12), bool); u[:, 1:11, 1:3] = u[:, 1:11, 9:11] = u[:, 9:11, 1:11] = True
    >>> star_convexity(u) < 0.8                            # a U: its arms hide each other
    True
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 3 or not m.any():
        raise ValueError("an object's mask must be a non-empty 3D (z, y, x) boolean array.")
    c = np.array(centre(m), dtype=np.float64)
    pts = np.argwhere(m)
    if len(pts) > max_voxels:
        pts = pts[np.random.default_rng(seed).choice(len(pts), max_voxels, replace=False)]
    steps = int(math.ceil(np.abs(pts - c).max(initial=0.0))) + 1
    t = np.linspace(0.0, 1.0, steps + 1)[None, :, None]
    ray = np.rint(c[None, None, :] + t * (pts[:, None, :] - c[None, None, :])).astype(np.intp)
    inside = m[ray[..., 0], ray[..., 1], ray[..., 2]].all(axis=1)
    return float(inside.mean())


def elongation(mask, spacing=(1.0, 1.0, 1.0), *, max_voxels: int = 20000, seed: int = 0) -> float:
    """Ratio of the object's longest principal axis to its second: 1 for a ball or a disc,
    large for a rod or a tube.

    From the covariance of the voxels' physical coordinates, each voxel counted as a
    small box (its own variance ``spacing**2 / 12`` per axis is added), so an object
    one voxel thick has a finite ratio; ``sqrt(l1 / l2)`` of its largest eigenvalues.

    Examples
    --------
    >>> round(elongation(np.ones((4, 4, 4), bool)), 2)
    1.0
    >>> round(elongation(np.ones((2, 2, 20), bool)), 1)   # a rod ten times as long as wide
    10.0
    >>> round(elongation(np.ones((1, 8, 8), bool)), 1)   # a disc
    1.0
    >>> round(elongation(np.ones((4, 4, 4), bool), (4.0, 1.0, 1.0)), 1)   # 16 long in z, 4 wide
    4.0
    """
    sp = np.asarray(spacing, dtype=np.float64)
    pts = np.argwhere(np.asarray(mask, dtype=bool))
    if len(pts) == 0:
        raise ValueError("an object's mask must be non-empty.")
    if len(pts) > max_voxels:
        pts = pts[np.random.default_rng(seed).choice(len(pts), max_voxels, replace=False)]
    xyz = pts * sp
    cov = np.cov(xyz.T, bias=True) if len(pts) > 1 else np.zeros((3, 3))
    cov = cov + np.diag(sp ** 2 / 12)
    ev = np.sort(np.linalg.eigvalsh(cov))[::-1]
    return float(math.sqrt(ev[0] / ev[1]))


def skeleton_measures(mask, spacing=(1.0, 1.0, 1.0)) -> tuple[int, float]:
    """Branch points and length of the object's skeleton.

    Branch points are groups of skeleton voxels with three or more skeleton
    neighbours (26-connected), each group counted once: 0 for a ball, a rod
    or a bent tube; 1 for a ``T`` or a ``Y``; more for a tree. The length is
    the number of skeleton voxels times the geometric mean of the voxel size
    (an approximation: diagonal steps count as one voxel). The skeleton is
    scikit-image's 3D thinning (Lee et al. 1994) in voxel space, so strongly
    anisotropic voxels make it rougher.

    Returns
    -------
    branch_points : int
    length : float
        Physical.

    Examples
    --------
    >>> rod = np.zeros((5, 5, 30), bool); rod[1:4, 1:4, 2:28] = True
    >>> n, length = skeleton_measures(rod)
    >>> n, 20 <= length <= 26
    (0, True)
    >>> t = np.zeros((5, 30, 30), bool); t[1:4, 14:17, 2:28] = True; t[1:4, 2:15, 14:17] = True
    >>> skeleton_measures(t)[0]
    1
    """
    from skimage.morphology import skeletonize

    skel = skeletonize(_padded(mask)).astype(bool)
    length = float(skel.sum()) * float(np.prod(np.asarray(spacing, dtype=np.float64)) ** (1 / 3))
    if not skel.any():
        return 0, length
    full = np.ones((3, 3, 3), dtype=np.int32)
    neighbours = ndi.convolve(skel.astype(np.int32), full, mode="constant") - 1
    branch = skel & (neighbours >= 3)
    if not branch.any():
        return 0, length
    return int(ndi.label(branch, structure=full)[1]), length
