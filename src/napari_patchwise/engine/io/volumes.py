"""Reading and writing volumes: TIFF, Zarr / OME-Zarr, HDF5, ``.npy``, MRC, NRRD and NIfTI, with their voxel size.

Zarr, HDF5 and ``.npy`` volumes are opened lazily (nothing is loaded until
sliced); TIFF files are memory-mapped when they are stored uncompressed, and
so are MRC, raw NRRD and ``.nii`` files (:mod:`.mrc`, :mod:`.nrrd_io`,
:mod:`.nifti`; gzip-compressed ones are read whole). The voxel size and its
unit come from the file (ImageJ and OME-TIFF tags, OME-Zarr coordinate
transformations, HDF5 attributes, the MRC header in ångström, NRRD space
directions, NIfTI zooms; see :mod:`.volume_meta` and :mod:`.hdf5`); ``None``
means the file records none.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .axes import AxisView, axis_length, ngff_axes, ngff_channel_names, resolve_axes, tiff_axes
from .channels import tiff_channel_names
from .filecheck import _is_zarr, open_npy, open_tiff, refuse_folder
from .hdf5 import HDF5_SUFFIXES, open_dataset, split_dataset
from .mrc import MRC_SUFFIXES
from .nifti import NIFTI_SUFFIXES
from .nrrd_io import NRRD_SUFFIXES

from .volume_meta import ngff_voxel_size, tiff_voxel_size

TIFF_SUFFIXES = (".tif", ".tiff")
FORMATS_HINT = ("use a TIFF (.tif/.tiff), Zarr/OME-Zarr (.zarr), HDF5 (.h5, file.h5:dataset), .npy, MRC (.mrc/.rec), "
                "NRRD (.nrrd) or NIfTI (.nii/.nii.gz) volume")


@dataclass(frozen=True)
class Volume:
    """A 3D array with what is known about its voxel size.

    Parameters
    ----------
    data : array-like
        ``(z, y, x)`` array (numpy, memmap, zarr or h5py).
    voxel_size : tuple of float or None
        Physical voxel size if the file records one (``None``: unknown).
    path : str
        The file it was read from.
    unit : str or None
        Unit of ``voxel_size`` (UDUNITS-2 name, e.g. ``'micrometer'``) if recorded.
    dataset : str or None
        The dataset read, for files holding several (HDF5).
    axes : str
        The file's axes (``'ZYX'``, ``'TZYX'``, ``'CZYX'``, ...; see :mod:`.axes`).
    time : int or None
        The time point ``data`` shows, for a file with time points.
    time_points : int
        How many time points the file holds (1: none).
    channels : int
        Channels of ``data``: more than one makes it ``(c, z, y, x)``.
    channel_names : tuple of str or None
        The channel names the file records (OME-TIFF, OME-Zarr), if any.
    """

    data: object
    voxel_size: tuple[float, float, float] | None
    path: str
    unit: str | None = None
    dataset: str | None = None
    axes: str = "ZYX"
    time: int | None = None
    time_points: int = 1
    channels: int = 1
    channel_names: tuple[str, ...] | None = None


def _read_zarr(path: Path):
    """``(array, voxel_size, unit)`` of a Zarr array, OME-Zarr image or plain group."""
    import zarr

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return node, None, None
    attrs = dict(node.attrs)
    ms = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if ms:
        arr = node[ms[0]["datasets"][0]["path"]]
        vs, unit = ngff_voxel_size(ms[0])
        return arr, vs, unit
    arrays = sorted(node.array_keys())
    if not arrays:
        raise ValueError(f"{path} is a Zarr group without arrays; point at the array to read.")
    return node[arrays[0]], None, None


def read_volume(path, *, channels: bool = False, dataset: str | None = None, axes: str | None = None,
                time: int | None = None) -> Volume:
    """Open a 3D volume from a TIFF, Zarr / OME-Zarr, HDF5 or ``.npy`` file.

    Parameters
    ----------
    path : str or Path
        The file; for HDF5 optionally with the dataset, ``file.h5:raw`` or
        ``file.h5/raw``.
    channels : bool
        Also accept a ``(C, z, y, x)`` array (e.g. class probabilities).
    dataset : str, optional
        HDF5 dataset to read (default: the path's suffix, else the only or
        obvious image dataset, see :func:`.hdf5.choose_image_dataset`).
    axes : str, optional
        The file's axes (e.g. ``'TZYX'``), over those its metadata records
        (see :func:`.axes.resolve_axes`).
    time : int, optional
        The time point to read, for a file with time points (read lazily:
        slicing it never reads the others; :func:`read_time_points` gives them all).

    Returns
    -------
    Volume
        ``data`` is ``(z, y, x)``, or ``(c, z, y, x)`` for a file with channels.

    Raises
    ------
    FileNotFoundError
        If there is nothing at ``path``.
    ValueError
        If the format is not supported or the data is not a single 3D volume.
    ImportError
        For HDF5 without h5py (the message names the extra to install).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     from napari_patchwise.engine.io.tiff_write import write_tiff
    ...     p = write_tiff(f"{tmp}/v.tif", np.zeros((4, 8, 8), "uint8"), (2.0, 0.5, 0.5))
    ...     vol = read_volume(p)
    ...     print(vol.data.shape, vol.voxel_size, vol.unit)
    (4, 8, 8) (2.0, 0.5, 0.5) micrometer
    """
    vol, recorded = _open_raw(path, dataset)
    if channels and axes is None:
        return dataclasses.replace(vol, data=_squeeze_to_3d(vol.data, Path(vol.path), True))
    file_axes = resolve_axes(vol.data.shape, recorded, axes, Path(vol.path).name)
    return _view(vol, file_axes, time)


def read_time_points(path, *, dataset: str | None = None, axes: str | None = None,
                     times=None) -> list[Volume]:
    """One :class:`Volume` per time point of a file (one in all for a file without time points).

    Each is read lazily: slicing one never reads another's planes.

    Parameters
    ----------
    times : sequence of int, optional
        The time points wanted (default: all).

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     tifffile.imwrite(f"{tmp}/t.tif", np.arange(3 * 2 * 4 * 4, dtype="uint8").reshape(3, 2, 4, 4),
    ...                      imagej=True, metadata={"axes": "TZYX"})
    ...     vols = read_time_points(f"{tmp}/t.tif", times=[0, 2])
    ...     print([(v.axes, v.time, v.time_points, v.data.shape, int(v.data[0, 0, 0])) for v in vols])
    [('TZYX', 0, 3, (2, 4, 4), 0), ('TZYX', 2, 3, (2, 4, 4), 64)]
    """
    vol, recorded = _open_raw(path, dataset)
    file_axes = resolve_axes(vol.data.shape, recorded, axes, Path(vol.path).name)
    count = axis_length(vol.data.shape, file_axes, "T")
    if count == 1:
        return [_view(vol, file_axes, None)]
    return [_view(vol, file_axes, int(t)) for t in (range(count) if times is None else times)]


def _open_raw(path, dataset) -> tuple[Volume, str | None]:
    """The file's array as stored (a Volume of any shape) and the axes its metadata records."""
    p, suffix_dataset = split_dataset(path)
    if not p.exists():
        raise FileNotFoundError(f"no image at {p}; check the path.")
    refuse_folder(p)
    name = p.name.lower()
    vs = unit = recorded = names = None
    if name.endswith(HDF5_SUFFIXES):
        data, dataset, vs, unit = open_dataset(p, dataset or suffix_dataset)
    elif name.endswith(TIFF_SUFFIXES):
        recorded, ndim, names = _tiff_axes(p)
        data, (vs, unit) = open_tiff(p, paged=ndim > 3)
    elif name.endswith(".npy"):
        data = open_npy(p)
    elif _is_zarr(p):
        data, vs, unit, recorded, names = _read_zarr_axes(p)
    elif name.endswith(MRC_SUFFIXES + NRRD_SUFFIXES + NIFTI_SUFFIXES):
        data, vs, unit, recorded = open_cryoet(p)
    else:
        raise ValueError(f"cannot read {p.name}: {FORMATS_HINT}.")
    return Volume(data=data, voxel_size=vs, path=str(p), unit=unit,
                  dataset=dataset if name.endswith(HDF5_SUFFIXES) else None, channel_names=names), recorded


