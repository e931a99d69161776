"""Labels and probabilities made elsewhere: Cellpose, ilastik, any label image.

Readers check what they load and say what to do when it is not a label
volume (floats with fractions, negative values, a single plane...).
:mod:`.label_grid` turns what they read into annotation labels (ids
``1..N``, on the annotation grid of a magnification). Running Cellpose itself is optional
(:func:`run_cellpose`); it is imported only when used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._cellpose import CELLPOSE_HINT, cellpose_anisotropy, cellpose_model, run_cellpose
from ..io.hdf5 import H5PY_HINT, HDF5_SUFFIXES, split_dataset
from ..io.mrc import MRC_SUFFIXES
from ..io.nifti import NIFTI_SUFFIXES
from ..io.nrrd_io import NRRD_SUFFIXES
from ..io.volumes import open_cryoet
from ..io.hdf5 import h5py_module as _h5py
from ..io.filecheck import open_npy, open_tiff, refuse_folder
from ..io.safeload import load_npy

__all__ = ["CELLPOSE_HINT", "H5PY_HINT", "cellpose_anisotropy", "cellpose_model", "read_cellpose_seg",
           "read_label_image", "read_probability", "run_cellpose"]

_PLANES = 16  # z planes checked at a time when scanning large label volumes


def read_cellpose_seg(path) -> np.ndarray:
    """Masks of a Cellpose ``*_seg.npy`` file (GUI or command line output).

    The file is a pickled dict. It is read with :func:`.safeload.load_npy`,
    which builds only numpy arrays and plain values: a file that asks for
    anything else (a crafted file can run code that way) is refused with an
    :class:`~.safeload.UnsafeFileError` before anything in it runs.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/a_seg.npy", {"masks": np.ones((2, 3, 3), "uint16"), "outlines": None})
    ...     read_cellpose_seg(f"{tmp}/a_seg.npy").shape
    (2, 3, 3)
    """
    p = _existing(path)
    obj = load_npy(p)
    if not isinstance(obj, dict):
        raise ValueError(
            f"{p.name} does not hold a dict like a Cellpose _seg.npy file; if it is a plain label "
            "array, read it with read_label_image."
        )
    if "masks" not in obj:
        raise ValueError(
            f"{p.name} has no 'masks' (keys: {', '.join(map(str, obj))}); save the segmentation "
            "in Cellpose first, or export the masks as a *_masks.tif."
        )
    masks = np.asarray(obj["masks"])
    if masks.ndim not in (2, 3):
        raise ValueError(f"{p.name}: the masks have shape {masks.shape}; expected a 2D or 3D label image.")
    return masks


def _existing(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"nothing at {p}; check the path.")
    return p


def _read_hdf5(p: Path, dataset):
    h5py = _h5py()
    with h5py.File(p, "r") as f:
        names: list[str] = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        if dataset is None:
            if len(names) == 1:
                dataset = names[0]
            elif "exported_data" in names:  # ilastik
                dataset = "exported_data"
            else:
                raise ValueError(
                    f"{p.name} holds {len(names)} datasets ({', '.join(names) or 'none'}); "
                    "choose one with dataset=<name>."
                )
        if dataset not in f or not isinstance(f[dataset], h5py.Dataset):
            raise ValueError(f"{p.name} has no dataset {dataset!r}; it has: {', '.join(names) or 'none'}.")
        ds = f[dataset]
        tags = ds.attrs.get("axistags")
        return ds[()], (tags.decode() if isinstance(tags, bytes) else tags)


def _read_zarr(p: Path, dataset):
    import zarr

    from ..io.volumes import _read_zarr as read_default

    if dataset is None:
        return read_default(p)[0]
    node = zarr.open(str(p), mode="r")
    if isinstance(node, zarr.Array):
        raise ValueError(f"{p.name} is a single Zarr array; leave dataset= unset.")
    try:
        arr = node[dataset]
    except KeyError:
        arr = None
    if not isinstance(arr, zarr.Array):
        raise ValueError(
            f"{p.name} has no array {dataset!r}; it has: {', '.join(sorted(node.array_keys())) or 'none'}."
        )
    return arr


def _read_any(path, dataset=None):
    """``(array, axistags or None, path)``; numpy, memmap or zarr array.

    An HDF5 dataset may be named in the path, as every command takes it
    (``file.h5:dataset``), when ``dataset`` is not given.
    """
    if dataset is None:
        path, dataset = split_dataset(path)
    p = _existing(path)
    refuse_folder(p)
    name = p.name.lower()
    if name.endswith(HDF5_SUFFIXES):
        data, tags = _read_hdf5(p, dataset)
        return data, tags, p
    if dataset is not None and not (name.endswith(".zarr") or p.is_dir()):
        raise ValueError(f"dataset= is for Zarr and HDF5 files; {p.name} is neither.")
    if name.endswith("_seg.npy"):
        return read_cellpose_seg(p), None, p
    if name.endswith(".npy"):
        try:
            return open_npy(p), None, p
        except ValueError as e:
            if "pickled Python objects" not in str(e):
                raise
            raise ValueError(
                f"{p.name} holds pickled Python objects, not an array; if it is a Cellpose "
                "segmentation, name it *_seg.npy or use read_cellpose_seg."
            ) from None
    if name.endswith((".tif", ".tiff")):
        return open_tiff(p)[0], None, p
    if name.endswith(".zarr") or p.is_dir():
        return _read_zarr(p, dataset), None, p
    if name.endswith(MRC_SUFFIXES + NRRD_SUFFIXES + NIFTI_SUFFIXES):
        return open_cryoet(p)[0], None, p
    raise ValueError(
        f"cannot read {p.name}: use a TIFF (.tif), .npy, Cellpose *_seg.npy, Zarr (.zarr), HDF5 (.h5), "
        "MRC (.mrc), NRRD (.nrrd) or NIfTI (.nii.gz) file."
    )


def _squeeze(data):
    shape = tuple(data.shape)
    if 1 in shape and len(shape) > 2:
        data = data[tuple(0 if s == 1 else slice(None) for s in shape)]
    return data


def _plane_blocks(data):
    for z in range(0, data.shape[0], _PLANES):
        yield np.asarray(data[z:z + _PLANES])


def read_label_image(path, *, dataset=None):
    """Read a 3D label volume made elsewhere.

    Parameters
    ----------
    path : str or Path
        Cellpose ``*_masks.tif`` or ``*_seg.npy``, any label TIFF, ``.npy``,
        Zarr (an array, or a group: ``dataset`` or its first array) or HDF5
        (``.h5``, needs h5py; ``dataset`` or the only dataset or ilastik's
        ``exported_data``).
    dataset : str, optional
        Array inside a Zarr group or HDF5 file.

    Returns
    -------
    array-like, shape (z, y, x)
        Integer data as stored (lazy for Zarr and uncompressed TIFF / .npy);
        floats holding whole numbers and booleans become a uint32 ndarray.

    Raises
    ------
    ValueError
        If the values are not labels (fractions, negative, too large) or the
        data is not one 3D volume.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/l.npy", np.array([[[0.0, 2.0], [3.0, 0.0]]] * 2))
    ...     lab = read_label_image(f"{tmp}/l.npy")
    ...     lab.dtype.name, lab.shape
    ('uint32', (2, 2, 2))
    """
    data, _, p = _read_any(path, dataset)
    data = _squeeze(data)
    if data.ndim == 2:
        raise ValueError(
            f"{p.name} holds a single plane {tuple(data.shape)}; patchwise needs a 3D (z, y, x) label "
            "volume. For Cellpose, segment the z-stack (do_3D, or stitching) rather than one 2D image."
        )
    if data.ndim != 3:
        raise ValueError(f"{p.name} has shape {tuple(data.shape)}; expected one 3D (z, y, x) label volume.")
    kind = np.dtype(data.dtype).kind
    if kind == "b":
        return np.asarray(data).astype(np.uint32)
    if kind not in "iuf":
        raise ValueError(f"{p.name} holds {data.dtype} values; labels must be integers.")
    if kind == "u":
        return data
    lo, hi = np.inf, -np.inf
    for block in _plane_blocks(data):
        if kind == "f":
            bad = ~np.isfinite(block) | (block != np.round(block))
            if bad.any():
                raise ValueError(
                    f"labels must be integers; {p.name} holds float values (e.g. {block[bad][0]:.3g}) "
                    "— if this is a probability map, import it as a probability map."
                )
        if block.size:
            lo, hi = min(lo, block.min()), max(hi, block.max())
    if lo < 0:
        raise ValueError(f"{p.name} holds negative values (down to {lo:g}); label ids must be >= 0 (0 = background).")
    if kind == "i":
        return data
    if hi > np.iinfo(np.uint32).max:
        raise ValueError(f"{p.name} holds ids up to {hi:g}; at most {np.iinfo(np.uint32).max} fit in uint32.")
    return np.asarray(data).astype(np.uint32)


def _tag_channel(tags, ndim):
    """Channel axis from ilastik's axistags JSON, if recorded."""
    if not tags:
        return None
    import json

    try:
        keys = [a.get("key") for a in json.loads(tags).get("axes", [])]
    except (ValueError, AttributeError):
        return None
    return keys.index("c") if len(keys) == ndim and "c" in keys else None


