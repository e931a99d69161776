"""Small synthetic volumes, one per problem type, for the advisor's tests."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def balls(shape=(48, 96, 96), radius=7, spacing_apart=24, seed=0):
    """Compact balls well apart on a grid (ids 1..N), jittered."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(shape)
    lab = np.zeros(shape, np.uint16)
    i = 0
    for z in range(spacing_apart // 2, shape[0] - radius, spacing_apart):
        for y in range(spacing_apart // 2, shape[1] - radius, spacing_apart):
            for x in range(spacing_apart // 2, shape[2] - radius, spacing_apart):
                c = np.array([z, y, x]) + rng.integers(-2, 3, 3)
                i += 1
                lab[(zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= radius ** 2] = i
    return lab


def image_of(labels, contrast=40.0, noise=4.0, seed=1):
    """Bright objects on a dark background with Gaussian noise."""
    rng = np.random.default_rng(seed)
    return (20 + contrast * (labels > 0) + rng.normal(0, noise, labels.shape)).astype(np.float32)


def cells(shape=(48, 96, 96), n=40, seed=0):
    """Dense irregular cells filling the volume: Voronoi regions of random seeds, merged in
    pairs of neighbours (non-convex), and an image of bright membranes between them."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros(shape, np.int32)
    pts = rng.integers(0, shape, (n, 3))
    seeds[tuple(pts.T)] = np.arange(1, n + 1)
    _, idx = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[tuple(idx)]
    merge = {i: (i + 1) // 2 for i in range(1, n + 1)}  # cells 1+2, 3+4, ... share an id
    lab = np.vectorize(merge.get)(lab).astype(np.uint16)
    return lab


def membrane_image(labels, contrast=40.0, noise=4.0, seed=1):
    """Bright one-voxel membranes where ids change, dark interiors, noise."""
    rng = np.random.default_rng(seed)
    face = ndi.generate_binary_structure(3, 1)
    edge = ndi.maximum_filter(labels, footprint=face) != ndi.minimum_filter(labels, footprint=face)
    return (20 + contrast * edge + rng.normal(0, noise, labels.shape)).astype(np.float32)


def tree(shape=(32, 96, 96), radius=2):
    """Branching tubes: a trunk along x with side branches along y and z (one object)."""
    zz, yy, xx = np.indices(shape)
    mask = np.zeros(shape, bool)
    cz, cy = shape[0] // 2, shape[1] // 2
    mask |= ((zz - cz) ** 2 + (yy - cy) ** 2 <= radius ** 2) & (xx >= 4) & (xx < shape[2] - 4)
    for x in (20, 45, 70):
        mask |= ((zz - cz) ** 2 + (xx - x) ** 2 <= radius ** 2) & (yy >= 8) & (yy < shape[1] - 8)
    return mask
