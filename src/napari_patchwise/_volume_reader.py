"""napari reader for MRC / REC, NRRD and NIfTI volumes (cryo-ET tomograms, MITK and medical masks).

napari has no reader of its own for them. The volume opens with the voxel size
and unit its file records (MRC: ångström), as an Image layer read lazily (a
dask array over the memory-mapped file: napari reads only the planes it shows)
or, for labels (integers named like labels, booleans, integers of 32 bits or
more; see :func:`.engine.io.hdf5.dataset_role`), as a Labels layer loaded so it
can be painted. The packages are the ``cryoet`` extra; without them napari
shows the message naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .engine.io.contrast import robust_contrast_limits
from .engine.io.hdf5 import dataset_role
from .engine.io.lazy import lazy_volume
from .engine.io.mrc import MRC_SUFFIXES
from .engine.io.nifti import NIFTI_SUFFIXES
from .engine.io.nrrd_io import NRRD_SUFFIXES
from .engine.io.volumes import read_volume
from .layers.box_shapes import METADATA_KEY

SUFFIXES = MRC_SUFFIXES + NRRD_SUFFIXES + NIFTI_SUFFIXES


def get_volume_reader(path):
    """Return :func:`read_volume_layers` for one MRC, NRRD or NIfTI file, else ``None``."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, str | os.PathLike) or not str(path).lower().endswith(SUFFIXES):
        return None
    return read_volume_layers


def read_volume_layers(path) -> list[tuple]:
    """One layer data tuple: the volume as an Image (lazy) or Labels layer, with its voxel size."""
    if isinstance(path, list | tuple):
        path = path[0]
    vol = read_volume(path)
    name = Path(vol.path).name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    kwargs: dict = {"name": name, "metadata": {METADATA_KEY: {"voxel_size_known": vol.voxel_size is not None}}}
    if vol.voxel_size is not None:
        lead = vol.data.ndim - 3  # channels or time points before z, y, x
        kwargs["scale"] = (1.0,) * lead + tuple(vol.voxel_size)
        if vol.unit:
            kwargs["units"] = ("pixel",) * lead + (vol.unit,) * 3
    if dataset_role(name, vol.data.dtype) == "labels":
        return [(np.asarray(vol.data), kwargs, "labels")]
    kwargs["contrast_limits"] = robust_contrast_limits(vol.data)
    return [(lazy_volume(vol.data), kwargs, "image")]
