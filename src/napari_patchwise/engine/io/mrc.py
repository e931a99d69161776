"""MRC / REC volumes (cryo-ET tomograms, cryo-EM maps) with their voxel size, through ``mrcfile``.

An MRC file records its voxel size in ångström for x, y and z, and stores its
data with x varying fastest: read as a numpy array it is ``(z, y, x)`` already
(for the usual axis mapping ``MAPC, MAPR, MAPS = 1, 2, 3``; another mapping
is read as the axes it names). The data is memory-mapped, so a tomogram larger
than memory is read a slab at a time; gzip- or bzip2-compressed files are
read whole. A voxel size of zero means the file records none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry.voxelsize import convert, is_physical
from .cryoet_extra import cryoet_module

MRC_SUFFIXES = (".mrc", ".rec", ".map", ".mrcs", ".st", ".ali")
_HEADER_BYTES = 1024
_MAGIC = {b"\x1f\x8b": "gzip", b"BZ": "bzip2"}


def open_mrc(path):
    """``(data, voxel_size, unit, axes)`` of an MRC file: data memory-mapped, voxel size ``(z, y, x)``
    in ångström (``None`` if unset), the axes of ``data`` (``'ZYX'`` for the usual mapping).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_mrc(f"{tmp}/t.mrc", np.arange(24, dtype="int16").reshape(2, 3, 4), (2.0, 1.0, 0.5),
    ...                   "nanometer")
    ...     data, vs, unit, axes = open_mrc(p)
    ...     print(type(data).__name__, data.shape, int(data[1, 2, 3]), vs, unit, axes)
    memmap (2, 3, 4) 23 (20.0, 10.0, 5.0) angstrom ZYX
    """
    mrcfile = cryoet_module("mrcfile")
    p = Path(path)
    with open(p, "rb") as f:
        compressed = _MAGIC.get(f.read(2))
    if compressed:
        with mrcfile.open(p, permissive=True) as mrc:
            header, data = mrc.header.copy(), np.asarray(mrc.data).copy()
    else:
        with mrcfile.open(p, header_only=True, permissive=True) as mrc:
            header = mrc.header.copy()
        data = _memmap(p, header, mrcfile)
    if data.ndim < 3:
        raise ValueError(f"{p.name} holds one 2D image {data.shape}; patchwise needs a 3D volume.")
    return (data, *_voxel_size(header), _axes(header, data.ndim))


def mrc_voxel_size(path):
    """``(voxel_size, unit)`` an MRC file records (``(None, None)``: none), from its header only,
    also when the file is compressed.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(mrc_voxel_size(write_mrc(f"{tmp}/t.mrc", np.zeros((2, 3, 4), "int16"), (2.0, 1.0, 1.0))))
    ((2.0, 1.0, 1.0), 'angstrom')
    """
    mrcfile = cryoet_module("mrcfile")
    with mrcfile.open(Path(path), header_only=True, permissive=True) as mrc:
        return _voxel_size(mrc.header)


def _voxel_size(header):
    """``(voxel_size (z, y, x) in ångström, 'angstrom')`` of an MRC header, ``(None, None)`` when unset."""
    vs = tuple(float(f"{float(header.cella[a]) / int(header[f'm{a}']):.7g}") if int(header[f"m{a}"]) else 0.0
               for a in "zyx")  # the cell is stored as float32: no digits beyond its precision
    known = all(v > 0 for v in vs)
    return (vs if known else None), ("angstrom" if known else None)


def _memmap(p: Path, header, mrcfile) -> np.memmap:
    dtype = mrcfile.utils.data_dtype_from_header(header)
    shape = mrcfile.utils.data_shape_from_header(header)
    offset = _HEADER_BYTES + int(header.nsymbt)
    need = offset + int(np.prod(shape)) * dtype.itemsize
    size = p.stat().st_size
    if size < need:
        raise ValueError(f"{p.name} is truncated: its header describes {shape} voxels of {dtype} "
                         f"({need} bytes with the header) but the file has {size} bytes; copy it again.")
    return np.memmap(p, dtype=dtype, mode="r", offset=offset, shape=shape)


def _axes(header, ndim: int) -> str:
    """The axes of the data as read: slowest to fastest, ``MAPS, MAPR, MAPC`` (1: x, 2: y, 3: z)."""
    try:
        order = "".join("XYZ"[int(header[k]) - 1] for k in ("maps", "mapr", "mapc"))
    except (IndexError, ValueError):
        order = "ZYX"
    if sorted(order) != ["X", "Y", "Z"]:
        order = "ZYX"
    return ("T" if ndim == 4 else "") + order  # a volume stack (space group 401): one volume per time point


def write_mrc(path, data, voxel_size=None, unit: str | None = None, *, overwrite: bool = False) -> Path:
    """Write a ``(z, y, x)`` array as MRC with its voxel size (stored in ångström).

    Parameters
    ----------
    data : array-like
        ``(z, y, x)``; int8, int16, uint16, float16, float32 as they are; uint8
        is stored as uint16 (MRC mode 6), other integers as int16 / uint16
        when their values fit, else float32 when they are below 2**24.
    voxel_size : (z, y, x) floats, optional
        In ``unit`` (``None``: ångström, as MRC has no other).
    overwrite : bool
        Replace an existing file (otherwise refused).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_mrc(f"{tmp}/l.mrc", np.array([[[0, 70000]]], "uint32"), (1, 1, 1), "nanometer")
    ...     data, vs, unit, _ = open_mrc(p)
    ...     print(data.dtype, data.tolist(), vs)
    float32 [[[0.0, 70000.0]]] (10.0, 10.0, 10.0)
    """
    mrcfile = cryoet_module("mrcfile")
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; choose another name or allow overwriting.")
    arr = _storable(np.asarray(data), p.name)
    with mrcfile.new(p, overwrite=True) as mrc:
        mrc.set_data(arr)
        if voxel_size is not None:
            z, y, x = (float(v) if unit is None or not is_physical(unit) else convert(float(v), unit, "angstrom")
                       for v in voxel_size)
            mrc.voxel_size = (x, y, z)
    return p


def _storable(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim != 3:
        raise ValueError(f"{name}: MRC volumes are written from (z, y, x) arrays, not shape {arr.shape}.")
    kind = arr.dtype
    if kind in (np.int8, np.int16, np.uint16, np.float16, np.float32):
        return arr
    if kind == np.uint8 or kind == np.bool_:
        return arr.astype(np.uint16)
    if kind.kind in "iu":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        for t in (np.int16, np.uint16):
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                return arr.astype(t)
        if -(2 ** 24) <= lo and hi <= 2 ** 24:
            return arr.astype(np.float32)
        raise ValueError(f"{name}: labels up to {hi} do not fit MRC (float32 holds integers up to 2**24 "
                         "exactly); relabel them or write TIFF / Zarr.")
    if kind.kind == "f":
        return arr.astype(np.float32)
    raise ValueError(f"{name}: MRC cannot hold {kind} data.")
