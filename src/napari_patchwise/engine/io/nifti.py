"""NIfTI volumes (``.nii``, ``.nii.gz``) with their voxel size, through ``nibabel``.

NIfTI stores its data x first (``(x, y, z[, t])``); it is read through
nibabel's array proxy (``dataobj``: an uncompressed ``.nii`` is memory-mapped,
a slab reads only its part) and shown as ``(z, y, x)`` by
:class:`~.axes.AxisView`. The voxel size is the header's zooms, in its spatial
unit (meter, mm or micron); a file whose unit is unknown and whose zooms are
all 1 (nibabel's defaults) records none. The affine's orientation is not
applied: the stored axes are taken as x, y, z. NIfTI has no nanometer or
ångström, so those are written in micrometers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry.voxelsize import convert, is_physical
from .cryoet_extra import cryoet_module
from .lazy import OnDisk

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_UNITS = {"mm": ("millimeter", 1.0), "micron": ("micrometer", 1.0), "meter": ("millimeter", 1000.0)}
_AXES = {3: "XYZ", 4: "XYZT", 5: "XYZTC"}


def open_nifti(path):
    """``(data, voxel_size, unit, axes)`` of a NIfTI file: ``data`` nibabel's lazy proxy in the stored
    order (``axes`` ``'XYZ'``...), ``voxel_size`` ``(z, y, x)``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_nifti(f"{tmp}/v.nii", np.arange(24, dtype="int16").reshape(2, 3, 4), (2.0, 1.0, 0.5),
    ...                     "micrometer")
    ...     data, vs, unit, axes = open_nifti(p)
    ...     print(data.shape, int(data[3, 2, 1]), vs, unit, axes)
    (4, 3, 2) 23 (2.0, 1.0, 0.5) micrometer XYZ
    """
    nib = cryoet_module("nibabel")
    p = Path(path)
    try:
        img = nib.load(str(p))
    except (nib.filebasedimages.ImageFileError, nib.spatialimages.HeaderDataError) as e:
        raise ValueError(f"{p.name} is not a readable NIfTI file ({e}); check that it is whole, or convert "
                         "it to TIFF or NRRD.") from None
    proxy = img.dataobj
    ndim = len(proxy.shape)
    if ndim < 3 or ndim not in _AXES:
        raise ValueError(f"{p.name} has shape {tuple(proxy.shape)}; patchwise needs a 3D (x, y, z) volume.")
    zooms = [float(f"{float(z):.7g}") for z in img.header.get_zooms()[:3]]  # stored as float32
    space_unit = img.header.get_xyzt_units()[0]
    unit, factor = _UNITS.get(space_unit, (None, 1.0))
    if unit is None and all(z == 1.0 for z in zooms) or not all(z > 0 for z in zooms):
        vs = None
    else:
        vs = tuple(float(f"{z * factor:.7g}") for z in reversed(zooms))
    data = OnDisk(proxy, np.float64 if _scaled(proxy) else None)  # scaled values read as float64
    return data, vs, (unit if vs is not None else None), _AXES[ndim]


def _scaled(proxy) -> bool:
    slope, inter = getattr(proxy, "slope", 1.0), getattr(proxy, "inter", 0.0)
    return not (slope in (1.0, None) or np.isnan(slope)) or not (inter in (0.0, None) or np.isnan(inter))


def write_nifti(path, data, voxel_size=None, unit: str | None = None, *, overwrite: bool = False) -> Path:
    """Write a ``(z, y, x)`` array as NIfTI-1 (``.nii`` or ``.nii.gz``) with its voxel size as zooms.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_nifti(f"{tmp}/l.nii.gz", np.zeros((2, 3, 4), "int64"), (30.0, 10.0, 10.0), "angstrom")
    ...     data, vs, unit, axes = open_nifti(p)
    ...     print(data.dtype, data.shape, [round(v, 6) for v in vs], unit)
    int32 (4, 3, 2) [0.003, 0.001, 0.001] micrometer
    """
    nib = cryoet_module("nibabel")
    p = Path(path)
    if p.exists() and not overwrite:
        raise FileExistsError(f"{p} exists; choose another name or allow overwriting.")
    arr = _storable(np.asarray(data), p.name)
    zooms, space = (1.0, 1.0, 1.0), "unknown"
    if voxel_size is not None:
        if unit is not None and is_physical(unit):
            target = "millimeter" if unit == "millimeter" else "micrometer"
            zooms = tuple(convert(float(v), unit, target) for v in voxel_size)
            space = "mm" if target == "millimeter" else "micron"
        else:
            zooms = tuple(float(v) for v in voxel_size)
    z, y, x = zooms
    img = nib.Nifti1Image(arr.transpose(2, 1, 0), affine=np.diag([x, y, z, 1.0]))
    img.header.set_xyzt_units(space)
    nib.save(img, str(p))
    return p


def _storable(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim != 3:
        raise ValueError(f"{name}: NIfTI volumes are written from (z, y, x) arrays, not shape {arr.shape}.")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.dtype in (np.int64, np.uint64):
        hi = int(arr.max()) if arr.size else 0
        lo = int(arr.min()) if arr.size else 0
        for t in (np.int32, np.uint32):
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                return arr.astype(t)
        raise ValueError(f"{name}: labels up to {hi} do not fit NIfTI's 32-bit integers; relabel them.")
    return arr