def read_probability(path, *, channel=None, dataset=None, channel_axis=None) -> np.ndarray:
    """Read a probability map (e.g. an ilastik export) as float32 in [0, 1].

    Parameters
    ----------
    path : str or Path
        Any format :func:`read_label_image` reads.
    channel : int, optional
        Channel to use; required when there is more than one.
    dataset : str, optional
        Array inside a Zarr group or HDF5 file.
    channel_axis : int, optional
        Where the channels are. By default ilastik's axistags when the file
        records them, otherwise (4D after dropping single-element axes) the
        smaller of the first and last axes, the last on a tie:
        ``(z, y, x, c)`` or ``(c, z, y, x)``.

    Returns
    -------
    ndarray of float32, shape (z, y, x)
        Integer data is divided by its dtype's maximum (uint8: 255).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/p.npy", np.full((2, 3, 3, 2), 51, "uint8"))
    ...     round(float(read_probability(f"{tmp}/p.npy", channel=1).max()), 3)
    0.2
    """
    data, tags, p = _read_any(path, dataset)
    shape = tuple(data.shape)
    if channel_axis is None:
        channel_axis = _tag_channel(tags, len(shape))
    elif not -len(shape) <= channel_axis < len(shape):
        raise ValueError(f"channel_axis={channel_axis} does not exist in {p.name}, of shape {shape}.")
    ca = None if channel_axis is None else channel_axis % len(shape)
    keep = [i for i, s in enumerate(shape) if s != 1 or i == ca]
    data = np.asarray(data).reshape([shape[i] for i in keep])
    if ca is not None and data.ndim != 4:
        raise ValueError(f"{p.name} has shape {shape}; with a channel axis it must be (z, y, x) plus channels.")
    if data.ndim == 4:
        axis = keep.index(ca) if ca is not None else (3 if data.shape[3] <= data.shape[0] else 0)
        n = data.shape[axis]
        if channel is None and n > 1:
            raise ValueError(
                f"{p.name} has {n} channels (axis {axis} of {data.shape}); choose one with channel=0..{n - 1} "
                "(for ilastik, the channel of the class you want)."
            )
        channel = 0 if channel is None else channel
        if not 0 <= channel < n:
            raise ValueError(f"{p.name} has {n} channels; channel={channel} does not exist (use 0..{n - 1}).")
        data = np.take(data, channel, axis=axis)
    elif data.ndim != 3:
        raise ValueError(f"{p.name} has shape {shape}; expected a 3D (z, y, x) map, optionally with channels.")
    elif channel not in (None, 0):
        raise ValueError(f"{p.name} has a single channel; channel={channel} does not exist.")
    kind = data.dtype.kind
    if kind in "iu":
        out = data.astype(np.float32) / np.float32(np.iinfo(data.dtype).max)
    elif kind in "bf":
        out = data.astype(np.float32)
    else:
        raise ValueError(f"{p.name} holds {data.dtype} values; a probability map holds numbers.")
    lo, hi = float(np.min(out)), float(np.max(out))
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(
            f"probabilities must lie in [0, 1]; {p.name} holds values from {lo:g} to {hi:g}. "
            "If this is a label image, import it as labels."
        )
    return np.clip(out, 0, 1, out=out)
