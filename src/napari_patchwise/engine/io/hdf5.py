"""HDF5 volumes (``.h5``, as ilastik, PlantSeg and many EM tools write them).

A file holds several datasets (``raw``, ``label``, ...); one is chosen by a
``file.h5:dataset`` or ``file.h5/dataset`` suffix, or as the file's single
or obvious image dataset. The voxel size comes from ``element_size_um``
(ilastik, PlantSeg) or a similar attribute such as ``resolution_nm_zyx``.
h5py is optional (the ``hdf5`` extra) and imported only here, when used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry.voxelsize import normalize_unit

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
H5PY_HINT = "reading HDF5 needs h5py: pip install 'napari-patchwise[hdf5]' (or pip install h5py)"
#: Names of the obvious image dataset when a file holds several.
IMAGE_NAMES = ("raw", "image", "img", "data", "volume", "stack", "exported_data", "em", "input")
_LABEL_WORDS = ("label", "seg", "gt", "groundtruth", "ground_truth", "mask", "instance", "ws",
                "watershed", "overseg", "annotation")
#: Attribute names holding a voxel size: ``<name>[_<unit>][_zyx|_xyz]``.
_VOXEL_ATTR = re.compile(
    r"^(element_size|voxel_size|voxelsize|resolution|spacing|pixel_size|pixelsize|scale)"
    r"(?:_(um|nm|mm|micron|microns|angstrom|a|pm|px))?(?:_(zyx|xyz))?$", re.IGNORECASE)


def is_hdf5(path) -> bool:
    """Whether ``path`` names an HDF5 file (by its suffix, optionally with a dataset).

    Examples
    --------
    >>> is_hdf5("a/b.h5"), is_hdf5("b.H5:raw"), is_hdf5("b.hdf5/volumes/raw"), is_hdf5("b.tif")
    (True, True, True, False)
    """
    return split_dataset(path)[0].name.lower().endswith(HDF5_SUFFIXES)


def split_dataset(path) -> tuple[Path, str | None]:
    """Split ``file.h5:dataset`` / ``file.h5/dataset`` into the file and the dataset name.

    Examples
    --------
    >>> [(p.as_posix(), d) for p, d in (split_dataset("d/v.h5:raw"), split_dataset("v.h5/a/raw"),
    ...                                 split_dataset("v.h5"), split_dataset("v.tif"))]
    [('d/v.h5', 'raw'), ('v.h5', 'a/raw'), ('v.h5', None), ('v.tif', None)]
    """
    text = os.fspath(path)
    if os.path.exists(text):
        return Path(text), None
    m = re.match(r"^(.*?\.(?:h5|hdf5|hdf))(?::+|/)(.+)$", text, re.IGNORECASE)
    if m and not os.path.isdir(m.group(1)):
        return Path(m.group(1)), m.group(2).strip("/")
    return Path(text), None


def h5py_module():
    """``h5py``, or an ``ImportError`` naming the extra to install."""
    try:
        import h5py
    except ImportError as e:
        raise ImportError(H5PY_HINT) from e
    return h5py


@dataclass(frozen=True)
class DatasetInfo:
    """Name, shape and dtype of one dataset of an HDF5 file."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def role(self) -> str:
        """``'labels'`` or ``'image'`` (see :func:`dataset_role`)."""
        return dataset_role(self.name, self.dtype)

    @property
    def spatial_ndim(self) -> int:
        return sum(s > 1 for s in self.shape)

    def __str__(self) -> str:
        return f"{self.name} {'×'.join(map(str, self.shape))} {self.dtype}"


def dataset_role(name: str, dtype) -> str:
    """Whether a dataset holds labels or an image.

    Labels: integers named like labels (``label``, ``seg``, ``gt``, ``mask``...),
    booleans, and integers of 32 bits or more; everything else is an image.

    Examples
    --------
    >>> dataset_role("raw", "uint16"), dataset_role("label", "uint8"), dataset_role("stack", "int32")
    ('image', 'labels', 'labels')
    >>> dataset_role("predictions/seg", "float32"), dataset_role("groundtruth", "uint16")
    ('image', 'labels')
    """
    dt = np.dtype(dtype)
    if dt.kind not in "iub":
        return "image"
    leaf = name.rsplit("/", 1)[-1].lower()
    words = re.split(r"[^a-z0-9]+", leaf)
    if any(w.startswith(_LABEL_WORDS) for w in words if w):
        return "labels"
    return "labels" if dt.kind == "b" or dt.itemsize >= 4 else "image"