def open_cryoet(p: Path):
    """``(data, voxel_size, unit, axes)`` of an MRC, NRRD or NIfTI file; a 3D volume stored in another
    axis order (NIfTI's x, y, z) comes as a lazy ``(z, y, x)`` view with axes ``'ZYX'``.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.io.nifti import write_nifti
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_nifti(f"{tmp}/v.nii.gz", np.arange(24, dtype="uint8").reshape(2, 3, 4), (2, 1, 1), "micrometer")
    ...     data, vs, unit, axes = open_cryoet(Path(p))
    ...     print(data.shape, int(data[1, 2, 3]), vs, axes)
    (2, 3, 4) 23 (2.0, 1.0, 1.0) ZYX
    """
    name = p.name.lower()
    if name.endswith(MRC_SUFFIXES):
        from .mrc import open_mrc as opener
    elif name.endswith(NRRD_SUFFIXES):
        from .nrrd_io import open_nrrd as opener
    else:
        from .nifti import open_nifti as opener
    data, vs, unit, axes = opener(p)
    if axes is not None and len(axes) == 3 and axes != "ZYX":
        data, axes = AxisView(data, axes), "ZYX"
    return data, vs, unit, axes


def _view(vol: Volume, file_axes: str, time: int | None) -> Volume:
    """``vol`` as one time point, ``(z, y, x)`` or ``(c, z, y, x)``, with what is known of its axes."""
    shape = tuple(vol.data.shape)
    count = axis_length(shape, file_axes, "T")
    if count > 1 and time is None:
        raise ValueError(f"{Path(vol.path).name} holds {count} time points (axes {file_axes}); choose one "
                         "(patchwise propose adds each as an image: --time picks some).")
    if time is not None and count == 1:
        raise ValueError(f"{Path(vol.path).name} has no time points (axes {file_axes}); leave out the time "
                         "point.")
    if file_axes == "ZYX":
        return vol
    channels = axis_length(shape, file_axes, "C")
    if count == 1 and channels == 1 and file_axes.endswith("ZYX"):
        data = vol.data[(0,) * (len(shape) - 3)]  # as before: leading axes of length one dropped
    else:
        data = AxisView(vol.data, file_axes, time)
    names = vol.channel_names if vol.channel_names is not None and len(vol.channel_names) == channels else None
    return dataclasses.replace(vol, data=data, axes=file_axes.replace("Q", ""), time=time if count > 1 else None,
                               time_points=count, channels=channels, channel_names=names if channels > 1 else None)


