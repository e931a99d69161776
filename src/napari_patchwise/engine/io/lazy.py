"""A volume as a lazy (dask) array, so a viewer reads only the slices it shows."""

from __future__ import annotations

from .contrast import stored_chunks


def lazy_volume(data):
    """``data`` as a dask array read on demand, one z-plane (or one stored chunk) per block.

    A memory-mapped TIFF, a Zarr array or an HDF5 dataset stays on disk until
    a block is computed; chunked arrays keep their own chunks (a block never
    splits a stored chunk). A dask array is returned as is.

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
    chunks = stored_chunks(data)
    if chunks is None:
        shape = tuple(int(s) for s in data.shape)
        chunks = (1,) * (len(shape) - 2) + shape[-2:]
    return da.from_array(data, chunks=chunks, asarray=False, lock=True, fancy=False)
