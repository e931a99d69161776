"""Opening TIFF and ``.npy`` files, and refusing what they are not by name.

A text file named ``.tif`` makes tifffile say ``not a TIFF file: header=b'this'``
and a folder named ``.npy`` raises ``IsADirectoryError``; here both say what
the file is and what to give instead. ``.npy`` files are never unpickled.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .volume_meta import tiff_voxel_size


def _is_zarr(p: Path) -> bool:
    return p.name.lower().endswith(".zarr") or (
        p.is_dir() and any((p / f).exists() for f in ("zarr.json", ".zarray", ".zgroup")))


def refuse_folder(p: Path) -> None:
    """A folder where a file is expected (anything but a Zarr store) is refused by name.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     refuse_folder(Path(tmp, "."))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot read ...: ... is a folder, not an image file; give the file itself (a folder is read only as a Zarr store, name.zarr).
    """
    if p.is_dir() and not _is_zarr(p):
        raise ValueError(
            f"cannot read {p.name}: {p} is a folder, not an image file; give the file itself (a folder "
            "is read only as a Zarr store, name.zarr)."
        )


def _not_a(p: Path, what: str, fix: str) -> ValueError:
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
    except OSError:
        head = b""
    return ValueError(f"{p.name} is not a {what} (it starts with {head!r}); {fix}")


def open_tiff(p: Path, paged: bool = False):
    """A TIFF file's data (memory-mapped when stored plainly) and its voxel size and unit;
    a file that is not a TIFF is refused by name.

    ``paged``: a compressed or tiled file is read page by page when sliced
    (:class:`~.axes.TiffPages`) instead of whole.
    """
    import tifffile

    from .workload import check_tiff_read

    try:
        with tifffile.TiffFile(p) as tif:
            meta = tiff_voxel_size(tif)
            series = tif.series[0] if tif.series else None
            claimed = None if series is None else (tuple(series.shape), series.dtype,
                                                   tif.pages[0].compression != 1)
    except tifffile.TiffFileError:
        raise _not_a(p, "TIFF file", "save the image as a TIFF again, or give the right file.") from None
    try:
        data = tifffile.memmap(p, mode="r")
    except ValueError:  # compressed or tiled: read it whole, if it fits in memory
        if paged:
            from .axes import TiffPages

            return TiffPages(p), meta
        if claimed is not None:
            check_tiff_read(p, *claimed)
        data = tifffile.imread(p)
    return data, meta


def open_npy(p: Path):
    """A ``.npy`` array, memory-mapped; never unpickles (object arrays are refused by name).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "t.npy").write_text("hello")
    ...     open_npy(Path(tmp, "t.npy"))
    Traceback (most recent call last):
    ...
    ValueError: t.npy is not a NumPy .npy file (it starts with b'hello'); save the array with numpy.save, or give the right file.
    """
    not_npy = _not_a(p, "NumPy .npy file", "save the array with numpy.save, or give the right file.")
    with open(p, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise not_npy
    _check_npy_size(p)
    try:
        return np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e) or "Python objects" in str(e):
            raise ValueError(
                f"{p.name} holds pickled Python objects, not an array; it is not read (a pickle can "
                "run code). Save the volume with numpy.save of a numeric array, or as a TIFF."
            ) from None
        raise not_npy from None
    except (EOFError, OSError):
        raise not_npy from None


def _check_npy_size(p: Path) -> None:
    """Refuse a ``.npy`` file whose header claims more data than the file holds (before mapping it)."""
    from numpy.lib import format as npy_format

    try:
        with open(p, "rb") as f:
            version = npy_format.read_magic(f)
            read = {(1, 0): npy_format.read_array_header_1_0,
                    (2, 0): npy_format.read_array_header_2_0}.get(version)
            if read is None:  # a newer header: numpy checks it when mapping
                return
            shape, _, dtype = read(f)
            start = f.tell()
    except (ValueError, OSError, SyntaxError) as e:
        raise ValueError(f"{p.name} is not a readable .npy file ({e}); check it was saved with "
                         "numpy.save.") from None
    if dtype.hasobject:  # refused by name when it is loaded
        return
    need = math.prod(shape) * dtype.itemsize
    held = p.stat().st_size - start
    if need > held:
        raise ValueError(
            f"{p.name} claims shape {tuple(shape)} of {dtype} ({need:,} bytes) but holds only "
            f"{held:,} bytes of data; the file is truncated or its header is wrong. Save it "
            "again with numpy.save.")