def _tiff_axes(p: Path) -> tuple[str | None, int, tuple[str, ...] | None]:
    """The axes a TIFF file's first series records (or ``None``), its number of dimensions and
    the channel names it records."""
    import tifffile

    try:
        with tifffile.TiffFile(p) as tif:
            if not tif.series:
                return None, 0, None
            series = tif.series[0]
            return tiff_axes(series), len(series.shape), tiff_channel_names(tif)
    except tifffile.TiffFileError:
        return None, 0, None  # open_tiff refuses it by name


def _read_zarr_axes(path: Path):
    """``(array, voxel_size, unit, axes, channel names)`` of a Zarr array, OME-Zarr image or plain group."""
    import zarr

    data, vs, unit = _read_zarr(path)
    node = zarr.open(str(path), mode="r")
    attrs = {} if isinstance(node, zarr.Array) else dict(node.attrs)
    ms = attrs.get("multiscales") or (attrs.get("ome") or {}).get("multiscales")
    return data, vs, unit, (ngff_axes(ms[0]) if ms else None), ngff_channel_names(attrs)


def read_voxel_size(path, *, dataset: str | None = None) -> tuple[tuple[float, float, float] | None, str | None]:
    """``(voxel_size, unit)`` a file records, reading its metadata only (``(None, None)``: none).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     from napari_patchwise.engine.io.tiff_write import write_tiff
    ...     p = write_tiff(f"{tmp}/v.tif", np.zeros((4, 8, 8), "uint8"), (2.0, 0.5, 0.5), "nanometer")
    ...     print(read_voxel_size(p), read_voxel_size(write_tiff(f"{tmp}/w.tif", np.zeros((2, 2, 2)))))
    ((2.0, 0.5, 0.5), 'nanometer') (None, None)
    """
    p, suffix_dataset = split_dataset(path)
    name = p.name.lower()
    if name.endswith(HDF5_SUFFIXES):
        ds, _, vs, unit = open_dataset(p, dataset or suffix_dataset)
        ds.file.close()
        return vs, unit
    if name.endswith(TIFF_SUFFIXES):
        import tifffile

        with tifffile.TiffFile(p) as tif:
            return tiff_voxel_size(tif)
    if _is_zarr(p):
        return _read_zarr(p)[1:]
    if name.endswith(MRC_SUFFIXES) and p.exists():
        from .mrc import mrc_voxel_size

        return mrc_voxel_size(p)
    if name.endswith(NRRD_SUFFIXES) and p.exists():
        from .nrrd_io import nrrd_voxel_size

        return nrrd_voxel_size(p)
    if name.endswith(NIFTI_SUFFIXES) and p.exists():
        return open_cryoet(p)[1:3]  # lazy: nibabel reads the header only
    if not p.exists():
        raise FileNotFoundError(f"no image at {p}; check the path.")
    return None, None


