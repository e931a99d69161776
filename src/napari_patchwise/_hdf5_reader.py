"""napari reader for HDF5 volumes (``.h5`` / ``.hdf5``, e.g. from ilastik, PlantSeg, EM pipelines).

napari's own reader lists ``*.h5`` but cannot read it, so napari asks which
reader to use; Patchwise is listed first. Every image dataset opens as an
Image layer (lazily, contrast from robust percentiles), every label dataset
as a Labels layer (loaded, so it can be painted), all with the voxel size the
file records (``element_size_um`` and similar attributes; a dataset without
one takes that of a dataset of the same shape). ``file.h5:raw`` opens one
dataset.
"""

from __future__ import annotations

import os
import numpy as np

from .engine.io.contrast import robust_contrast_limits
from .engine.io.hdf5 import dataset_role, h5py_module, is_hdf5, list_datasets, open_dataset, split_dataset
from .layers.box_shapes import METADATA_KEY


def get_hdf5_reader(path):
    """Return :func:`read_hdf5` for one ``.h5`` / ``.hdf5`` path, else ``None``."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, str | os.PathLike) or not is_hdf5(path):
        return None
    return read_hdf5


def read_hdf5(path) -> list[tuple]:
    """Layer data tuples for the datasets of an HDF5 file (or the one its ``:dataset`` suffix names)."""
    if isinstance(path, list | tuple):
        path = path[0]
    h5py_module()  # a clear message naming the extra when h5py is missing
    file, only = split_dataset(path)
    names = [only] if only else [d.name for d in list_datasets(file) if d.spatial_ndim >= 2]
    if not names:
        raise ValueError(f"{file.name} holds no image or label dataset of two or more dimensions.")
    opened = [open_dataset(file, wanted) for wanted in names]
    by_shape = {tuple(ds.shape[-3:]): (vs, unit) for ds, _, vs, unit in opened if vs is not None}
    images, labels = [], []
    for ds, name, vs, unit in opened:
        if vs is None:  # e.g. labels saved beside a raw volume that carries the voxel size
            vs, unit = by_shape.get(tuple(ds.shape[-3:]), (None, None))
        ndim = ds.ndim
        kwargs: dict = {
            "name": file.stem if len(names) == 1 else f"{file.stem} {name}",
            "metadata": {METADATA_KEY: {"dataset": name, "voxel_size_known": vs is not None}},
        }
        if vs is not None and ndim >= 2:
            spatial = vs[-min(ndim, 3):]
            kwargs["scale"] = (1.0,) * (ndim - len(spatial)) + tuple(spatial)
            if unit:
                kwargs["units"] = ("pixel",) * (ndim - len(spatial)) + (unit,) * len(spatial)
        if dataset_role(name, ds.dtype) == "labels":
            labels.append((np.asarray(ds), kwargs, "labels"))
        else:
            kwargs["contrast_limits"] = robust_contrast_limits(ds if ndim >= 3 else np.asarray(ds)[None])
            images.append((ds, kwargs, "image"))
    return images + labels
