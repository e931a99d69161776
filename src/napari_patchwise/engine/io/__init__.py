"""Volumes in and out, with their voxel size: TIFF, Zarr / OME-Zarr, HDF5, .npy."""

from .volumes import Volume, read_volume, read_voxel_size
from .tiff_write import write_tiff, write_tiff_spaced
from .hdf5 import list_datasets, open_dataset
from .safeload import UnsafeFileError, load_npy
from .contrast import robust_contrast_limits
from .lazy import lazy_volume

__all__ = [
    "UnsafeFileError",
    "Volume",
    "lazy_volume",
    "list_datasets",
    "load_npy",
    "open_dataset",
    "read_volume",
    "read_voxel_size",
    "robust_contrast_limits",
    "write_tiff",
    "write_tiff_spaced",
]