def _squeeze_to_3d(data, p: Path, channels: bool = False):
    shape = tuple(data.shape)
    if len(shape) > 3 and all(s == 1 for s in shape[:-3]):
        data = data[(0,) * (len(shape) - 3)]
    if channels and data.ndim == 5 and data.shape[0] == 1:  # OME-Zarr (t, c, z, y, x)
        data = data[0]
    if channels and data.ndim == 4:
        return data
    if data.ndim != 3:
        raise ValueError(
            f"{p.name} has shape {shape}; patchwise needs one 3D (z, y, x) volume. "
            "Split channels / time points first."
        )
    return data


def read_points_csv(path) -> np.ndarray:
    """Read point coordinates ``(z, y, x)`` from a CSV file.

    Accepted layouts: a header naming ``z, y, x`` columns (any order, other
    columns ignored); napari's Points export (``index, axis-0, axis-1,
    axis-2``); or no header and three numeric columns in ``z, y, x`` order.

    Returns
    -------
    ndarray of float, shape (N, 3)

    Raises
    ------
    ValueError
        If no z, y, x columns can be found or a value is not a number.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp, "pts.csv")
    ...     _ = p.write_text("index,axis-0,axis-1,axis-2\\n0,10,20.5,30\\n1,11,21,31\\n")
    ...     read_points_csv(p).tolist()
    [[10.0, 20.5, 30.0], [11.0, 21.0, 31.0]]
    """
    import csv

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no points file at {p}; check the path.")
    with open(p, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        return np.empty((0, 3))

    def numeric(row):
        try:
            [float(c) for c in row]
        except ValueError:
            return False
        return True

    header = None if numeric(rows[0]) else [c.strip().lower() for c in rows[0]]
    body = rows if header is None else rows[1:]
    if header is None:
        cols = [0, 1, 2] if len(rows[0]) == 3 else None
    elif all(k in header for k in ("z", "y", "x")):
        cols = [header.index(k) for k in ("z", "y", "x")]
    elif all(f"axis-{i}" in header for i in range(3)):
        n_axes = sum(h.startswith("axis-") for h in header)
        cols = [header.index(f"axis-{n_axes - 3 + i}") for i in range(3)]
    else:
        cols = None
    if cols is None:
        raise ValueError(
            f"{p.name}: cannot tell which columns hold z, y, x; use a header with columns "
            "named z, y, x (or napari's axis-0, axis-1, axis-2), or exactly three columns."
        )
    try:
        return np.array([[float(r[c]) for c in cols] for r in body], dtype=float).reshape(-1, 3)
    except (ValueError, IndexError) as e:
        raise ValueError(f"{p.name}: a row is not three numbers ({e}); fix or remove it.") from e