def list_datasets(path) -> list[DatasetInfo]:
    """Every dataset of an HDF5 file (nested groups too), in file order.

    Examples
    --------
    >>> import tempfile, h5py
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with h5py.File(f"{tmp}/v.h5", "w") as f:
    ...         _ = f.create_dataset("raw", data=np.zeros((2, 3, 4), "uint8"))
    ...         _ = f.create_dataset("seg/cells", data=np.zeros((2, 3, 4), "uint32"))
    ...     [str(d) for d in list_datasets(f"{tmp}/v.h5")]
    ['raw 2×3×4 uint8', 'seg/cells 2×3×4 uint32']
    """
    h5py = h5py_module()
    out: list[DatasetInfo] = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iufb" and obj.shape:
                out.append(DatasetInfo(name, tuple(int(s) for s in obj.shape), str(obj.dtype)))
        f.visititems(visit)
    return out


def choose_image_dataset(infos: list[DatasetInfo], file_name: str = "the file") -> str:
    """The dataset to read as the image when none is named.

    The only dataset; else the only 3D image dataset; else the 3D image
    dataset with an obvious name (``raw``, ``image``, ``data``...).

    Raises
    ------
    ValueError
        Listing the datasets and how to choose one.
    """
    if len(infos) == 1:
        return infos[0].name
    images = [d for d in infos if d.spatial_ndim >= 3 and d.role == "image"]
    if len(images) == 1:
        return images[0].name
    named = [d for d in images if d.name.rsplit("/", 1)[-1].lower() in IMAGE_NAMES]
    if len(named) >= 1:
        return min(named, key=lambda d: IMAGE_NAMES.index(d.name.rsplit("/", 1)[-1].lower())).name
    listing = "; ".join(map(str, infos)) or "none"
    example = (infos[0].name if infos else "raw")
    raise ValueError(
        f"{file_name} holds {len(infos)} datasets ({listing}) and none is the obvious image; "
        f"choose one with a suffix, e.g. {file_name}:{example}."
    )


def _attr_voxel_size(attrs) -> tuple[tuple[float, float, float] | None, str | None]:
    unit_attr = normalize_unit(attrs.get("unit") or attrs.get("units") or attrs.get("unit_zyx"))
    for key in attrs:
        m = _VOXEL_ATTR.match(str(key))
        if not m:
            continue
        try:
            vals = [float(v) for v in np.ravel(attrs[key])]
        except (TypeError, ValueError):
            continue
        if len(vals) < 3 or not all(np.isfinite(v) and v > 0 for v in vals[-3:]):
            continue
        vals = vals[-3:]
        if (m.group(3) or "").lower() == "xyz":
            vals = vals[::-1]
        unit = normalize_unit(m.group(2)) if m.group(2) else unit_attr
        if m.group(1).lower() == "element_size" and unit is None:
            unit = "micrometer"
        return (vals[0], vals[1], vals[2]), unit
    return None, None


def dataset_voxel_size(ds) -> tuple[tuple[float, float, float] | None, str | None]:
    """Voxel size and unit from a dataset's attributes, else its groups' (up to the file's).

    Examples
    --------
    >>> import tempfile, h5py
    >>> with tempfile.TemporaryDirectory() as tmp, h5py.File(f"{tmp}/v.h5", "w") as f:
    ...     ds = f.create_dataset("raw", data=np.zeros((2, 2, 2), "uint8"))
    ...     ds.attrs["element_size_um"] = [0.5, 0.2, 0.2]
    ...     dataset_voxel_size(ds)
    ((0.5, 0.2, 0.2), 'micrometer')
    """
    node = ds
    while True:
        vs, unit = _attr_voxel_size(node.attrs)
        if vs is not None:
            return vs, unit
        if node.name in ("/", None):
            return None, None
        node = node.parent


def open_dataset(path, dataset: str | None = None):
    """Open one dataset lazily (the file stays open read-only while it is used).

    Returns
    -------
    ds : h5py.Dataset
    name : str
        The dataset read (chosen when ``dataset`` is None).
    voxel_size, unit
        From :func:`dataset_voxel_size`.
    """
    h5py = h5py_module()
    p = Path(path)
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise ValueError(f"{p.name} is not a readable HDF5 file ({e}).") from e
    infos: list[DatasetInfo] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.shape:
            infos.append(DatasetInfo(name, tuple(int(s) for s in obj.shape), str(obj.dtype)))

    f.visititems(visit)
    if dataset is None:
        try:
            dataset = choose_image_dataset(infos, p.name)
        except ValueError:
            f.close()
            raise
    node = f.get(dataset)
    if not isinstance(node, h5py.Dataset):
        f.close()
        raise ValueError(
            f"{p.name} has no dataset {dataset!r}; it has: {'; '.join(map(str, infos)) or 'none'}."
        )
    vs, unit = dataset_voxel_size(node)
    return node, node.name.lstrip("/"), vs, unit
