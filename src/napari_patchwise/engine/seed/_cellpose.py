"""Running Cellpose on a region (optional dependency, imported only when used).

Re-exported by :mod:`napari_patchwise.engine.seed.imports`.
"""

from __future__ import annotations

import math

import numpy as np

CELLPOSE_HINT = (
    "Cellpose is not installed; install it with pip install 'napari-patchwise[cellpose]' "
    "(it downloads model weights on first use)."
)


def cellpose_anisotropy(voxel_size) -> float:
    """Cellpose's ``anisotropy`` for a voxel size: ``voxel_size_z / voxel_size_xy``.

    Examples
    --------
    >>> cellpose_anisotropy((2.0, 0.5, 0.5))
    4.0
    """
    try:
        z, y, x = (float(v) for v in voxel_size)
    except (TypeError, ValueError):
        z = y = x = math.nan
    if not all(math.isfinite(v) and v > 0 for v in (z, y, x)):
        raise ValueError(f"voxel size must be three positive numbers (z, y, x); got {voxel_size!r}.")
    return z / math.sqrt(y * x)


def cellpose_model(model_type=None, *, gpu=False, pretrained_model=None):
    """A Cellpose model, ``models.CellposeModel(gpu=..., pretrained_model=...)``.

    Parameters
    ----------
    model_type : str, optional
        Built-in model name for Cellpose 3 (e.g. ``"nuclei"``, ``"cyto3"``);
        Cellpose 4 has one built-in model and ignores it.
    gpu : bool
        Use the GPU when Cellpose finds one.
    pretrained_model : str or Path, optional
        A model file (e.g. one you trained); Cellpose's default otherwise.

    Raises
    ------
    ImportError
        With :data:`CELLPOSE_HINT` when Cellpose is not installed.
    """
    try:
        from cellpose import models
    except ImportError as e:
        raise ImportError(CELLPOSE_HINT) from e
    kwargs = {"gpu": bool(gpu)}
    if pretrained_model is not None:
        kwargs["pretrained_model"] = str(pretrained_model)
    if model_type is not None:
        kwargs["model_type"] = model_type
    return models.CellposeModel(**kwargs)


def run_cellpose(image, model=None, *, diameter=None, anisotropy=None, do_3D=True, channel_axis=None,
                 z_axis=0, flow_threshold=0.4, cellprob_threshold=0.0, min_size=15, **kwargs) -> np.ndarray:
    """Segment a 3D region with Cellpose; instance masks as uint32.

    Parameters
    ----------
    image : array-like
        ``(z, y, x)``, or with a channel axis given by ``channel_axis``.
    model : object, optional
        Anything with Cellpose's ``eval`` method (e.g. from
        :func:`cellpose_model`, which is used when None). Its result is a
        tuple whose first item is the masks (Cellpose 4 returns 3 items,
        Cellpose 3's ``Cellpose`` class 4), or a list with one masks array.
    diameter : float, optional
        Object diameter in (y, x) pixels; None lets Cellpose decide.
    anisotropy : float, optional
        ``voxel_size_z / voxel_size_xy`` (:func:`cellpose_anisotropy`);
        working it out from the spacing is the caller's job. None = 1.
    do_3D, channel_axis, z_axis, flow_threshold, cellprob_threshold, min_size, **kwargs
        Passed to ``model.eval`` unchanged.

    Raises
    ------
    ValueError
        If the image is not 3D (plus channels), or the masks that come back
        are not 3D with the image's shape.

    Examples
    --------
    >>> class Threshold:  # anything with Cellpose's eval
    ...     def eval(self, x, **kw):
    ...         return (x > 0).astype("uint16"), None, None
    >>> run_cellpose(np.ones((2, 3, 3)), Threshold(), anisotropy=4.0).dtype.name
    'uint32'
    """
    img = np.asarray(image)
    if channel_axis is None:
        spatial = img.shape
    elif -img.ndim <= channel_axis < img.ndim:
        spatial = tuple(s for i, s in enumerate(img.shape) if i != channel_axis % img.ndim)
    else:
        raise ValueError(f"channel_axis={channel_axis} does not exist in an image of shape {img.shape}.")
    if len(spatial) != 3:
        raise ValueError(
            f"image has shape {img.shape}; run_cellpose needs a 3D (z, y, x) region "
            "(plus a channel axis given by channel_axis)."
        )
    for name, value in (("diameter", diameter), ("anisotropy", anisotropy)):
        if value is not None and not (math.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"{name} must be a positive number or None; got {value!r}.")
    if model is None:
        model = cellpose_model()
    if not callable(getattr(model, "eval", None)):
        raise ValueError(f"model must have Cellpose's eval method; got {type(model).__name__}.")
    out = model.eval(img, diameter=diameter, do_3D=do_3D, anisotropy=anisotropy, z_axis=z_axis,
                     channel_axis=channel_axis, flow_threshold=flow_threshold,
                     cellprob_threshold=cellprob_threshold, min_size=min_size, **kwargs)
    masks = out[0] if isinstance(out, tuple) else out
    if isinstance(masks, list):
        if len(masks) != 1:
            raise ValueError(f"Cellpose returned {len(masks)} mask arrays; expected one for one region.")
        masks = masks[0]
    masks = np.asarray(masks)
    if masks.shape != spatial:
        raise ValueError(
            f"Cellpose returned masks of shape {masks.shape} for an image of shape {spatial}; "
            "3D masks need do_3D=True (or stitch_threshold > 0) and z_axis pointing at z."
        )
    if masks.dtype.kind not in "iub" or (masks.size and masks.min() < 0):
        raise ValueError(f"Cellpose returned {masks.dtype} masks with negative or non-integer values.")
    return masks.astype(np.uint32)
