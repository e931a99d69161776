"""A volume as a lazy (dask) array, so a viewer reads only the slices it shows."""

from __future__ import annotations

import numpy as np

from .contrast import stored_chunks


class OnDisk:
    """A memory-mapped array (or another lazy one, e.g. nibabel's proxy) that reads only what is
    sliced (and has no ``copy`` for dask to call).

    Examples
    --------
    >>> view = OnDisk(np.arange(8).reshape(2, 2, 2))
    >>> view.shape, view.dtype, view[1, 1].tolist()
    ((2, 2, 2), dtype('int64'), [6, 7])
    """

    def __init__(self, base, dtype=None):
        self.base = base
        self.shape = tuple(int(s) for s in base.shape)
        self.dtype = np.dtype(base.dtype if dtype is None else dtype)  # what reading gives, if not base's
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        return np.array(self.base[key])

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base)  # a memmap's view, or what a lazy proxy reads
        if out is self.base or isinstance(out, np.memmap):
            return np.array(out, dtype=dtype)  # a plain array, off the file
        return out if dtype is None else out.astype(dtype, copy=False)


def lazy_volume(data):
    """``data`` as a dask array read on demand, one z-plane (or one stored chunk) per block.

    A memory-mapped TIFF or MRC, a Zarr array or an HDF5 dataset stays on disk
    until a block is computed; chunked arrays keep their own chunks (a block
    never splits a stored chunk). A dask array is returned as is. The array
    is not hashed for its dask name (dask hashes a memmap's every byte, which
    would read the whole file): each call gets a name of its own; and a memmap
    is handed to dask behind :class:`OnDisk`, since dask copies an array that
    has a ``copy`` method (for a memmap: the whole file into memory).

    Parameters
    ----------
    data : array-like
        ``(..., z, y, x)`` array (numpy, memmap, zarr, h5py or dask).

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> import numpy as np
    >>> lazy = lazy_volume(np.arange(2 * 3 * 4).reshape(2, 3, 4))
    >>> type(lazy).__name__, lazy.chunksize, int(lazy[1].sum().compute())
    ('Array', (1, 3, 4), 210)
    """
    import dask.array as da

    if isinstance(data, da.Array):
        return data
    if isinstance(data, np.memmap):
        data = OnDisk(data)
    chunks = stored_chunks(data)
    if chunks is None:
        shape = tuple(int(s) for s in data.shape)
        chunks = (1,) * (len(shape) - 2) + shape[-2:]
    return da.from_array(data, chunks=chunks, asarray=False, lock=True, fancy=False, name=False)
