"""Volumes as lazy arrays: nothing is read until a block is computed."""

from __future__ import annotations

import numpy as np
import zarr

from napari_patchwise.engine.io import lazy_volume, read_volume, write_tiff


def test_a_tiff_becomes_one_plane_per_block_and_reads_the_same(tmp_path, small_volume):
    vol = read_volume(write_tiff(tmp_path / "v.tif", small_volume, (2.0, 0.5, 0.5)))
    lazy = lazy_volume(vol.data)
    assert not isinstance(lazy, np.ndarray)
    assert lazy.chunksize == (1, *small_volume.shape[1:])
    assert lazy.dtype == small_volume.dtype
    np.testing.assert_array_equal(np.asarray(lazy[7]), small_volume[7])
    assert lazy_volume(lazy) is lazy


def test_a_zarr_array_keeps_its_chunks_and_is_read_per_block(tmp_path, small_volume):
    arr = zarr.create_array(str(tmp_path / "v.zarr"), shape=small_volume.shape, chunks=(8, 32, 32),
                            dtype=small_volume.dtype)
    arr[:] = small_volume

    class Counting:  # the zarr array, counting the voxels read from it
        shape, dtype, ndim, chunks = arr.shape, arr.dtype, arr.ndim, arr.chunks
        voxels = 0

        def __getitem__(self, key):
            out = arr[key]
            self.voxels += out.size
            return out

    source = Counting()
    lazy = lazy_volume(source)
    assert lazy.chunksize == (8, 32, 32) and source.voxels == 0
    np.testing.assert_array_equal(np.asarray(lazy[3, :32, :32]), small_volume[3, :32, :32])
    assert source.voxels == 8 * 32 * 32  # one stored chunk, not the volume
