"""The advise job: measure an image (and its labels, if any) and advise how to plan its annotation.

``patchwise advise`` builds an :class:`AdviseRequest` and calls :func:`run_advise`;
the dock's Plan step can do the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from ..geometry.voxelsize import check_voxel_size
from ..plan.presets import get_preset
from . import decide
from .objects import ObjectMeasures, as_instances, measure_objects
from .sample import MAX_VOXELS, read_block, sample_region
from .snr import boundary_mask, signal_to_noise

__all__ = ["Advice", "AdviseRequest", "Measures", "run_advise", "split_apart"]

#: Labels with less background than this are dense: every voxel belongs to an object.
DENSE_LABELS = 0.02


@dataclass(frozen=True)
class AdviseRequest:
    """What to advise on.

    Attributes
    ----------
    image : array-like, shape (z, y, x)
        Numpy, memory-mapped, Zarr, HDF5 or dask: only a block of at most
        ``max_voxels`` voxels is read.
    voxel_size : tuple of 3 float
        Physical voxel size ``(z, y, x)`` (required: sizes and magnifications depend on it).
    unit : str
        Its unit (lengths in the advice are in it).
    labels : array-like, optional
        Instance labels or a binary mask of the same shape; without them the
        objects are found by thresholding (the seeding pipeline's).
    max_voxels : int
        Voxels read at most.
    seed : int
        Chooses the objects whose shape is measured.

    Examples
    --------
    >>> AdviseRequest(np.zeros((4, 4, 4)), (1, 1, 0))
    Traceback (most recent call last):
    ...
    ValueError: voxel size must be three positive numbers (z, y, x); got (1, 1, 0).
    """

    image: Any = field(repr=False)
    voxel_size: tuple[float, float, float]
    unit: str = "micrometer"
    labels: Any = field(default=None, repr=False)
    max_voxels: int = MAX_VOXELS
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "voxel_size", check_voxel_size(self.voxel_size))
        shape = tuple(int(s) for s in np.shape(self.image))
        if len(shape) != 3:
            raise ValueError(f"the image has shape {shape}; the advisor needs one 3D (z, y, x) volume.")
        if self.labels is not None and tuple(int(s) for s in np.shape(self.labels)) != shape:
            raise ValueError(f"the labels have shape {tuple(np.shape(self.labels))}, the image {shape}; "
                             "give labels of the image's shape.")


@dataclass(frozen=True)
class Measures:
    """What the advisor measured (lengths in ``unit``).

    Attributes
    ----------
    snr : float
        Signal-to-noise (:func:`.snr.signal_to_noise`): foreground against
        background, or for dense labels the objects' boundaries against their
        interiors.
    snr_from : str
        ``'labels'``, ``'label boundaries'`` or ``'threshold'``.
    foreground_fraction : float
        Share of the sampled voxels in objects.
    anisotropy : float
        Coarsest over finest voxel size.
    objects : ObjectMeasures or None
        ``None`` when no objects were found.
    sample : tuple of 3 int
        Shape of the block measured (the image's when it is small).
    voxel_size, unit
        As given.
    """

    snr: float
    snr_from: str
    foreground_fraction: float
    anisotropy: float
    objects: ObjectMeasures | None
    sample: tuple[int, int, int]
    voxel_size: tuple[float, float, float]
    unit: str

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "objects"}
        d["objects"] = None if self.objects is None else self.objects.to_dict()
        return _jsonable(d)


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return round(float(v), 4) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


@dataclass(frozen=True)
class Advice:
    """The advisor's answer.

    Attributes
    ----------
    problems : tuple of str
        ``'boundary'``, ``'snr'``, ``'topology'``, or ``('none',)``.
    recommend : str
        ``'stardist'``, ``'cellpose'`` or ``'nnunet'``.
    reasons : tuple of str
        Why: the problems, the trainer, the magnification, the boxes.
    magnification : tuple of 3 int
        The coarsest that keeps the smallest structures
        :data:`.decide.MIN_ACROSS` voxels across.
    box_size : tuple of 3 int
        At that magnification, by the box-fit rule of the preset.
    boxes : int
        How many boxes to plan.
    preset : str
        The preset the box size follows.
    difficulty : str
        ``'moderate'``, ``'difficult'`` or ``'extreme'``.
    measures : Measures
    """

    problems: tuple[str, ...]
    recommend: str
    reasons: tuple[str, ...]
    magnification: tuple[int, int, int]
    box_size: tuple[int, int, int]
    boxes: int
    preset: str
    difficulty: str
    measures: Measures

    def to_dict(self) -> dict:
        """The ``--json`` answer: the six keys, then ``measures`` (with ``preset`` and ``difficulty``)."""
        return {"problems": list(self.problems), "recommend": self.recommend, "reasons": list(self.reasons),
                "magnification": list(self.magnification), "box_size": list(self.box_size),
                "boxes": int(self.boxes),
                "measures": {"preset": self.preset, "difficulty": self.difficulty, **self.measures.to_dict()}}


def _from_labels(img, labels, spacing, seed):
    ids, source = as_instances(labels)
    objects = measure_objects(ids, spacing, source=source, seed=seed) if ids.any() else None
    fg = ids > 0
    if (~fg).mean() >= DENSE_LABELS:
        return signal_to_noise(img, fg, ~fg), "labels", float(fg.mean()), objects
    edges = boundary_mask(ids)
    return (signal_to_noise(img, edges, fg & ~edges, background_is_noise=False), "label boundaries",
            float(fg.mean()), objects)


def split_apart(ids, foreground) -> np.ndarray:
    """Ids of the objects a watershed split from another: next to a foreground voxel of no
    object that has two different ids around it (3×3×3).

    Examples
    --------
    >>> ids = np.zeros((1, 1, 9), np.uint32); ids[0, 0, :3], ids[0, 0, 4:6], ids[0, 0, 8] = 1, 2, 3
    >>> fg = ids > 0; fg[0, 0, 3] = fg[0, 0, 7] = True     # 1|2 split; 3 stands alone
    >>> split_apart(ids, fg).tolist()
    [1, 2]
    """
    full = np.ones((3, 3, 3), bool)
    top = np.iinfo(ids.dtype).max
    hi = ndi.maximum_filter(ids, footprint=full, mode="constant")
    lo = ndi.minimum_filter(np.where(ids > 0, ids, top), footprint=full, mode="constant", cval=top)
    lines = foreground & (ids == 0) & (hi > 0) & (lo < hi)
    near = ndi.binary_dilation(lines, structure=full)
    return np.unique(ids[near & (ids > 0)])


def _from_threshold(img, spacing, seed):
    from ..seed.weaklabels import seed_region

    try:
        seeds = seed_region(img, spacing)
    except ValueError:  # nothing to threshold: no objects
        from skimage.filters import threshold_otsu

        smooth = ndi.gaussian_filter(img.astype(np.float32), 1.0)
        fg = smooth > threshold_otsu(smooth) if np.ptp(smooth) > 0 else np.zeros(img.shape, bool)
        return signal_to_noise(img, fg, ~fg), "threshold", float(fg.mean()), None
    fg = seeds.foreground
    snr = signal_to_noise(img, fg, ~fg)
    ids = seeds.labels
    if not ids.any():
        return snr, "threshold", float(fg.mean()), None
    touching = split_apart(ids, fg)
    objects = measure_objects(ids, spacing, source="threshold", touching_ids=touching, seed=seed)
    return snr, "threshold", float(fg.mean()), objects


def run_advise(request: AdviseRequest) -> Advice:
    """Measure the image (a bounded block of it) and answer with the advice.

    Parameters
    ----------
    request : AdviseRequest

    Returns
    -------
    Advice

    Notes
    -----
    A centred block of at most ``max_voxels`` voxels is read
    (:func:`.sample.sample_region`). With labels the objects are theirs; with a
    binary mask its connected components; without either the image is
    thresholded and split by the seeding pipeline
    (:func:`~napari_patchwise.engine.seed.weaklabels.seed_region`), and the
    objects a watershed split apart count as touching. The rules are in
    :mod:`.decide`; the smallest structures are the 10th percentile of the
    objects' thickness.

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:40, :64, :64]
    >>> img = np.random.default_rng(0).normal(10, 2, (40, 64, 64)).astype("float32")
    >>> lab = np.zeros((40, 64, 64), np.uint16)
    >>> for i, (z, y, x) in enumerate([(12, 14, 14), (12, 14, 48), (28, 48, 20), (28, 44, 50)], 1):
    ...     lab[(zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= 64] = i
    >>> img[lab > 0] += 30
    >>> a = run_advise(AdviseRequest(img, (1.0, 1.0, 1.0), labels=lab))
    >>> a.problems, a.recommend, a.magnification
    (('none',), 'stardist', (1, 2, 2))
    """
    img_src = request.image
    shape = tuple(int(s) for s in np.shape(img_src))
    vs = request.voxel_size
    region = sample_region(shape, vs, request.max_voxels)
    img = read_block(img_src, region).astype(np.float32)
    if request.labels is not None:
        snr, snr_from, fg_fraction, objects = _from_labels(img, read_block(request.labels, region), vs, request.seed)
    else:
        snr, snr_from, fg_fraction, objects = _from_threshold(img, vs, request.seed)
    measures = Measures(snr=float(snr), snr_from=snr_from, foreground_fraction=fg_fraction,
                        anisotropy=max(vs) / min(vs), objects=objects, sample=img.shape, voxel_size=vs,
                        unit=request.unit)
    problems, reasons = decide.problem_types(measures.snr, objects)
    trainer, why = decide.recommend_trainer(problems, measures.snr, objects, fg_fraction)
    reasons += why
    dense = objects is not None and fg_fraction >= 0.9 and "topology" in problems
    preset = get_preset("neuron" if dense else "instance")
    smallest = objects.thickness[0] if objects is not None else math.nan
    wanted = decide.coarsest_magnification(smallest, vs)
    limited = decide.limit_for_boundaries(wanted, problems)
    if limited != wanted:
        wanted = limited
        reasons.append(f"touching objects: the thin boundaries between them blur first, so at most "
                       f"{decide.BOUNDARY_FACTOR}× coarser along any axis.")
    mag, size, note = decide.box_fit(preset, shape, wanted, vs)
    reasons.append(_mag_reason(smallest, vs, mag, request.unit, objects))
    if mag != wanted:
        reasons.append(f"magnification {'×'.join(map(str, wanted))} would do for the structures, but the "
                       f"{preset.name} preset's minimum box {'×'.join(map(str, preset.minimum))} does not fit "
                       "the image at it.")
    if note:
        reasons.append(note)
    boxes, difficulty, why_boxes = decide.box_count(problems, measures.snr, size)
    reasons.append(why_boxes)
    room = math.prod(-(-n // m) // b for n, m, b in zip(shape, mag, size))
    if room < boxes:
        reasons.append(f"this image holds only {room} box{'es' if room != 1 else ''} of that size without "
                       "overlap: spread the boxes over more images of the kind.")
    return Advice(tuple(problems), trainer, tuple(reasons), tuple(mag), tuple(size), boxes, preset.name,
                  difficulty, measures)


def _mag_reason(smallest, vs, mag, unit, objects) -> str:
    x = "×".join(map(str, mag))
    if objects is None or not math.isfinite(smallest):
        return f"magnification {x}: no objects to size, so full resolution."
    across = min(smallest / (v * m) for v, m in zip(vs, mag))
    head = (f"magnification {x}: the smallest structures are about {smallest:.3g} {unit} thick "
            f"(10th percentile of {objects.n_shaped} object{'s' if objects.n_shaped != 1 else ''})")
    if across < decide.MIN_ACROSS:
        return head + f", only {across:.3g} voxels across even at full resolution: do not downsample."
    return head + f", still {across:.3g} voxels across at it (at least {decide.MIN_ACROSS} wanted)."
