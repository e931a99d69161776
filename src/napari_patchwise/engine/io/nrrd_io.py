"""NRRD volumes (``.nrrd``, e.g. MITK / 3D Slicer segmentations) with their voxel size, through ``pynrrd``.

A NRRD file lists its axes fastest first; read in C order they come slowest
first. Each spatial axis has a *space direction* (a vector in world x, y, z):
its length is the voxel size along that axis and its largest component says
which world axis it is, so a file whose axes are stored in another order is
read as the axes it names (:class:`~.axes.AxisView` shows them as z, y, x).
Without space directions, ``spacings`` give the sizes in the stored order.
The unit comes from ``space units`` (``None`` when absent). Raw
(uncompressed) data in the same file is memory-mapped; gzip / bzip2 data is
read whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry.voxelsize import common_unit, normalize_unit
from .cryoet_extra import cryoet_module

NRRD_SUFFIXES = (".nrrd", ".nhdr")


def open_nrrd(path):
    """``(data, voxel_size, unit, axes)`` of a NRRD file; ``data`` in C order (slowest axis first),
    ``axes`` its letters (``None`` when the file does not say), ``voxel_size`` ``(z, y, x)``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_nrrd(f"{tmp}/l.nrrd", np.arange(24, dtype="uint8").reshape(2, 3, 4), (2.0, 1.0, 0.5),
    ...                    "micrometer", compress=False)
    ...     data, vs, unit, axes = open_nrrd(p)
    ...     print(type(data).__name__, data.shape, int(data[1, 2, 3]), vs, unit, axes)
    memmap (2, 3, 4) 23 (2.0, 1.0, 0.5) micrometer ZYX
    """
    nrrd = cryoet_module("nrrd")
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            header = nrrd.read_header(fh)
            data = _memmap(p, header, fh.tell(), nrrd)
        if data is None:
            data, header = nrrd.read(str(p), index_order="C")
    except nrrd.NRRDError as e:
        raise ValueError(f"{p.name} is not a readable NRRD file ({e}); check that it is whole, or convert "
                         "it to TIFF or NIfTI.") from None
    vs, unit, axes = _geometry(header, data.ndim)
    return data, vs, unit, axes


def nrrd_voxel_size(path):
    """``(voxel_size, unit)`` a NRRD file records (``(None, None)``: none), from its header only,
    also when its data is compressed.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(nrrd_voxel_size(write_nrrd(f"{tmp}/l.nrrd", np.zeros((2, 3, 4), "uint8"), (2.0, 1.0, 0.5),
    ...                                      "micrometer")))
    ((2.0, 1.0, 0.5), 'micrometer')
    """
    nrrd = cryoet_module("nrrd")
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            header = nrrd.read_header(fh)
    except nrrd.NRRDError as e:
        raise ValueError(f"{p.name} is not a readable NRRD file ({e}); check that it is whole, or convert "
                         "it to TIFF or NIfTI.") from None
    vs, unit, _ = _geometry(header, int(header.get("dimension", len(header.get("sizes", ())))))
    return vs, unit


def _memmap(p: Path, header, offset: int, nrrd):
    """The data memory-mapped when it is raw, in this file, right after the header; else ``None``."""
    if (header.get("encoding") != "raw" or "data file" in header or "datafile" in header
            or header.get("line skip", header.get("lineskip", 0))
            or header.get("byte skip", header.get("byteskip", 0))):
        return None
    try:
        dtype = nrrd.reader._determine_datatype(header)
    except Exception:  # an unusual type: let pynrrd read it
        return None
    shape = tuple(int(s) for s in reversed(header["sizes"]))
    if p.stat().st_size < offset + int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{p.name} is truncated: its header describes {shape} voxels of {dtype}; copy it again.")
    return np.memmap(p, dtype=dtype, mode="r", offset=offset, shape=shape)


def _geometry(header, ndim: int):
    """``(voxel_size, unit, axes)`` of the data in C order, from space directions or spacings."""
    kinds = list(header.get("kinds") or [])
    directions = header.get("space directions")
    letters, sizes = [], {}
    if directions is not None:
        for i, row in enumerate(directions):  # file order: fastest axis first
            row = np.asarray(row, dtype=float) if row is not None else None
            if row is None or not np.all(np.isfinite(row)) or not np.any(row):
                letters.append("T" if i < len(kinds) and kinds[i] == "time" else "C")
                continue
            letter = "XYZ"[int(np.argmax(np.abs(row[:3])))] if row.size >= 3 else "?"
            letters.append(letter)
            sizes[letter] = float(np.linalg.norm(row))
    elif header.get("spacings") is not None:
        spacings = [float(s) for s in header["spacings"]]
        space = iter("XYZ")
        for s in spacings:
            if np.isfinite(s) and ndim >= 3:
                letter = next(space, "?")
                letters.append(letter)
                sizes[letter] = s
            else:
                letters.append("C")
    axes = "".join(reversed(letters)) if len(letters) == ndim else None
    if axes is None or sorted(a for a in axes if a in "XYZ") != ["X", "Y", "Z"] or "?" in axes:
        return None, None, None
    units = [normalize_unit(u) for u in (header.get("space units") or [])]
    vs = tuple(sizes[a] for a in "ZYX")
    if not all(v > 0 for v in vs):
        return None, None, axes
    if len(units) >= 3 and all(units[:3]):
        vs, unit = common_unit(vs, list(reversed(units[:3])))  # space units are x, y, z
    else:
        unit = None
    return (vs[0], vs[1], vs[2]), unit, axes


def write_nrrd(path, data, voxel_size=None, unit: str | None = None, *, compress: bool = True,
               overwrite: bool = False) -> Path:
    """Write a ``(z, y, x)`` array as NRRD (gzip unless ``compress=False``) with space directions.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_nrrd(f"{tmp}/l.nrrd", np.zeros((2, 3, 4), "uint32"), (3.0, 2.0, 1.0), "nanometer")
    ...     data, vs, unit, axes = open_nrrd(p)
    ...     print(data.dtype, data.shape, vs, unit, axes)
    uint32 (2, 3, 4) (3.0, 2.0, 1.0) nanometer ZYX
    """
    nrrd = cryoet_module("nrrd")
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; choose another name or allow overwriting.")
    arr = np.asarray(data)
    if arr.ndim != 3:
        raise ValueError(f"{p.name}: NRRD volumes are written from (z, y, x) arrays, not shape {arr.shape}.")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    header: dict = {"encoding": "gzip" if compress else "raw", "kinds": ["domain"] * 3}
    if voxel_size is not None:
        z, y, x = (float(v) for v in voxel_size)
        header["space dimension"] = 3
        header["space directions"] = np.diag([x, y, z])
        if unit:
            header["space units"] = [unit] * 3
    nrrd.write(str(p), arr, header, index_order="C")
    return p
