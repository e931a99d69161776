"""Writing TIFF files that record their voxel size (ImageJ and tifffile metadata), with channels too."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_tiff(path, data, voxel_size=None, unit: str = "micrometer") -> Path:
    """Write a 3D array as an ImageJ-readable TIFF, recording the voxel size (if given).

    The file is written next to its final name and renamed into place; any
    dtype is kept (see :func:`write_tiff_spaced`).
    """
    p = Path(path)
    tmp = p.with_name(p.name + ".partial")
    arr = np.asarray(data)
    if voxel_size is None:
        import tifffile

        tifffile.imwrite(tmp, arr, photometric="minisblack")
    else:
        write_tiff_spaced(tmp, arr, voxel_size, unit)
    tmp.replace(p)
    return p


_IMAGEJ_UNITS = {"micrometer": "um", "micron": "um", "µm": "um", "nanometer": "nm", "millimeter": "mm"}


def imagej_unit(unit: str) -> str:
    """The unit as ImageJ spells it (``'micrometer'`` -> ``'um'``).

    Examples
    --------
    >>> imagej_unit("micrometer"), imagej_unit("nanometer"), imagej_unit("pixel")
    ('um', 'nm', 'pixel')
    """
    return _IMAGEJ_UNITS.get(unit.strip().lower(), unit.strip() or "pixel")


def write_tiff_spaced(path, data, spacing: Sequence[float], unit: str = "micrometer") -> Path:
    """Write a 2D ``(y, x)`` or 3D ``(z, y, x)`` array as a TIFF that records its pixel size.

    Unlike ImageJ-mode writing, any integer or float dtype is kept (e.g.
    int32 masks holding ``-1``); the ImageJ description is written by hand so
    Fiji and tifffile still read ``spacing`` and ``unit`` (a single-slice 3D
    array gets tifffile's own shape record instead, so it reads back 3D). No
    date is written: equal input gives equal bytes.

    Parameters
    ----------
    path : str or Path
    data : array-like
        2D or 3D, one channel.
    spacing : sequence of float
        Pixel size per axis of ``data`` (``(y, x)`` or ``(z, y, x)``).
    unit : str
        Physical unit of ``spacing``.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_tiff_spaced(f"{tmp}/m.tif", np.full((2, 3, 4), -1, np.int32), (2.0, 0.5, 0.25))
    ...     with tifffile.TiffFile(p) as tif:
    ...         tags, meta = tif.pages[0].tags, tif.imagej_metadata
    ...         print(tif.asarray().min(), meta["spacing"], tags["XResolution"].value)
    -1 2.0 (4, 1)
    """
    import tifffile

    arr = np.ascontiguousarray(data)
    if arr.ndim not in (2, 3) or len(spacing) != arr.ndim:
        raise ValueError(
            f"need a 2D or 3D array with one spacing per axis; got {arr.shape} and {tuple(spacing)}."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    y, x = (float(s) for s in spacing[-2:])
    nz = arr.shape[0] if arr.ndim == 3 else 1
    meta: dict = {"metadata": None}
    if arr.ndim == 3 and nz == 1:  # an ImageJ description would make it 2D: keep tifffile's shape record
        meta = {"metadata": {"axes": "ZYX", "spacing": float(spacing[0]), "unit": imagej_unit(unit)}}
    else:
        lines = ["ImageJ=1.11a", f"images={nz}"]
        if arr.ndim == 3:
            lines += [f"slices={nz}", f"spacing={float(spacing[0])!r}"]
        lines += [f"unit={imagej_unit(unit)}", "loop=false"]
        meta["description"] = "\n".join(lines) + "\n"
    p = Path(path)
    tifffile.imwrite(p, arr, photometric="minisblack", resolution=(1.0 / x, 1.0 / y), resolutionunit=1,
                     software="napari-patchwise", **meta)
    return p


def write_tiff_channels(path, data, axes: str, spacing: Sequence[float], unit: str = "micrometer") -> Path:
    """Write an array with a channel axis as a TIFF that records its axes and pixel size.

    The axes (e.g. ``'ZYXC'`` for StarDist, ``'CYX'`` for Cellpose) go into
    tifffile's shape metadata, so ``tifffile.imread`` gives the array back in
    that order; the y/x pixel size goes into the resolution tags.

    Parameters
    ----------
    path : str or Path
    data : array-like
        One axis per letter of ``axes``.
    axes : str
        ``C`` (channel) with ``YX`` and optionally ``Z``.
    spacing : sequence of float
        Pixel size of the spatial axes, in their order (``(z, y, x)`` or ``(y, x)``).
    unit : str

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_tiff_channels(f"{tmp}/c.tif", np.zeros((2, 3, 4, 2), np.uint16), "ZYXC", (2.0, 0.5, 0.25))
    ...     with tifffile.TiffFile(p) as tif:
    ...         print(tif.series[0].axes, tif.asarray().shape, tif.pages[0].tags["XResolution"].value)
    ZYXC (2, 3, 4, 2) (4, 1)
    """
    import tifffile

    arr = np.ascontiguousarray(data)
    axes = axes.upper()
    if arr.ndim != len(axes) or "C" not in axes or not axes.replace("C", "").endswith("YX"):
        raise ValueError(f"axes {axes!r} do not fit an array of shape {arr.shape} with a channel axis.")
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    y, x = (float(s) for s in spacing[-2:])
    p = Path(path)
    tifffile.imwrite(p, arr, photometric="minisblack", planarconfig="separate" if axes.endswith("C") else None,
                     resolution=(1.0 / x, 1.0 / y), resolutionunit=1, software="napari-patchwise",
                     metadata={"axes": axes, "unit": imagej_unit(unit)})
    return p
