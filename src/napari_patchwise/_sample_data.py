"""napari sample data: a synthetic 3D nuclei stack with its ground truth."""

from __future__ import annotations

from .engine.io.contrast import robust_contrast_limits
from .engine.samples.nuclei import make_sample


def sample_nuclei():
    """Synthetic nuclei volume (96×384×384, voxel 2×0.5×0.5 µm) and its instance labels.

    It has dense, sparse, low-SNR, saturated, blank and edge regions (see
    :func:`napari_patchwise.engine.samples.nuclei.make_sample`).
    """
    s = make_sample()
    lo, hi = robust_contrast_limits(s.image)  # the saturated stripe does not count
    meta = {"napari-patchwise": {"sample": "nuclei3d", "regions": {k: [list(lo), list(hi)] for k, (lo, hi) in s.regions.items()}}}
    return [
        (s.image, {"name": "nuclei", "scale": s.voxel_size, "units": ("micrometer",) * 3, "metadata": meta, "contrast_limits": (float(lo), float(hi))}, "image"),
        (
            s.labels,
            {"name": "nuclei ground truth", "scale": s.voxel_size, "units": ("micrometer",) * 3, "opacity": 0.4, "visible": False},
            "labels",
        ),
    ]
